"""What a v2 job's `webhookUrl` receives: the job as `GET /v2/jobs/{jobId}` tells it.

The seed names the events (`progress`, `completed`, `failed`; vidgate adds `canceled`, sent
only when `webhookEvents` asks for it) but not the body, so it follows the jobs body: `event`,
`jobId`, upper-case `status`, `model`, `progress`, `result` (on `completed`, with signed
`videoUrl` and `thumbnailUrl` links made when the webhook is sent), `error`, and `occurredAt`.
Signed as Standard Webhooks like every delivery (`service.webhooks.sender`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from events.job import Job
from service.runtime import Runtime
from service.surfaces.facade import iso
from service.surfaces.v2 import result

# The canonical payload's `status` (`projections.deliveries`) as v2 says it.
STATUSES = {
    "in_progress": "PROCESSING",
    "completed": "COMPLETED",
    "failed": "FAILED",
    "canceled": "CANCELED",
}


def payload(canonical: dict[str, Any], job: Job, rt: Runtime) -> dict[str, Any]:
    """The v2 body for one canonical delivery payload of `job`."""
    event = str(canonical["type"]).removeprefix("video.")
    done = event == "completed"
    return {
        "event": event,
        "jobId": str(job.id),
        "status": STATUSES[canonical["status"]],
        "model": job.model,
        "progress": canonical["progress"],
        "result": result(job, rt.settings.base_url.rstrip("/"), rt) if done else None,
        "error": canonical["error"],
        "occurredAt": iso(datetime.fromisoformat(canonical["occurred_at"])),
    }
