"""One dispatcher at a time on SQLite: a file lock the holder keeps while alive.

SQLite runs one worker (its store is one file on one host). Everything else in the worker
could run twice, but two dispatchers would both submit the same job upstream, so the
dispatcher (and the local renderer's resume) runs only in the process that holds an
exclusive `flock` on a file in the data dir: a second worker started by mistake waits,
and takes over when the first dies (the operating system releases the lock, even after a
SIGKILL). PostgreSQL needs no leader: its workers claim jobs (`service.workers.claiming`).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any

from service.settings import Settings


class LeaderLock:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._handle: Any = None

    @property
    def held(self) -> bool:
        return self._handle is not None

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it (non-blocking); True while we hold it."""
        if self._handle is None:
            self._handle = self._file()
        return self._handle is not None

    def still_held(self) -> bool:
        """Whether the lock is ours: a flock lasts as long as our open file."""
        return self._handle is not None

    def release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.close()

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
