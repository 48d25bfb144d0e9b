"""`make bench` (last): rebuilding the analytics view from a million job events.

Per store (SQLite in a fresh data dir, then PostgreSQL in a fresh schema), one after another:

  write      N job events (default 1,000,000: ~150,000 jobs over 30 days, 5 tenants, 6 models;
             submitted, dispatched, progress by webhook or poll, then completed, failed,
             canceled or still running), built as event objects with spread timestamps and
             stored through the Gateway's recorder, 5,000 per transaction
  ceiling    the raw read: `select_notifications` over the analytics topics, pages of 5,000,
             nothing decoded. A replay cannot go faster than this.
  decode     the same read plus the projection's decoding (`AnalyticsProjection.decode`), and
             plus the mapper's (`to_domain_event`), for comparison
  replay     `vidgate replay analytics` in its own process (the CLI: build a new generation,
             catch up, switch, drop the old), its rate as it reports it
  live       the worker's follower (pages of 500) catching up on the same log from position 0
  per event  the same projection one event per transaction (as followers worked before
             batching), over the first 20,000 events

Then the replayed generation and the live one are compared row for row, and the API's query
is timed on the full view. See README.md next to this file.

    .venv/bin/python tests/benchmarks/bench_replay.py [--events 1000000] [--only sqlite,postgres]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from bench_submit import _machine_cpu, _processes, _wait_idle
from eventsourcing.projection import Projection
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from servers import PostgresUnavailable, fresh_schema

from events.app import Gateway
from events.job import Job
from projections.analytics.postgres import PostgresAnalyticsView
from projections.analytics.projection import AnalyticsProjection
from projections.analytics.sqlite import SQLiteAnalyticsView
from projections.analytics.view import AnalyticsQuery, AnalyticsView
from projections.follower import Follower
from service.persistence.stores import build_gateway, build_view
from service.runtime import close_view
from service.settings import Settings

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
WRITE_BATCH = 5000
READ_PAGE = 5000
T0 = datetime(2030, 1, 1, tzinfo=UTC)
DAYS = 30
TENANTS = (("acme", 5), ("globex", 3), ("initech", 2), ("umbrella", 1), ("hooli", 1))
MODELS = (  # model, provider, whether the provider calls back (else: polled)
    ("veo-3.1", "veo", False),
    ("kling-3-pro", "fal", True),
    ("wan-2.5-fast", "replicate", True),
    ("hailuo-02", "minimax", True),
    ("sora-2", "sora", False),
    ("local-preview", "local", False),
)
FAILURES = ("upstream_error", "timeout", "content_policy", "rate_limited")
ANALYTICS_TOPICS = list(AnalyticsProjection.topics)

console = Console(width=None if sys.stdout.isatty() else 160, highlight=False)


@dataclass
class Phase:
    store: str
    label: str
    events: int = 0
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # cores busy: bench, postgres, other

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


class Meter:
    """Wall time and CPU (in cores) of this process and its children, PostgreSQL, others."""

    def __enter__(self) -> Meter:
        self.t0, self.machine0, self.procs0 = time.perf_counter(), _machine_cpu(), _processes()
        self.self0 = _rusage()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.t0
        (busy0, _, total0), (busy1, _, total1) = self.machine0, _machine_cpu()
        procs1 = _processes()
        postgres = sum(
            cpu - self.procs0.get(pid, ("", 0.0))[1]
            for pid, (kind, cpu) in procs1.items()
            if kind == "postgres"
        )
        ncpu = os.cpu_count() or 1
        machine = (busy1 - busy0) * ncpu / (total1 - total0) if total1 > total0 else 0.0
        ours = (_rusage() - self.self0) / self.seconds
        pg = postgres / self.seconds
        self.cpu = {"bench": ours, "postgres": pg, "other": max(0.0, machine - ours - pg)}


def _rusage() -> float:
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


# the event log


def histories(count: int, seed: int = 1) -> Iterator[list[Job.Event]]:
    """Job histories, submitted evenly over DAYS, until `count` events in all."""
    rng = random.Random(seed)
    tenants = [name for name, weight in TENANTS for _ in range(weight)]
    spacing = DAYS * 86400 / (count / 6.5)  # about 6.5 events per job
    produced, n = 0, 0
    while produced < count:
        history = _history(rng, T0 + timedelta(seconds=n * spacing), rng.choice(tenants), n)
        history = history[: count - produced]
        produced += len(history)
        n += 1
        yield history


def _history(rng: random.Random, at: datetime, tenant: str, n: int) -> list[Job.Event]:
    model, provider, calls_back = MODELS[n % len(MODELS)]
    job_id = UUID(int=rng.getrandbits(128), version=4)
    events: list[Job.Event] = [
        Job.Submitted(
            originator_id=job_id,
            originator_version=1,
            timestamp=at,
            originator_topic="vidgate:Job",
            tenant=tenant,
            model=model,
            provider=provider,
            upstream_model=model,
            prompt="a red fox running through snow, golden hour",
            params={"seconds": rng.choice(["4", "6", "8"]), "size": "1280x720"},
            inputs={},
            webhook=None,
            idempotency_key=None,
            request_hash="0" * 64,
            surface="openai",
            cost_estimate=round(rng.uniform(0.1, 3.0), 2),
        )
    ]
    clock = at

    def add(event_class: type, seconds: float, **fields: Any) -> None:
        nonlocal clock
        clock += timedelta(seconds=seconds)
        events.append(
            event_class(
                originator_id=job_id,
                originator_version=len(events) + 1,
                timestamp=clock,
                **fields,
            )
        )

    signal = "local" if provider == "local" else "webhook" if calls_back else "poll"
    dispatched = {"provider": provider, "upstream_id": f"u{n}", "attempt": 1}
    add(Job.Dispatched, rng.uniform(0.02, 2.0), **dispatched, attempt_id=None, by=None)
    for step in range(rng.randint(1, 5)):
        source = signal if rng.random() < 0.9 else "poll"
        add(
            Job.Progressed,
            rng.uniform(2, 20),
            percent=15 * (step + 1),
            upstream_status="running",
            source=source,
        )
    fate = rng.random()
    if fate < 0.80:
        output = {
            "url": f"/v1/videos/{job_id.hex}/content",
            "content_type": "video/mp4",
            "width": 1280,
            "height": 720,
            "duration": 4.0,
            "fps": 24,
            "bytes": 912345,
        }
        add(
            Job.Completed,
            rng.uniform(5, 60),
            output=output,
            upstream_url="https://cdn/x.mp4",
            cost=rng.choice([None, 0.35]),
            upstream_status="succeeded",
            source=signal,
        )
    elif fate < 0.92:
        add(
            Job.Failed,
            rng.uniform(5, 60),
            code=rng.choice(FAILURES),
            message="upstream said no",
            retryable=False,
            upstream_status="failed",
            source=signal,
        )
    elif fate < 0.97:
        add(Job.Canceled, rng.uniform(1, 30), by="api")
    return events


def write_log(gateway: Gateway, count: int) -> int:
    batch: list[Any] = []
    written = 0
    for history in histories(count):
        batch.extend(gateway.mapper.to_stored_event(event) for event in history)
        if len(batch) >= WRITE_BATCH:
            gateway.recorder.insert_events(batch)
            written, batch = written + len(batch), []
    if batch:
        gateway.recorder.insert_events(batch)
        written += len(batch)
    return written


# the phases


def read_all(gateway: Gateway, decode: Callable[[Any], Any] | None) -> int:
    """The replay's read loop without a projection: pages of READ_PAGE, with the cyclic
    garbage collector paused as `service.admin.replay` pauses it."""
    gc.disable()
    try:
        return _read_all(gateway, decode)
    finally:
        gc.enable()


def _read_all(gateway: Gateway, decode: Callable[[Any], Any] | None) -> int:
    last, read = 0, 0
    while True:
        page = gateway.recorder.select_notifications(
            start=last, limit=READ_PAGE, topics=ANALYTICS_TOPICS, inclusive_of_start=False
        )
        if not page:
            return read
        if decode is not None:
            for notification in page:
                decode(notification)
        read, last = read + len(page), page[-1].id


def cli_replay(env: dict[str, str]) -> tuple[int, float, str]:
    """`vidgate replay analytics` in its own process: (events, seconds, summary line)."""
    command = [str(ROOT / ".venv" / "bin" / "vidgate"), "replay", "analytics", "--grace", "0"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"vidgate replay failed:\n{done.stdout}\n{done.stderr[-3000:]}")
    summary = done.stdout.strip().splitlines()[-1]
    found = re.search(r"([\d,]+) events in ([\d.]+) s", summary)
    if found is None:
        raise RuntimeError(f"unexpected replay output: {summary!r}")
    return int(found[1].replace(",", "")), float(found[2]), summary


class OneByOne(Projection[AnalyticsView]):
    """The analytics projection without `process_batch`: a transaction per event."""

    name, topics = AnalyticsProjection.name, AnalyticsProjection.topics

    def __init__(self, view: AnalyticsView) -> None:
        super().__init__(view)
        self.inner = AnalyticsProjection(view)

    def process_event(self, event: Any, tracking: Any) -> None:
        self.inner.process_event(event, tracking)


def follow(follower: Follower, limit: int | None = None) -> int:
    handled, full = 0, True
    while full and (limit is None or handled < limit):
        count, full = follower.step()
        handled += count
    return handled


def rows(view: Any) -> list[tuple[Any, ...]]:
    with view.datastore.transaction(commit=False) as c:
        c.execute(f"SELECT * FROM {view.sql.jobs} ORDER BY job_id")
        return [tuple(dict(row).values()) for row in c.fetchall()]


def query_ms(view: AnalyticsView, group_by: tuple[str, ...]) -> float:
    started = time.perf_counter()
    view.figures(AnalyticsQuery(tenant="acme", group_by=group_by))
    return (time.perf_counter() - started) * 1000


# one store


class Run:
    """The phases of one store, measured one after another on the same log."""

    def __init__(self, store: str, settings: Settings, env: dict[str, str], args: Any) -> None:
        self.store, self.settings, self.env, self.args = store, settings, env, args
        self.phases: list[Phase] = []
        self.notes: list[str] = []  # printed after the table

    def measured(self, label: str, run: Callable[[], int]) -> Phase:
        console.print(f"{self.store}: {label} …")
        with Meter() as meter:
            events = run()
        phase = Phase(self.store, label, events, meter.seconds, meter.cpu)
        self.phases.append(phase)
        console.print(f"  {events:,} events in {meter.seconds:.1f} s: {phase.rate:,.0f}/s")
        return phase

    def all(self) -> None:
        gateway = build_gateway(self.settings)
        try:
            self.measured(
                f"write ({WRITE_BATCH:,} per transaction)",
                lambda: write_log(gateway, self.args.events),
            )
            _wait_idle(self.args.idle_wait)
            self.reads(gateway)
            _wait_idle(self.args.idle_wait)
            self.replay()
            _wait_idle(self.args.idle_wait)
            self.follows(gateway)
        finally:
            gateway.close()

    def reads(self, gateway: Gateway) -> None:
        decode, to_event = AnalyticsProjection.decode, gateway.mapper.to_domain_event
        self.measured("ceiling: select_notifications, raw", lambda: read_all(gateway, None))
        self.measured(
            "read + decode (projection)",
            lambda: read_all(gateway, lambda n: decode(gateway.mapper, n)),
        )
        self.measured("read + decode (mapper)", lambda: read_all(gateway, to_event))

    def replay(self) -> None:
        reported: list[tuple[int, float, str]] = []

        def run() -> int:
            reported.append(cli_replay(self.env))
            return reported[0][0]

        phase = self.measured("vidgate replay analytics (CLI)", run)
        wall, (phase.events, phase.seconds, line) = phase.seconds, reported[0]
        self.notes.append(f"{line} ({wall:.1f} s with the process start, switch and drop)")
        console.print(f"  as it reports: {phase.rate:,.0f} events/s")

    def follows(self, gateway: Gateway) -> None:
        """The worker's follower and one event per transaction, then the checks."""
        views = [
            build_view(self.settings, name, SQLiteAnalyticsView, PostgresAnalyticsView)
            for name in ("analytics_live", "analytics_one", "analytics_g2")
        ]
        live, one, rebuilt = views
        try:
            worker = Follower(gateway, AnalyticsProjection(live))  # as service.workers.role runs it
            self.measured("live catch-up (worker's follower, pages of 500)", lambda: follow(worker))
            single = Follower(gateway, OneByOne(one))
            self.measured(
                f"one event per transaction (first {self.args.per_event:,})",
                lambda: follow(single, self.args.per_event),
            )
            self.check(live, rebuilt)
        finally:
            for view in views:
                close_view(view)

    def check(self, live: Any, rebuilt: Any) -> None:
        same = rows(live) == rows(rebuilt)
        acme = TENANTS[0][1] / sum(weight for _, weight in TENANTS)
        timings = ", ".join(
            f"group_by={','.join(group_by) or 'none'} {query_ms(rebuilt, group_by):.0f} ms"
            for group_by in ((), ("day",), ("day", "model", "provider"))
        )
        self.notes.append(f"replayed = live, row for row: {'yes' if same else 'NO'}")
        self.notes.append(f"the API's query over acme's {acme:.0%} of the jobs: {timings}")
        if not same:
            raise RuntimeError("the replayed view differs from the live one")


