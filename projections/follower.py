"""Feeds a projection from the application sequence, exactly once, resumable.

SQLite recorders have no `subscribe()`, and LISTEN connections die silently; one
polling loop (woken early by in-process saves) serves both stores the same way. Each
event's view write carries its tracking position, so a restart resumes where it stopped
and an event processed twice is rejected by the view's tracking table.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, Tracking, TrackingRecorder
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
    ) -> None:
        self.app, self.projection = app, projection
        self.view: TrackingRecorder = projection.view
        self.interval, self.batch = interval, batch
        self._wake = threading.Event()
        self.after_handling: list[Callable[[], None]] = []  # e.g. wake whoever reads the view

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
            notifications = self.app.recorder.select_notifications(
                start=self.position,
                limit=self.batch,
                topics=self.projection.topics,
                inclusive_of_start=False,
            )
            for notification in notifications:
                event = self.app.mapper.to_domain_event(notification)
                tracking = Tracking(self.app.name, notification.id)
                try:
                    self.projection.process_event(event, tracking)
                except IntegrityError:
                    log.info("%s: event %s was already processed", self.projection.name, tracking)
                    break  # another runner got there first: re-read the position
                handled += 1
            if len(notifications) < self.batch:
                return handled

    def run(self, stopping: threading.Event, on_error: Callable[[BaseException], None]) -> None:
        """Follow until `stopping` is set; report errors and keep going (store blips)."""
        while not stopping.is_set():
            try:
                if self.run_once():
                    for callback in self.after_handling:
                        callback()
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
