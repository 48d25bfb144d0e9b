"""Maps job events to the `inflight` view: which jobs the poller still has to watch.

Deterministic: times come from event timestamps, never a clock, so a replay rebuilds the
same table (`polls` and the poller's reschedules start again from the first poll).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import timedelta
from typing import Any

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from eventsourcing.utils import get_topic

from events.job import Job
from projections.inflight.view import InflightView

EVENTS = (
    Job.Submitted,
    Job.DispatchIntended,
    Job.Dispatched,
    Job.Progressed,
    Job.Completed,
    Job.Failed,
    Job.Canceled,
    Job.Deleted,
)
# Without claims (SQLite: one worker), the local renderer resumes its own jobs; with them,
# the service tracks every provider (`untracked=()`) so local renders are claimed too.
UNTRACKED = frozenset({"local"})


def ten_seconds(provider: str, model: str) -> float:
    return 10.0


def an_hour(provider: str, model: str) -> float:
    return 3600.0


class InflightProjection(Projection[InflightView]):
    name = "inflight"
    topics = tuple(get_topic(cls) for cls in EVENTS)

    def __init__(
        self,
        view: InflightView,
        *,
        untracked: Collection[str] = UNTRACKED,
        first_poll: Callable[[str, str], float] = ten_seconds,
        deadline: Callable[[str, str], float] = an_hour,
    ) -> None:
        """`first_poll(provider, model)` and `deadline(provider, model)` are seconds after
        the dispatch; the policy behind them is the service's."""
        super().__init__(view)
        self.untracked = frozenset(untracked)
        self.first_poll, self.deadline = first_poll, deadline

    @singledispatchmethod
    def process_event(self, event: Any, tracking: Tracking) -> None:
        self.view.insert_tracking(tracking)  # not ours: just move the position on

    @process_event.register
    def _(self, e: Job.Submitted, tracking: Tracking) -> None:
        if e.provider in self.untracked:
            self.view.insert_tracking(tracking)
            return
        self.view.add_submitted(
            e.originator_id, e.tenant, e.model, e.provider, e.timestamp, tracking
        )

    @process_event.register
    def _(self, e: Job.DispatchIntended, tracking: Tracking) -> None:
        self.view.mark_intended(e.originator_id, tracking)

    @process_event.register
    def _(self, e: Job.Dispatched, tracking: Tracking) -> None:
        row = self.view.get(e.originator_id)
        if row is None:
            self.view.insert_tracking(tracking)  # untracked since its submission
        elif e.provider in self.untracked:
            self.view.remove(e.originator_id, tracking)  # handed to the local renderer
        else:
            self.view.mark_dispatched(
                e.originator_id,
                e.provider,
                e.upstream_id,
                e.timestamp,
                e.timestamp + timedelta(seconds=self.first_poll(e.provider, row.model)),
                e.timestamp + timedelta(seconds=self.deadline(e.provider, row.model)),
                tracking,
            )

    @process_event.register
    def _(self, e: Job.Progressed, tracking: Tracking) -> None:
        # Only the upstream's own webhooks count as signs of life: they postpone the
        # fallback poll, while what the poller itself found must not.
        if e.source == "webhook":
            self.view.mark_signal(e.originator_id, e.timestamp, tracking)
        else:
            self.view.insert_tracking(tracking)

    @process_event.register(Job.Completed)
    @process_event.register(Job.Failed)
    @process_event.register(Job.Canceled)
    @process_event.register(Job.Deleted)
    def _(self, e: Job.Event, tracking: Tracking) -> None:
        self.view.remove(e.originator_id, tracking, finished_at=e.timestamp)