def store_run(store: str, settings: Settings, env: dict[str, str], args: Any) -> Run:
    run = Run(store, settings, env, args)
    run.all()
    return run


def run_sqlite(args: Any) -> Run:
    with tempfile.TemporaryDirectory(prefix="vidgate-bench-replay-") as tmp:
        settings = Settings(data_dir=Path(tmp))
        return store_run("SQLite", settings, _env({"VIDGATE_DATA_DIR": tmp}), args)


def run_postgres(args: Any) -> Run:
    with (
        fresh_schema(args.postgres_url, console.print) as schema,
        tempfile.TemporaryDirectory(prefix="vidgate-bench-replay-") as tmp,
    ):
        settings = Settings(
            data_dir=Path(tmp), database_url=args.postgres_url, database_schema=schema
        )
        env = _env(
            {
                "VIDGATE_DATA_DIR": tmp,
                "VIDGATE_DATABASE_URL": args.postgres_url,
                "VIDGATE_DATABASE_SCHEMA": schema,
            }
        )
        return store_run("PostgreSQL", settings, env, args)


def _env(extra: dict[str, str]) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("VIDGATE_")}
    return {**keep, **extra}


# the report


def table(phases: list[Phase]) -> Table:
    out = Table(title="analytics replay", title_justify="left")
    for name in (
        "store",
        "phase",
        "events",
        "s",
        "events/s",
        "% ceiling",
        "bench CPU",
        "pg CPU",
        "other CPU",
    ):
        out.add_column(name, justify="left" if name in ("store", "phase") else "right")
    ceilings = {p.store: p.rate for p in phases if p.label.startswith("ceiling")}
    for p in phases:
        share = f"{p.rate / ceilings[p.store]:.0%}" if ceilings.get(p.store) else "—"
        other = p.cpu.get("other", 0.0)
        out.add_row(
            p.store,
            p.label,
            f"{p.events:,}",
            f"{p.seconds:.1f}",
            f"{p.rate:,.0f}",
            share,
            f"{p.cpu.get('bench', 0):.2f}",
            f"{p.cpu.get('postgres', 0):.2f}",
            f"[bold yellow]{other:.2f} ![/bold yellow]" if other > 0.15 else f"{other:.2f}",
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the log")
    parser.add_argument(
        "--per-event",
        type=int,
        default=20_000,
        help="events handled one per transaction, for comparison",
    )
    parser.add_argument("--only", default="sqlite,postgres", help="which stores")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("VIDGATE_BENCH_DATABASE_URL", DEFAULT_PG_URL)
    )
    parser.add_argument(
        "--idle-wait",
        type=float,
        default=30,
        help="before measuring, wait up to this long for an idle machine",
    )
    args = parser.parse_args(argv)
    runs: list[Run] = []
    failed = False
    for store in args.only.split(","):
        console.rule(f"[bold]{store}")
        try:
            runs.append(run_sqlite(args) if store == "sqlite" else run_postgres(args))
        except PostgresUnavailable as reason:
            console.print(f"[yellow]SKIPPED:[/yellow] {escape(str(reason))}")
        except Exception as error:
            console.print(f"[red]FAILED:[/red] {escape(str(error))}")
            failed = True
    console.print(table([phase for run in runs for phase in run.phases]))
    for run in runs:
        for note in run.notes:
            console.print(f"{run.store}: {escape(note)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
