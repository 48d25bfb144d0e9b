"""Maps every job event to the `feed` view, rendered as its audit-history item.

Deterministic: each row is the event itself (its timestamp, never a clock), so a replay
from position 0 rebuilds the same feed.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from eventsourcing.utils import get_topic

from events.job import Job
from projections.feed.item import history_item
from projections.feed.view import FeedEvent, FeedView

FEED_EVENTS: tuple[type[Job.Event], ...] = (
    Job.Submitted,
    Job.DispatchIntended,
    Job.Dispatched,
    Job.Progressed,
    Job.Completed,
    Job.Failed,
    Job.Canceled,
    Job.OutputStored,
    Job.Deleted,
)
FEED_TYPES = tuple(cls.__name__ for cls in FEED_EVENTS)


class FeedProjection(Projection[FeedView]):
    name = "feed"
    topics = tuple(get_topic(cls) for cls in FEED_EVENTS)

    def process_event(self, event: Any, tracking: Tracking) -> None:
        if not isinstance(event, FEED_EVENTS):
            self.view.insert_tracking(tracking)  # not ours: just move the position on
            return
        tenant = event.tenant if isinstance(event, Job.Submitted) else None
        self.view.record(feed_event(event, tracking.notification_id), tracking, tenant=tenant)


def feed_event(event: Job.Event, position: int) -> FeedEvent:
    return FeedEvent(
        position=position,
        job_id=event.originator_id,
        type=type(event).__name__,
        version=event.originator_version,
        occurred_at=event.timestamp.timestamp(),
        item=history_item(event),
    )
