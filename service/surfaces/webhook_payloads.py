"""A job's own webhook (its `webhook_url`) speaks the surface the job was created on.

The deliveries view queues vidgate's canonical payload (`projections.deliveries`, which
knows no surfaces); when the sender posts a job's own webhook, a surface that documents
webhooks renders it in its words (its ids, field names and event names, fresh signed output
links). Registered endpoints (`/v1/webhook_endpoints`) always get the canonical payload.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any
from uuid import UUID

from events.job import Job
from projections.deliveries.view import DeliveryRow
from service.runtime import Runtime
from service.surfaces import v2_webhooks

Render = Callable[[dict[str, Any], Job, Runtime], dict[str, Any]]
RENDERERS: dict[str, Render] = {"v2": v2_webhooks.payload}


class SurfacePayloads:
    """The body to post for a delivery (called by the sender, in a worker thread)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        # A job's surface never changes: one load per job, not per delivery.
        self._surface = functools.lru_cache(maxsize=4096)(self._load_surface)

    def __call__(self, delivery: DeliveryRow) -> bytes:
        canonical = delivery.payload.encode()
        if delivery.endpoint_id is not None:
            return canonical
        job_id = UUID(hex=delivery.job_id)
        render = RENDERERS.get(self._surface(job_id) or "")
        job = self.rt.gateway.find_job(job_id) if render else None
        if render is None or job is None:
            return canonical
        body = render(json.loads(delivery.payload), job, self.rt)
        return json.dumps(body, separators=(",", ":")).encode()

    def _load_surface(self, job_id: UUID) -> str | None:
        job = self.rt.gateway.find_job(job_id)
        return None if job is None else job.surface
