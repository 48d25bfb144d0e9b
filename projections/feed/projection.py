"""Maps every job event and every ledger entry to the `feed` view.

Job events are rendered as their audit-history item; the money movements of a tenant's
account (granted, reserved, settled, released) as ledger entries. An account's `Opened`
adds no row: it tells the view whose account it is, so a grant finds its tenant. A
reservation, settlement or release names its job, and takes the job's tenant.

Deterministic: each row is the event itself (its timestamp, never a clock), so a replay
from position 0 rebuilds the same feed.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from eventsourcing.utils import get_topic

from events.account import Account
from events.job import Job
from projections.feed.item import LedgerEvent, history_item, ledger_item
from projections.feed.view import FeedEvent, FeedView

JOB_EVENTS: tuple[type[Job.Event], ...] = (
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
LEDGER_EVENTS = (
    Account.CreditsGranted,
    Account.CreditsReserved,
    Account.CreditsSettled,
    Account.CreditsReleased,
)
FEED_EVENTS: tuple[type[Aggregate.Event], ...] = (*JOB_EVENTS, *LEDGER_EVENTS)
FEED_TYPES = tuple(cls.__name__ for cls in FEED_EVENTS)
JOB_TYPES = tuple(cls.__name__ for cls in JOB_EVENTS)
LEDGER_TYPES = tuple(cls.__name__ for cls in LEDGER_EVENTS)


class FeedProjection(Projection[FeedView]):
    name = "feed"
    topics = (*(get_topic(cls) for cls in FEED_EVENTS), get_topic(Account.Opened))

    def process_event(self, event: Any, tracking: Tracking) -> None:
        if isinstance(event, Account.Opened):
            self.view.remember(event.originator_id, event.tenant, tracking)
        elif isinstance(event, JOB_EVENTS):
            tenant = event.tenant if isinstance(event, Job.Submitted) else None
            self.view.record(feed_event(event, tracking.notification_id), tracking, tenant=tenant)
        elif isinstance(event, LEDGER_EVENTS):
            self.view.record(ledger_event(event, tracking.notification_id), tracking)
        else:
            self.view.insert_tracking(tracking)  # not ours: just move the position on


def feed_event(event: Job.Event, position: int) -> FeedEvent:
    return _row(event, event.originator_id, position, history_item(event))


def ledger_event(event: LedgerEvent, position: int) -> FeedEvent:
    """A ledger entry, stored under its job (whose tenant the view knows) or, for a grant,
    under the account."""
    owner: UUID = getattr(event, "job_id", event.originator_id)
    return _row(event, owner, position, ledger_item(event))


def _row(event: Aggregate.Event, owner: UUID, position: int, item: dict[str, Any]) -> FeedEvent:
    return FeedEvent(
        position=position,
        job_id=owner,
        type=type(event).__name__,
        version=event.originator_version,
        occurred_at=event.timestamp.timestamp(),
        item=item,
    )
