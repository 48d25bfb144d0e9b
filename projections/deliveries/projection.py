"""Maps job and endpoint events to the deliveries view: who gets told what."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid5

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from eventsourcing.utils import get_topic

from events.endpoint import WebhookEndpoint as Endpoint
from events.ids import NAMESPACE, video_id
from events.job import Job
from projections.deliveries.store import SQLDeliveriesView
from projections.deliveries.view import PENDING, EndpointRow, Target

EVENTS = (
    Job.Submitted,
    Job.Progressed,
    Job.Completed,
    Job.Failed,
    Job.Canceled,
    Endpoint.Registered,
    Endpoint.Updated,
    Endpoint.SecretRotated,
    Endpoint.Disabled,
    Endpoint.Enabled,
    Endpoint.Deleted,
)
STATUS = {
    "progress": "in_progress",
    "completed": "completed",
    "failed": "failed",
    "canceled": "canceled",
}


def message_id(job_event: Job.Event) -> str:
    """The `webhook-id`: one per job event, the same on every attempt and every endpoint."""
    return (
        "msg_"
        + uuid5(NAMESPACE, f"/jobs/{job_event.originator_id}/{job_event.originator_version}").hex
    )


def delivery_id(msg_id: str, target: Target) -> str:
    return "dlv_" + uuid5(NAMESPACE, f"/deliveries/{msg_id}/{target.endpoint_id or 'job'}").hex


class DeliveriesProjection(Projection[SQLDeliveriesView]):
    name = "deliveries"
    topics = tuple(get_topic(cls) for cls in EVENTS)
    public_url = "http://127.0.0.1:8000"  # where output links in payloads point; set per process

    @singledispatchmethod
    def process_event(self, event: Any, tracking: Tracking) -> None:
        self.view.insert_tracking(tracking)

    @process_event.register
    def _(self, e: Job.Submitted, tracking: Tracking) -> None:
        self.view.add_job(e.originator_id.hex, e.tenant, e.webhook, tracking)

    @process_event.register
    def _(self, e: Job.Progressed, tracking: Tracking) -> None:
        self._fan_out(e, "progress", tracking, progress=e.percent)

    @process_event.register
    def _(self, e: Job.Completed, tracking: Tracking) -> None:
        url = e.output.get("url")
        output_url = f"{self.public_url.rstrip('/')}{url}" if isinstance(url, str) else None
        self._fan_out(e, "completed", tracking, progress=100, output_url=output_url)

    @process_event.register
    def _(self, e: Job.Failed, tracking: Tracking) -> None:
        self._fan_out(e, "failed", tracking, error={"code": e.code, "message": e.message})

    @process_event.register
    def _(self, e: Job.Canceled, tracking: Tracking) -> None:
        self._fan_out(e, "canceled", tracking)

    @process_event.register
    def _(self, e: Endpoint.Registered, tracking: Tracking) -> None:
        row = EndpointRow(
            endpoint_id=e.originator_id.hex,
            tenant=e.tenant,
            url=e.url,
            events=list(e.events),
            enabled=e.enabled,
            generation=1,
            previous_generation=0,
            previous_expires_at=0.0,
            failing_since=None,
        )
        self.view.put_endpoint(row, tracking)

    @process_event.register
    def _(self, e: Endpoint.Updated, tracking: Tracking) -> None:
        changes = {k: v for k, v in e.changes.items() if k in ("url", "events")}
        self._change(e, tracking, **changes)

    @process_event.register
    def _(self, e: Endpoint.SecretRotated, tracking: Tracking) -> None:
        row = self.view.get_endpoint(e.originator_id.hex)
        previous = row.generation if row else e.generation - 1
        self._change(
            e,
            tracking,
            generation=e.generation,
            previous_generation=previous,
            previous_expires_at=e.previous_expires_at,
        )

    @process_event.register
    def _(self, e: Endpoint.Disabled, tracking: Tracking) -> None:
        self._change(e, tracking, enabled=0)

    @process_event.register
    def _(self, e: Endpoint.Enabled, tracking: Tracking) -> None:
        self._change(e, tracking, enabled=1, failing_since=None)

    @process_event.register
    def _(self, e: Endpoint.Deleted, tracking: Tracking) -> None:
        self._change(e, tracking, enabled=0, deleted=1)

    def _change(self, e: Endpoint.Event, tracking: Tracking, **changes: Any) -> None:
        if changes:
            self.view.change_endpoint(e.originator_id.hex, changes, tracking)
        else:
            self.view.insert_tracking(tracking)

    def _fan_out(
        self,
        e: Job.Event,
        kind: str,
        tracking: Tracking,
        *,
        progress: int | None = None,
        output_url: str | None = None,
        error: dict[str, str] | None = None,
    ) -> None:
        msg_id, at = message_id(e), e.timestamp.timestamp()

        def build(target: Target, tenant: str, known_progress: int) -> dict[str, Any]:
            body = {
                "type": f"video.{kind}",
                "video_id": video_id(e.originator_id),
                "status": STATUS[kind],
                "progress": known_progress,
                "output_url": output_url,
                "error": error,
                "sequence": e.originator_version,
                "occurred_at": e.timestamp.isoformat(),
            }
            return {
                "delivery_id": delivery_id(msg_id, target),
                "msg_id": msg_id,
                "tenant": tenant,
                "job_id": e.originator_id.hex,
                "endpoint_id": target.endpoint_id,
                "url": target.url,
                "event_type": kind,
                "sequence": e.originator_version,
                "payload": json.dumps(body, separators=(",", ":")),
                "status": PENDING,
                "attempts": 0,
                "manual": 0,
                "created_at": at,
                "next_attempt_at": at,
                "updated_at": at,
            }

        self.view.fan_out(e.originator_id.hex, kind, progress, build, tracking)
