"""Blue/green rebuilds of a view: its generations, and a handle that follows the live one.

A rebuildable view (`jobs`, `analytics`) is stored under its own name until it is first
rebuilt (`vidgate replay`), then as `NAME_g2`, `NAME_g3` …: a SQLite file
`{data_dir}/{generation}.sqlite`, or PostgreSQL tables whose names start with the
generation. A pointer names the live generation: the one-line file
`{data_dir}/{NAME}.generation` (replaced atomically), or a row of
`{schema}.vidgate_view_generations`. No pointer: the view's own name.

Processes read the pointer when they open a view, and a `LiveView` re-reads it every
`check_every` seconds, so a replay's switch reaches running processes without a restart.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from eventsourcing.persistence import TrackingRecorder

from service.settings import Settings

log = logging.getLogger(__name__)
POINTER_TABLE = "vidgate_view_generations"
CHECK_EVERY = 1.0  # seconds between two reads of the pointer by a running process


def generation_name(name: str, number: int) -> str:
    return name if number == 1 else f"{name}_g{number}"


def next_generation(name: str, live: str) -> str:
    """The generation a rebuild of `name` builds, when `live` is serving."""
    number = 1 if live == name else int(live.removeprefix(f"{name}_g"))
    return generation_name(name, number + 1)


class Pointer:
    """Reads and switches which generation of a view is live."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.table = f'"{settings.database_schema}"."{POINTER_TABLE}"'

    def read(self, name: str, view: Any = None) -> str:
        """The live generation of `name` (`view`: a PostgreSQL view whose pool to use)."""
        if not self.settings.uses_postgres:
            path = self._file(name)
            return path.read_text().strip() if path.exists() else name
        if view is not None:
            with view.datastore.transaction(commit=False) as cursor:
                return self._select(cursor, name)
        with psycopg.connect(
            self.settings.database_url or "",
            autocommit=True,
            application_name=self.settings.pg_application_name,
        ) as conn:
            return self._select(conn.cursor(), name)

    def switch(self, name: str, generation: str) -> None:
        """Make `generation` the live one, atomically."""
        if not self.settings.uses_postgres:
            path = self._file(name)
            temporary = path.with_suffix(".generation.tmp")
            temporary.write_text(f"{generation}\n")
            os.replace(temporary, path)  # readers see the old name or the new one
            return
        with psycopg.connect(
            self.settings.database_url or "",
            autocommit=True,
            application_name=self.settings.pg_application_name,
        ) as conn:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} "
                "(view TEXT PRIMARY KEY, generation TEXT NOT NULL)"
            )
            conn.execute(
                f"INSERT INTO {self.table} (view, generation) VALUES (%s, %s) "
                "ON CONFLICT (view) DO UPDATE SET generation = EXCLUDED.generation",
                (name, generation),
            )

    def _select(self, cursor: Any, name: str) -> str:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL AS found", (self.table,))
        row = cursor.fetchone()
        if not (row["found"] if isinstance(row, dict) else row[0]):
            return name
        cursor.execute(f"SELECT generation FROM {self.table} WHERE view = %s", (name,))
        row = cursor.fetchone()
        if row is None:
            return name
        generation: str = row["generation"] if isinstance(row, dict) else row[0]
        return generation

    def _file(self, name: str) -> Path:
        return Path(self.settings.data_dir) / f"{name}.generation"


class LiveView:
    """A view whose calls go to the live generation of `name`.

    Readers (the API) may switch before any call. A projection's writer is `pinned`: it
    switches only when its `Follower` calls `refresh_generation()` between two pages, as
    a page written half to one generation and half to the other could skip events.
    Replaced generations are closed a while later (calls in flight may still use them).
    """

    def __init__(
        self,
        name: str,
        open_generation: Callable[[str], TrackingRecorder],
        pointer: Pointer,
        *,
        pinned: bool = False,
        check_every: float = CHECK_EVERY,
    ) -> None:
        self.name, self._open, self._pointer = name, open_generation, pointer
        self._pinned, self._check_every = pinned, check_every
        self._lock = threading.Lock()
        self.generation = pointer.read(name)
        self._view = open_generation(self.generation)
        self._next_check = time.monotonic() + check_every
        self._retired: list[tuple[TrackingRecorder, float]] = []

    def current(self) -> TrackingRecorder:
        if not self._pinned and time.monotonic() >= self._next_check:
            self.refresh_generation()
        return self._view

    def refresh_generation(self) -> None:
        """Follow the pointer if it moved (at most once per `check_every`)."""
        now = time.monotonic()
        if now < self._next_check:
            return
        with self._lock:
            if time.monotonic() < self._next_check:
                return  # another thread just did
            self._next_check = now + self._check_every
            generation = self._pointer.read(self.name, self._view)
            if generation != self.generation:
                self._retired.append((self._view, now))
                self._view, self.generation = self._open(generation), generation
                log.info("view %s now reads generation %s", self.name, generation)
            self._close_retired(older_than=now - 10 * self._check_every)

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("_"):
            raise AttributeError(attribute)
        value = getattr(self._view, attribute)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:  # bound at call time, not now
            return getattr(self.current(), attribute)(*args, **kwargs)

        return call

    def close_generations(self) -> None:
        self._close_retired(older_than=float("inf"))
        _close(self._view)

    def _close_retired(self, older_than: float) -> None:
        keep = [(view, at) for view, at in self._retired if at > older_than]
        for view, at in self._retired:
            if at <= older_than:
                _close(view)
        self._retired = keep


def _close(view: Any) -> None:
    datastore = getattr(view, "datastore", None)
    if datastore is not None:
        datastore.close()
