"""Turns an upstream's view of a job (from a webhook or a poll) into job events.

The aggregate drops late, duplicate and backwards signals, so applying the same status
twice, or a progress after the completion, appends nothing; `apply` says whether
anything was appended (the receivers count duplicates with it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from events.app import Gateway
from events.ids import video_id
from events.job import Job
from service.metrics import Metrics
from service.providers.base import UpstreamStatus

WEBHOOK, POLL = "webhook", "poll"


def apply_status(job: Job, status: UpstreamStatus, source: str) -> None:
    """The command a status is for the job (nothing for `queued`)."""
    raw = status.raw_status
    if job.is_terminal or status.state == "queued":
        return
    if status.state == "in_progress":
        job.progress_to(max(status.progress or 0, 1), source, raw)
    elif status.state == "completed" and status.stored_output is not None:
        complete_stored(job, dict(status.stored_output), source, raw)
    elif status.state == "completed":
        output = completed_output(job.id)
        if status.outputs > 1:  # the mirror copies each; the first is the job's video
            output["video_count"] = status.outputs
        job.complete(output, source, upstream_url=status.output_url, upstream_status=raw)
    elif status.state == "failed":
        code = status.error_code or "upstream_failed"
        message = status.error_message or f"the provider reported {raw!r}"
        job.fail(code, message, source, upstream_status=raw)
    elif status.state == "canceled":
        job.cancel(f"{job.provider}:{source}")


def complete_stored(job: Job, output: dict[str, Any], source: str, raw: str | None) -> None:
    """Completed with an output that is in our storage already, and `OutputStored` with it."""
    job.complete(output, source, upstream_status=raw)
    if job.status == "completed" and not job.output_stored:
        job.store_output(output["url"], output["bytes"], output["sha256"], source)


def completed_output(job_id: UUID) -> dict[str, Any]:
    """What a `Completed` from upstream shows until the mirror stores the file.

    The upstream's own URL stays in the event (`upstream_url`), never in the output:
    clients always fetch through our stable content URL.
    """
    return {"url": f"/v1/videos/{video_id(job_id)}/content", "content_type": "video/mp4"}


class Signals:
    def __init__(
        self,
        gateway: Gateway,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.gateway, self.metrics, self.clock = gateway, metrics, clock

    def apply(self, job_id: UUID, status: UpstreamStatus, source: str) -> tuple[Job, bool]:
        """Append what `status` means for the job; the job and whether anything was new."""
        appended = False

        def command(job: Job) -> None:
            nonlocal appended
            apply_status(job, status, source)
            appended = bool(job.pending_events)

        job = self.gateway.update_job(job_id, command)
        if appended and job.status == "completed" and self.metrics is not None:
            finished = upstream_finished_at(status)
            if finished is not None:
                lag = max(self.clock() - finished, 0.0)
                self.metrics.completion_lag.labels(job.provider, source).observe(lag)
        return job, appended


def upstream_finished_at(status: UpstreamStatus) -> float | None:
    """When the upstream says the job finished (Replicate and OpenAI say), as unix time."""
    value = status.extra.get("completed_at")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None
