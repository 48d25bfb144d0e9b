"""News of events other processes appended, so that an idle worker sleeps instead of polling.

A save in this process wakes its followers directly (`Gateway.on_saved`). Events appended
by another process (a web process, a CLI command) used to be found by every follower
polling the store every 50 ms — eleven queries each time, ~9 % of a core for a worker with
nothing to do. Now one watcher per process notices them and wakes the followers:
- PostgreSQL: eventsourcing's recorder already sends `NOTIFY <channel>` in every insert's
  transaction; a thread holds one connection `LISTEN`ing on it (no polling at all);
- SQLite: a thread asks `PRAGMA data_version`, which changes when another connection
  commits, every `interval` seconds — one trivial statement instead of a query per follower.
Either way the followers still look on their own now and then (a safety net, see
`Settings.idle_interval`), so a lost notification delays work but never loses it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)
RECONNECT_AFTER = 1.0  # seconds between a lost LISTEN connection and the next try
STOP_CHECK = 1.0  # seconds a LISTEN waits before looking whether it should stop


class StoreChanges:
    """A thread that calls `wake()` whenever another process may have appended events."""

    def __init__(self, watch: Callable[[threading.Event, Callable[[], None]], None]) -> None:
        self._watch = watch
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def sqlite(cls, path: Path, interval: float) -> StoreChanges:
        return cls(lambda stop, wake: _watch_sqlite(path, interval, stop, wake))

    @classmethod
    def postgres(cls, url: str, channel: str) -> StoreChanges:
        return cls(lambda stop, wake: _listen_postgres(url, channel, stop, wake))

    def start(self, wake: Callable[[], None]) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._watch, args=(self._stopping, wake), name="store changes", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=STOP_CHECK + 1)
            self._thread = None


def _watch_sqlite(
    path: Path, interval: float, stop: threading.Event, wake: Callable[[], None]
) -> None:
    with sqlite3.connect(path, check_same_thread=False) as db:
        seen = None
        while not stop.wait(interval):
            (version,) = db.execute("PRAGMA data_version").fetchone()
            if seen is not None and version != seen:
                wake()
            seen = version
    db.close()


def _listen_postgres(
    url: str, channel: str, stop: threading.Event, wake: Callable[[], None]
) -> None:
    while not stop.is_set():
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
                conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                wake()  # anything appended while we were not listening
                while not stop.is_set():
                    for _ in conn.notifies(timeout=STOP_CHECK):
                        wake()
        except psycopg.Error as error:
            log.warning("listening for new events failed (%s); retrying", error)
            stop.wait(RECONNECT_AFTER)
