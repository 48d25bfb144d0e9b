"""Feeds a projection from the application sequence, exactly once, resumable.

SQLite recorders have no `subscribe()`, and LISTEN connections die silently; one
polling loop (woken early by in-process saves) serves both stores the same way. Each
view write carries its tracking position, so a restart resumes where it stopped and an
event processed twice is rejected by the view's tracking table.

Two ways to hand events over:

- one by one (`process_event(event, tracking)`): each event is its own transaction;
- a page at a time, for projections with `process_batch(events, tracking, after)`: the
  whole page (up to `batch` events) and its last position are written in one
  transaction, on the condition that the view's position is still `after` (the position
  the page was read from), so an overlapping page another runner wrote is refused as a
  whole. Such a projection may also say how to `decode(mapper, notification)`, e.g. to
  skip building event objects it doesn't need.

With `read_ahead`, a thread reads the next page while the current one is handled (for a
replay's catch-up on PostgreSQL, whose reads mostly wait on the server).

A view that can be rebuilt under a running process (`service.admin.replay`) exposes
`refresh_generation()`; the follower calls it between pages, never within one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, Notification, Tracking, TrackingRecorder
from eventsourcing.projection import Projection

log = logging.getLogger(__name__)

Handler = Callable[[Any, Tracking], None]


class Follower:
    """Pulls new notifications for `topics` after the view's position and handles them."""

    def __init__(
        self,
        app: Application[Any],
        projection: Projection[Any],
        *,
        interval: float = 0.05,
        batch: int = 500,
        read_ahead: bool = False,
    ) -> None:
        self.app, self.projection = app, projection
        self.view: TrackingRecorder = projection.view
        self.interval, self.batch = interval, batch
        self._wake = threading.Event()
        # Set: `run_once` returns after the page in hand (the process is stopping).
        self.halting = threading.Event()
        self._reader = ThreadPoolExecutor(1, "read-ahead") if read_ahead else None
        self._ahead: tuple[int, Future[Sequence[Notification]]] | None = None
        self._process_batch = getattr(projection, "process_batch", None)
        decode = getattr(projection, "decode", None)
        self._decode: Callable[[Notification], Any] = (
            (lambda n: decode(app.mapper, n)) if decode else app.mapper.to_domain_event
        )

    @property
    def position(self) -> int:
        return self.view.max_tracking_id(self.app.name) or 0

    def wake(self) -> None:
        """Look for new events now rather than at the next interval."""
        self._wake.set()

    def run_once(self) -> int:
        """Handle every event recorded so far; return how many were handled."""
        handled = 0
        while True:
            count, full = self.step()
            handled += count
            if not full or self.halting.is_set():
                return handled

    def step(self) -> tuple[int, bool]:
        """Handle one page; return how many events it handled and whether the page was
        full (more may be waiting)."""
        refresh = getattr(self.view, "refresh_generation", None)
        if refresh is not None:
            refresh()
        position = self.position
        notifications = self._page(position)
        full = len(notifications) == self.batch
        if self._reader is not None and full:  # read the next page while handling this one
            self._ahead = (
                notifications[-1].id,
                self._reader.submit(self._select, notifications[-1].id),
            )
        if self._process_batch is not None:
            handled = self._handle_page(notifications, position)
        else:
            handled = self._handle_each(notifications)
        return handled, full

    def _page(self, position: int) -> Sequence[Notification]:
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] == position:
            return ahead[1].result()
        return self._select(position)  # nothing read ahead, or from where we no longer are

    def _select(self, position: int) -> Sequence[Notification]:
        return self.app.recorder.select_notifications(
            start=position,
            limit=self.batch,
            topics=self.projection.topics,
            inclusive_of_start=False,
        )

    def close(self) -> None:
        """Stop the read-ahead thread, if there is one."""
        if self._reader is not None:
            self._reader.shutdown(wait=True, cancel_futures=True)

    def _handle_page(self, notifications: Sequence[Notification], position: int) -> int:
        if not notifications:
            return 0
        assert self._process_batch is not None
        events = [self._decode(notification) for notification in notifications]
        tracking = Tracking(self.app.name, notifications[-1].id)
        try:
            self._process_batch(events, tracking, after=position)
        except IntegrityError:
            log.info("%s: events after %s were already processed", self.projection.name, position)
            return 0  # another runner got there first: re-read the position
        return len(events)

    def _handle_each(self, notifications: Sequence[Notification]) -> int:
        handled = 0
        for notification in notifications:
            event = self.app.mapper.to_domain_event(notification)
            tracking = Tracking(self.app.name, notification.id)
            try:
                self.projection.process_event(event, tracking)
            except IntegrityError:
                log.info("%s: event %s was already processed", self.projection.name, tracking)
                break  # another runner got there first: re-read the position
            handled += 1
        return handled

    def run(self, stopping: threading.Event, on_error: Callable[[BaseException], None]) -> None:
        """Follow on this thread until `stopping` is set; report errors and keep going (store
        blips). For tools and tests: the worker role drives its followers through
        `service.workers.projecting`, like every other background loop."""
        while not stopping.is_set():
            try:
                self.run_once()
            except Exception as error:
                on_error(error)
                stopping.wait(1.0)
            self._wake.wait(self.interval)
            self._wake.clear()

    def caught_up(self) -> bool:
        """Whether every event recorded so far has been handled."""
        latest = self.app.recorder.max_notification_id() or 0
        return self.position >= latest or not self._pending(latest)

    def _pending(self, latest: int) -> bool:
        notifications = self.app.recorder.select_notifications(
            start=self.position,
            limit=1,
            stop=latest,
            topics=self.projection.topics,
            inclusive_of_start=False,
        )
        return bool(notifications)
