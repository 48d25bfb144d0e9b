"""`vidgate replay VIEW`: rebuild a view from the first event, blue/green, while it serves.

1. Build: a new generation of the view (`NAME_g2`, `NAME_g3` …, see
   `service.persistence.blue_green`):
   a new SQLite file or new PostgreSQL tables, fed from position 0 by a `Follower` reading
   large pages (a batched projection writes each page in one transaction).
2. Catch up: follow until a page comes back short: the new generation holds every event
   recorded so far. Nothing reads it yet.
3. Switch: point the view's name at the new generation (one file replaced atomically, or
   one row). Running processes re-read the pointer every second (`LiveView`): the API's
   readers move at once; a projection's writer moves between two pages and goes on from
   the new generation's own position, so the events recorded meanwhile land there too.
4. Drop: after `grace` seconds (longer than the processes take to notice), the old
   generation's file or tables.

A crash before the switch leaves the live generation as it was; the next replay drops what
an interrupted one left (a half-built generation, or an old one it did not get to drop) and
starts over. One replay of a view runs at a time (a lock).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import gc
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from eventsourcing.persistence import TrackingRecorder
from eventsourcing.projection import Projection
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from events.app import Gateway
from projections.analytics.postgres import PostgresAnalyticsView
from projections.analytics.projection import AnalyticsProjection
from projections.analytics.sqlite import SQLiteAnalyticsView
from projections.follower import Follower
from projections.jobs.postgres import PostgresJobsView
from projections.jobs.projection import JobsProjection
from projections.jobs.sqlite import SQLiteJobsView
from service.persistence.blue_green import Pointer, next_generation
from service.persistence.stores import build_gateway, build_view
from service.runtime import close_view
from service.settings import Settings

BATCH = 5000  # events per page (and per transaction, for a batched projection)
GRACE = 5.0  # seconds between the switch and dropping the old generation
COLLECT_EVERY = 100  # pages between two runs of the cyclic garbage collector

OnProgress = Callable[[int, int, int], None]  # (position, latest position, events handled)


@dataclass(frozen=True)
class Rebuildable:
    sqlite: type[TrackingRecorder]
    postgres: type[TrackingRecorder]
    projection: Callable[[Any], Projection[Any]]
    tables: Callable[[str], tuple[str, ...]]  # a generation's PostgreSQL tables


VIEWS = {
    "analytics": Rebuildable(
        SQLiteAnalyticsView,
        PostgresAnalyticsView,
        AnalyticsProjection,
        lambda generation: (f"{generation}_jobs", f"{generation}_tracking"),
    ),
    "jobs": Rebuildable(
        SQLiteJobsView,
        PostgresJobsView,
        JobsProjection,
        lambda generation: (generation, f"{generation}_tracking"),
    ),
}


class ReplayBusy(RuntimeError):
    """Another replay of the same view is running."""


@dataclass(frozen=True)
class ReplayReport:
    view: str
    generation: str  # live now
    replaced: str  # live before, now dropped
    events: int  # events the projection handled
    seconds: float  # building and catching up (not the grace period)

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def replay(
    settings: Settings,
    name: str,
    *,
    batch: int = BATCH,
    grace: float = GRACE,
    progress: OnProgress | None = None,
) -> ReplayReport:
    """Rebuild view `name` from position 0, switch to it, drop the old one."""
    spec, pointer = VIEWS[name], Pointer(settings)
    with _exclusive(settings, name):
        live = pointer.read(name)
        target = next_generation(name, live)
        for stale in _generations(settings, name) - {live}:  # what an interrupted one left
            _drop(settings, spec, stale)
        started = time.perf_counter()
        events = _build(settings, spec, target, batch, progress)
        seconds = time.perf_counter() - started
        pointer.switch(name, target)
        time.sleep(grace)
        _drop(settings, spec, live)
    return ReplayReport(name, target, live, events, seconds)


def _build(
    settings: Settings, spec: Rebuildable, generation: str, batch: int, progress: OnProgress | None
) -> int:
    gateway = build_gateway(settings)
    view = build_view(settings, generation, spec.sqlite, spec.postgres)
    # PostgreSQL reads wait on the server: read the next page meanwhile. SQLite reads are
    # this process's own CPU: a second thread would only contend for the GIL.
    follower = Follower(
        gateway, spec.projection(view), batch=batch, read_ahead=settings.uses_postgres
    )
    try:
        with _collector_paused():
            return _catch_up(follower, gateway, progress)
    finally:
        follower.close()
        close_view(view)
        gateway.close()


def _catch_up(follower: Follower, gateway: Gateway, progress: OnProgress | None) -> int:
    handled, pages, full = 0, 0, True
    while full:
        count, full = follower.step()
        handled, pages = handled + count, pages + 1
        if pages % COLLECT_EVERY == 0:
            gc.collect()
        if progress is not None:
            latest = gateway.recorder.max_notification_id() or 0
            progress(follower.position, latest, handled)
    return handled


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """A replay allocates millions of short-lived, acyclic objects (rows, decoded JSON),
    whose survivors of a page keep triggering the cyclic collector's passes: a fifth of the
    CPU (measured on a million events). Refcounting frees them anyway; what cycles appear
    are collected every COLLECT_EVERY pages."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _drop(settings: Settings, spec: Rebuildable, generation: str) -> None:
    if settings.uses_postgres:
        schema = settings.database_schema
        with psycopg.connect(settings.database_url or "", autocommit=True) as conn:
            for table in spec.tables(generation):
                conn.execute(f'DROP TABLE IF EXISTS "{schema}"."{table}"')
        return
    for suffix in ("", "-wal", "-shm"):
        (Path(settings.data_dir) / f"{generation}.sqlite{suffix}").unlink(missing_ok=True)


