"""The OpenAI video object (plus vidgate's `provider` and `output`), from a job or a row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from events.ids import video_id
from events.job import Job
from projections.jobs.view import JobRow


def from_job(job: Job, base_url: str) -> dict[str, Any]:
    error = job.error
    return _video(
        vid=video_id(job.id),
        model=job.model,
        status=job.status,
        progress=job.progress,
        created_at=_epoch(job.created_on),
        completed_at=_epoch(job.finished_at),
        seconds=str(job.params.get("seconds", "")),
        size=str(job.params.get("size", "")),
        prompt=job.prompt,
        error=error,
        provider=job.provider,
        output=job.output,
        base_url=base_url,
    )


def from_row(row: JobRow, base_url: str) -> dict[str, Any]:
    error = {"code": row.error_code, "message": row.error_message or ""} if row.error_code else None
    return _video(
        vid=video_id(row.job_id),
        model=row.model,
        status=row.status,
        progress=row.progress,
        created_at=int(row.created_at),
        completed_at=int(row.finished_at) if row.finished_at is not None else None,
        seconds=row.seconds,
        size=row.size,
        prompt=row.prompt,
        error=error,
        provider=row.provider,
        output=row.output,
        base_url=base_url,
    )


def _video(
    *, vid: str, output: dict[str, Any] | None, base_url: str, **fields: Any
) -> dict[str, Any]:
    shown = None
    if output:
        shown = (
            {**output, "url": base_url.rstrip("/") + output["url"]} if "url" in output else output
        )
    return {
        "id": vid,
        "object": "video",
        "model": fields["model"],
        "status": fields["status"],
        "progress": fields["progress"],
        "created_at": fields["created_at"],
        "completed_at": fields["completed_at"],
        "expires_at": None,
        "seconds": fields["seconds"],
        "size": fields["size"],
        "prompt": fields["prompt"],
        "remixed_from_video_id": None,
        "error": fields["error"],
        "provider": fields["provider"],
        "output": shown,
    }


def _epoch(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None
