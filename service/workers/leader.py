"""One dispatcher at a time across worker processes: a lock the holder keeps while alive.

Everything else in the worker is safe to run many times over (projections are exactly-once
through their tracking, the sender and the poller lease their rows), but two dispatchers
would both submit the same job upstream. So the dispatcher (and the local renderer's
resume) runs only in the process that holds this lock: a PostgreSQL session advisory lock,
or an exclusive `flock` on a file in the data dir for SQLite. Both are released by the
operating system or the server when the holder dies, even by SIGKILL, so another worker
takes over. A PostgreSQL lock also ends with its connection (a network failure, a restarted
server, `pg_terminate_backend`) while the holder lives on: `still_held` notices that, and the
worker stops dispatching until it takes the lock again.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any

import psycopg

from service.settings import Settings

# A fixed 64-bit key for pg_try_advisory_lock: "vidgate dispatcher" (any constant works).
ADVISORY_KEY = 0x76696467_64697370


class LeaderLock:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._handle: Any = None

    @property
    def held(self) -> bool:
        return self._handle is not None

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it (non-blocking); True while we hold it."""
        if self._handle is not None:
            return True
        if self.settings.database_url:
            self._handle = self._postgres()
        else:
            self._handle = self._file()
        return self._handle is not None

    def still_held(self) -> bool:
        """Whether the lock is still ours: for PostgreSQL, whether its session is alive (the
        server drops a session lock with its connection). False also when never taken."""
        handle = self._handle  # one reference: dispatches ask from several threads
        if handle is None:
            return False
        if not isinstance(handle, psycopg.Connection):
            return True  # a flock lasts as long as our open file
        try:
            handle.execute("SELECT 1")
        except psycopg.Error:
            self.release()
            return False
        return True

    def release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.close()

    def _postgres(self) -> psycopg.Connection[Any] | None:
        conn = psycopg.connect(str(self.settings.database_url), autocommit=True, connect_timeout=5)
        scope = f"{self.settings.database_schema}:dispatcher"
        row = conn.execute(
            "SELECT pg_try_advisory_lock(%s, hashtext(%s))", (ADVISORY_KEY >> 32, scope)
        ).fetchone()
        if row and row[0]:
            return conn
        conn.close()
        return None

    def _file(self) -> Any:
        path = Path(self.settings.data_dir) / "dispatcher.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+")  # noqa: SIM115 — held open as long as we lead
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        return handle
