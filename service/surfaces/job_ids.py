"""A job's id as any surface spells it, so the canonical routes (`GET /v1/videos/{id}`,
`POST /v1/videos/{id}/cancel` …) find jobs created on every surface by the id their client
holds: `video_<hex>` (OpenAI, the task API's `task_id`), NovaKit's `job_<hex>`, the v2
`jobId` (a UUID), and Concurred's `operation_id` (`operations/video_<hex>`: in a path, its
last part — routing decodes `%2F`, so the whole id never reaches one segment)."""

from __future__ import annotations

from uuid import UUID

from events.ids import VIDEO_PREFIX, parse_video_id
from service.surfaces.concurred import OPERATION_PREFIX
from service.surfaces.novakit import JOB_PREFIX


def job_id_of(raw: str) -> UUID | None:
    """The job `raw` names on any surface, or None when it names none."""
    raw = raw.removeprefix(OPERATION_PREFIX)
    if raw.startswith(JOB_PREFIX):
        return parse_video_id(VIDEO_PREFIX + raw.removeprefix(JOB_PREFIX))
    if raw.startswith(VIDEO_PREFIX):
        return parse_video_id(raw)
    try:
        return UUID(raw) if len(raw) == 36 else None  # v2 answers the hyphenated form
    except ValueError:
        return None