def _generations(settings: Settings, name: str) -> set[str]:
    """Every generation of view `name` that has a file or a tracking table."""
    pattern = re.compile(rf"{re.escape(name)}(_g\d+)?")
    if settings.uses_postgres:
        with psycopg.connect(settings.database_url or "", autocommit=True) as conn:
            rows = conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (settings.database_schema,),
            ).fetchall()
        found = {row[0].removesuffix("_tracking") for row in rows if row[0].endswith("_tracking")}
    else:
        found = {
            path.name.removesuffix(".sqlite") for path in Path(settings.data_dir).glob("*.sqlite")
        }
    return {generation for generation in found if pattern.fullmatch(generation)}


@contextlib.contextmanager
def _exclusive(settings: Settings, name: str) -> Iterator[None]:
    """Held for the whole replay: a PostgreSQL advisory lock, or a lock file's flock."""
    busy = ReplayBusy(f"another replay of {name} is running")
    if settings.uses_postgres:
        key = f"vidgate-replay/{settings.database_schema}/{name}"
        with psycopg.connect(settings.database_url or "", autocommit=True) as conn:
            row = conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (key,)).fetchone()
            if not (row and row[0]):
                raise busy
            yield  # closing the connection releases the lock
        return
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    with (Path(settings.data_dir) / f"{name}.replay.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise busy from None
        yield


# the command


def add_replay_command(commands: Any) -> None:
    """Register `vidgate replay VIEW` on the CLI's subcommands."""
    command = commands.add_parser(
        "replay", help="rebuild a view from the first event while it serves (blue/green)"
    )
    command.add_argument("view", choices=sorted(VIEWS), help="the view to rebuild")
    command.add_argument(
        "--batch", type=int, default=BATCH, help=f"events per page (default: {BATCH})"
    )
    command.add_argument(
        "--grace",
        type=float,
        default=GRACE,
        help=f"seconds from the switch until the old generation is dropped (default: {GRACE:g})",
    )
    command.set_defaults(handler=run_replay)


def run_replay(args: argparse.Namespace, settings: Settings) -> int:
    console = Console(stderr=True)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>9,.0f} events/s"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(f"replay {args.view}", total=None, rate=0.0)
        started = time.perf_counter()

        def show(position: int, latest: int, handled: int) -> None:
            rate = handled / max(time.perf_counter() - started, 1e-9)
            bar.update(task, completed=position, total=max(latest, position), rate=rate)

        try:
            report = replay(settings, args.view, batch=args.batch, grace=args.grace, progress=show)
        except ReplayBusy as error:
            console.print(f"vidgate: {error}")
            return 1
    print(
        f"replayed {report.view}: {report.events:,} events in {report.seconds:.1f} s "
        f"({report.events_per_second:,.0f} events/s); live generation {report.generation}, "
        f"dropped {report.replaced}",
        file=sys.stdout,
        flush=True,
    )
    return 0
