"""Maps job events to writes of the `jobs` view, each with its tracking position."""

from __future__ import annotations

from typing import Any

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from eventsourcing.utils import get_topic

from events.job import CANCELED, COMPLETED, FAILED, IN_PROGRESS, Job
from projections.jobs.view import JobRow, JobsView

JOB_EVENTS = (
    Job.Submitted,
    Job.Dispatched,
    Job.Progressed,
    Job.Completed,
    Job.Failed,
    Job.Canceled,
    Job.OutputStored,
    Job.Deleted,
)


class JobsProjection(Projection[JobsView]):
    name = "jobs"
    topics = tuple(get_topic(cls) for cls in JOB_EVENTS)

    @singledispatchmethod
    def process_event(self, event: Any, tracking: Tracking) -> None:
        self.view.insert_tracking(tracking)  # not ours: just move the position on

    @process_event.register
    def _(self, e: Job.Submitted, tracking: Tracking) -> None:
        at = e.timestamp.timestamp()
        row = JobRow(
            job_id=e.originator_id,
            tenant=e.tenant,
            seq=tracking.notification_id,  # type: ignore[attr-defined]
            model=e.model,
            provider=e.provider,
            status="queued",
            progress=0,
            prompt=e.prompt,  # type: ignore[attr-defined]
            seconds=str(e.params.get("seconds", "")),
            size=str(e.params.get("size", "")),  # type: ignore[attr-defined]
            created_at=at,
            updated_at=at,
        )
        self.view.insert_job(row, tracking)

    @process_event.register
    def _(self, e: Job.Dispatched, tracking: Tracking) -> None:
        self._update(e, tracking, upstream_id=e.upstream_id)

    @process_event.register
    def _(self, e: Job.Progressed, tracking: Tracking) -> None:
        self._update(e, tracking, status=IN_PROGRESS, progress=e.percent)

    @process_event.register
    def _(self, e: Job.Completed, tracking: Tracking) -> None:
        done = e.timestamp.timestamp()
        self._update(e, tracking, status=COMPLETED, progress=100, output=e.output, finished_at=done)

    @process_event.register
    def _(self, e: Job.Failed, tracking: Tracking) -> None:
        done = e.timestamp.timestamp()
        self._update(
            e, tracking, status=FAILED, error_code=e.code, error_message=e.message, finished_at=done
        )

    @process_event.register
    def _(self, e: Job.Canceled, tracking: Tracking) -> None:
        self._update(e, tracking, status=CANCELED, finished_at=e.timestamp.timestamp())

    @process_event.register
    def _(self, e: Job.OutputStored, tracking: Tracking) -> None:
        output = {"url": e.url, "bytes": e.bytes, "sha256": e.sha256}
        self._update(e, tracking, output=output)

    @process_event.register
    def _(self, e: Job.Deleted, tracking: Tracking) -> None:
        self._update(e, tracking, deleted=1)

    def _update(self, e: Job.Event, tracking: Tracking, **changes: Any) -> None:
        changes["updated_at"] = e.timestamp.timestamp()
        self.view.update_job(e.originator_id, changes, tracking)
