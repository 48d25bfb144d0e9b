"""`make bench`: how many durable `POST /v1/videos` one vidgate process takes, against a ceiling.

Runs, each in its own server process on 127.0.0.1, one after another:

  ceiling   a bare Starlette app (ceiling_app.py) whose POST answers 202: one process's limit
  sqlite    `vidgate serve`, fresh data dir, workers off: the request path is auth, validation,
            the durable append of `Submitted`, and the 202
  postgres  the same on PostgreSQL, in a fresh schema (skipped if the server is unreachable)
  *-metered the same with the key's tenant granted credits first: each submit also reserves
            its price on the tenant's ledger, in the same transaction (metering on vs off)

Each gets a sample request (must be 202), a warm-up, then a fixed-duration wrk run. The
SQLite/PostgreSQL runs then count stored events: every 202 must have its `Submitted` (and,
metered, its `CreditsReserved`).

    .venv/bin/python tests/benchmarks/bench_submit.py [--duration 10] [--connections 16]
                                                       [--only ceiling,sqlite,postgres,...]

See README.md next to this file for how to read the output.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from loadgen import LoadError, LoadResult, find_wrk, run_python, run_wrk, wrk_version
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from servers import (
    HOST,
    PostgresUnavailable,
    Server,
    ServerFailed,
    free_port,
    fresh_schema,
    post_once,
    running,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SCENARIOS = (
    "ceiling",
    "sqlite",
    "sqlite-metered",
    "sqlite-get",
    "postgres",
    "postgres-metered",
    "postgres-get",
)
LABELS = {
    "ceiling": "ceiling (bare Starlette)",
    "sqlite": "POST /v1/videos · SQLite",
    "sqlite-metered": "POST /v1/videos · SQLite, metered",
    "sqlite-get": "GET /v1/videos/{id} · SQLite",
    "postgres": "POST /v1/videos · PostgreSQL",
    "postgres-metered": "POST /v1/videos · PostgreSQL, metered",
    "postgres-get": "GET /v1/videos/{id} · PostgreSQL",
}
# Issue 15's goals, as shares of the ceiling of the same invocation (web role).
GOALS = {"sqlite": 0.40, "postgres": 0.25, "sqlite-get": 0.60, "postgres-get": 0.60}
GET_JOBS = 200  # jobs a GET run reads, in turn
# A metered run grants the key's tenant this much first: every submit then reserves its price
# on the tenant's `Account`, in the same transaction as its `Submitted` (one tenant, so the
# concurrent submits all contend for that one account).
GRANT = "1000000"
TENANT = "default"  # the bootstrap key's tenant
API_KEY = "vg_bench_key_0001"
SUBMITTED, RESERVED = "vidgate:Job.Submitted", "vidgate:Account.CreditsReserved"
BODY = json.dumps(
    {"model": "local-preview", "prompt": "bench", "seconds": "1", "size": "160x90"},
    separators=(",", ":"),
).encode()
HEADERS = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
BUSY_WARNING = 0.15  # machine CPU busy before a run above this → someone else is working

console = Console(width=None if sys.stdout.isatty() else 150, highlight=False)

Load = Callable[[str, float], LoadResult]  # (url, seconds) → result
GetLoad = Callable[[str, float, list[str]], LoadResult]  # (base url, seconds, paths) → result


@dataclass
class Outcome:
    key: str
    load: LoadResult | None = None
    warmup: LoadResult | None = None
    cpu: dict[str, float] | None = None  # cores busy while measured: see CpuMeter
    durable_ok: bool | None = None
    durable: str = ""
    skipped: str | None = None
    failed: str | None = None

    @property
    def label(self) -> str:
        return LABELS[self.key]


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    load, tool, is_wrk = _load_generator(args)
    get_load = _get_load(args) if is_wrk else None
    _header(args, tool)
    outcomes = []
    for key in args.only:
        console.rule(f"[bold]{LABELS[key]}")
        _wait_idle(args.idle_wait)
        outcome = Outcome(key)
        try:
            if key == "ceiling":
                _ceiling(outcome, load, args)
            elif key.endswith("-get"):
                _get_run(outcome, get_load, args)
            elif key.startswith("sqlite"):
                _sqlite(outcome, load, args, metered=key.endswith("metered"))
            else:
                _postgres(outcome, load, args, metered=key.endswith("metered"))
        except (ServerFailed, LoadError, SampleFailed) as error:
            outcome.failed = str(error)
            console.print(f"[red]FAILED:[/red] {escape(str(error))}")
        except Exception as error:  # a bug or a broken store: report it, go on with the next
            outcome.failed = f"{type(error).__name__}: {error}"
            console.print_exception()
        outcomes.append(outcome)
    console.print()
    console.print(_table(outcomes, args, tool))
    for o in outcomes:
        if o.skipped or o.failed:
            what = f"skipped: {o.skipped}" if o.skipped else f"FAILED: {o.failed}"
            console.print(f"{o.label} {escape(what.splitlines()[0])}", soft_wrap=True)
        elif o.durable_ok is not None:
            console.print(f"{o.label} durability: {o.durable}", soft_wrap=True)
    if not is_wrk:
        _loud_fallback_warning()
    bad = [o for o in outcomes if o.failed or o.durable_ok is False]
    return 1 if bad else 0


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per run")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (-t)")
    parser.add_argument(
        "--only",
        default=",".join(SCENARIOS),
        help="comma-separated subset of: " + ",".join(SCENARIOS),
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("VIDGATE_BENCH_DATABASE_URL") or DEFAULT_PG_URL,
        help=f"default: {DEFAULT_PG_URL}",
    )
    parser.add_argument(
        "--idle-wait",
        type=float,
        default=60.0,
        help="before each run, wait up to this many seconds for the machine to be idle",
    )
    parser.add_argument(
        "--python-loadgen",
        action="store_true",
        help="use the (slow) Python generator even if wrk is there",
    )
    args = parser.parse_args(argv)
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(only) - set(SCENARIOS))
    if unknown or not only:
        parser.error(f"--only takes {','.join(SCENARIOS)}; got {args.only!r}")
    args.only = [name for name in SCENARIOS if name in only]
    if args.duration < 1 or args.warmup < 0 or args.connections < 1 or args.threads < 1:
        parser.error("--duration ≥ 1, --warmup ≥ 0, --connections ≥ 1, --threads ≥ 1")
    return args


def _load_generator(args: argparse.Namespace) -> tuple[Load, str, bool]:
    wrk = None if args.python_loadgen else find_wrk(say=console.print)
    kw = {"connections": args.connections, "threads": args.threads}
    if wrk is not None:
        version = wrk_version(wrk).removeprefix("wrk ").strip()
        tool = f"wrk {version} -t{min(args.threads, args.connections)} -c{args.connections}"
        return (lambda url, secs: run_wrk(wrk, url, BODY, HEADERS, duration=secs, **kw)), tool, True
    _loud_fallback_warning()
    tool = f"PYTHON FALLBACK ({args.threads} procs, {args.connections} connections)"
    return (lambda url, secs: run_python(url, BODY, HEADERS, duration=secs, **kw)), tool, False


def _get_load(args: argparse.Namespace) -> GetLoad:
    wrk = find_wrk(say=console.print)
    assert wrk is not None
    kw = {"connections": args.connections, "threads": args.threads}
    return lambda url, secs, paths: run_wrk(
        wrk, url, b"", {"Authorization": HEADERS["Authorization"]}, duration=secs, paths=paths, **kw
    )


def _loud_fallback_warning() -> None:
    console.print(
        Panel(
            "The load comes from a Python generator (loadgen.py), not from wrk.\n"
            "It needs more CPU per request than the servers under test and shares the same "
            f"{os.cpu_count()} cores:\nTHE NUMBERS BELOW ARE BOUNDED BY THE GENERATOR, not by "
            "vidgate. Install wrk (apt-get install wrk) for real numbers.",
            title="WARNING: Python load generator",
            style="bold red",
        )
    )


def _header(args: argparse.Namespace, tool: str) -> None:
    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "?"

    console.print(
        f"[bold]vidgate bench[/bold]: {os.cpu_count()} CPUs · Python {platform.python_version()}"
        f" · uvicorn {version('uvicorn')} · starlette {version('starlette')}"
        f" · eventsourcing {version('eventsourcing')}\n"
        f"load: {escape(tool)} · {args.warmup:g} s warm-up + {args.duration:g} s measured per "
        f"run · body {BODY.decode()}"
    )


# the runs


class SampleFailed(RuntimeError):
    """The sample request before the load did not get a 202."""


def _ceiling(outcome: Outcome, load: Load, args: argparse.Namespace) -> None:
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "ceiling_app:app",
        "--app-dir",
        str(HERE),
        "--host",
        HOST,
        "--port",
        str(port),
        "--log-level",
        "info",
    ]
    with (
        tempfile.TemporaryDirectory(prefix="vidgate-bench-") as tmp,
        running("ceiling app", argv, _clean_env(), port, Path(tmp) / "server.log") as server,
    ):
        _sample(server)
        _measure(outcome, server, load, args)


def _sqlite(outcome: Outcome, load: Load, args: argparse.Namespace, *, metered: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="vidgate-bench-") as tmp:
        data_dir = Path(tmp) / "var"
        db = data_dir / "events.sqlite"

        def count(topic: str) -> int:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
                query = "SELECT count(*) FROM stored_events WHERE topic = ?"
                return int(conn.execute(query, (topic,)).fetchone()[0])

        env = _vidgate_env(data_dir)
        _durable_run(outcome, load, args, env, Path(tmp) / "server.log", count, metered)


def _postgres(outcome: Outcome, load: Load, args: argparse.Namespace, *, metered: bool) -> None:
    url = args.postgres_url
    try:
        with fresh_schema(url, console.print) as schema:

            def count(topic: str) -> int:
                import psycopg
                from psycopg import sql

                with psycopg.connect(url, autocommit=True) as conn:
                    query = sql.SQL("SELECT count(*) FROM {}.vidgate_events WHERE topic = %s")
                    row = conn.execute(query.format(sql.Identifier(schema)), (topic,)).fetchone()
                    return int(row[0]) if row else 0

            with tempfile.TemporaryDirectory(prefix="vidgate-bench-") as tmp:
                env = _vidgate_env(Path(tmp) / "var")
                env.update(VIDGATE_DATABASE_URL=url, VIDGATE_DATABASE_SCHEMA=schema)
                log = Path(tmp) / "server.log"
                _durable_run(outcome, load, args, env, log, count, metered)
    except PostgresUnavailable as reason:
        outcome.skipped = str(reason)
        console.print(f"[yellow]SKIPPED:[/yellow] {escape(outcome.skipped)}")


def _get_run(outcome: Outcome, get_load: GetLoad | None, args: argparse.Namespace) -> None:
    """`GET /v1/videos/{id}` over `GET_JOBS` jobs submitted first (queued: workers off)."""
    if get_load is None:
        outcome.skipped = "GET runs need wrk"
        console.print(f"[yellow]SKIPPED:[/yellow] {outcome.skipped}")
        return
    with tempfile.TemporaryDirectory(prefix="vidgate-bench-") as tmp:
        env = _vidgate_env(Path(tmp) / "var")
        env["PORT"] = str(port := free_port())
        if outcome.key.startswith("postgres"):
            try:
                with fresh_schema(args.postgres_url, console.print) as schema:
                    env.update(VIDGATE_DATABASE_URL=args.postgres_url)
                    env.update(VIDGATE_DATABASE_SCHEMA=schema)
                    _serve_gets(outcome, get_load, args, env, port, Path(tmp) / "server.log")
            except PostgresUnavailable as reason:
                outcome.skipped = str(reason)
                console.print(f"[yellow]SKIPPED:[/yellow] {escape(outcome.skipped)}")
            return
        _serve_gets(outcome, get_load, args, env, port, Path(tmp) / "server.log")


def _serve_gets(
    outcome: Outcome,
    get_load: GetLoad,
    args: argparse.Namespace,
    env: dict[str, str],
    port: int,
    log: Path,
) -> None:
    with running("vidgate serve", [*_vidgate_command(), "serve"], env, port, log) as server:
        paths = []
        for _ in range(GET_JOBS):
            status, body = post_once(f"{server.base_url}/v1/videos", BODY, HEADERS)
            if status != 202:
                raise SampleFailed(f"POST got {status}, not 202: {body[:500]!r}")
            paths.append(f"/v1/videos/{json.loads(body)['id']}")
        console.print(f"{GET_JOBS} jobs submitted; GET them in turn")
        if args.warmup > 0:
            console.print(f"warm-up {args.warmup:g} s…")
            outcome.warmup = get_load(server.base_url, args.warmup, paths)
        console.print(f"measuring {args.duration:g} s…")
        meter = CpuMeter(server.process.pid)
        outcome.load = get_load(server.base_url, args.duration, paths)
        outcome.cpu = meter.stop(generator_s=outcome.load.generator_cpu_s)
        if server.process.poll() is not None:
            raise ServerFailed(f"{server.name} died under load:\n{server.log_tail()}")
        _print_detail(outcome)


def _durable_run(
    outcome: Outcome,
    load: Load,
    args: argparse.Namespace,
    env: dict[str, str],
    log_path: Path,
    count: Callable[[str], int],
    metered: bool,
) -> None:
    """Serve, measure, and check that every 202 left its `Submitted` (and, metered, its
    `CreditsReserved`) in the store."""
    port = free_port()
    env["PORT"] = str(port)
    vidgate = _vidgate_command()
    topics = [SUBMITTED, *([RESERVED] if metered else [])]
    if metered:
        _grant(vidgate, env)
    with running("vidgate serve", [*vidgate, "serve"], env, port, log_path) as server:
        _sample(server)
        before = [count(topic) for topic in topics]
        _measure(outcome, server, load, args)
    after = [count(topic) for topic in topics]  # the server stopped: all it acknowledged is in
    assert outcome.load is not None
    assert outcome.warmup is not None
    accepted = outcome.warmup.count(202) + outcome.load.count(202)
    unanswered = outcome.warmup.unanswered + outcome.load.unanswered
    stored = [end - start for start, end in zip(before, after, strict=True)]
    checks = [_check_durable(n, accepted, unanswered) for n in stored]
    outcome.durable_ok = all(ok for ok, _ in checks)
    outcome.durable = "; ".join(
        f"{topic.split('.')[-1]}: {text}" for topic, (_, text) in zip(topics, checks, strict=True)
    )
    style = "green" if outcome.durable_ok else "bold red"
    console.print(f"durability: [{style}]{outcome.durable}[/{style}]")


def _grant(vidgate: list[str], env: dict[str, str]) -> None:
    """Meter the bootstrap key's tenant (the server is started right after)."""
    command = [*vidgate, "credits", "grant", TENANT, GRANT, "--note", "bench"]
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=120)


def _check_durable(stored: int, accepted: int, unanswered: int) -> tuple[bool, str]:
    """Every 202 has its event; extra events can only come from requests wrk abandoned."""
    if stored == accepted:
        return True, f"OK {stored} events = {accepted} x 202"
    if accepted < stored <= accepted + unanswered:
        return True, (
            f"OK {accepted} x 202 all stored; +{stored - accepted} events for requests "
            f"cut off in flight when the load stopped (≤ {unanswered} unanswered)"
        )
    if stored < accepted:
        return False, f"LOST {accepted - stored}: {accepted} x 202 but only {stored} events"
    return False, f"{stored} events for {accepted} x 202 and only {unanswered} unanswered"


def _sample(server: Server) -> None:
    status, body = post_once(f"{server.base_url}/v1/videos", BODY, HEADERS)
    if status != 202:
        raise SampleFailed(f"sample POST got {status}, not 202: {body[:500]!r}")
    job = json.loads(body)
    console.print(f"sample POST → 202 {job.get('id')} ({job.get('status')})")


def _measure(outcome: Outcome, server: Server, load: Load, args: argparse.Namespace) -> None:
    url = f"{server.base_url}/v1/videos"
    if args.warmup > 0:
        console.print(f"warm-up {args.warmup:g} s…")
        outcome.warmup = load(url, args.warmup)
    else:
        outcome.warmup = LoadResult("none", 0, 0, 0, {}, {}, {})
    console.print(f"measuring {args.duration:g} s…")
    meter = CpuMeter(server.process.pid)
    result = load(url, args.duration)
    outcome.load = result
    outcome.cpu = meter.stop(generator_s=result.generator_cpu_s)
    if server.process.poll() is not None:
        raise ServerFailed(f"{server.name} died under load:\n{server.log_tail()}")
    _print_detail(outcome)


def _print_detail(outcome: Outcome) -> None:
    r = outcome.load
    assert r is not None
    statuses = ", ".join(f"{n} x {code}" for code, n in sorted(r.statuses.items())) or "none"
    errors = ", ".join(f"{n} {name}" for name, n in r.errors.items() if n) or "none"
    lat = r.latency_us
    console.print(
        f"{r.ok_per_s:,.0f} req/s (2xx) over {r.duration_s:.2f} s · responses: {statuses} · "
        f"socket errors: {errors} · unanswered at stop: {r.unanswered}\n"
        f"latency ms: p50 {lat['p50'] / 1e3:.2f} · p90 {lat['p90'] / 1e3:.2f} · "
        f"p99 {lat['p99'] / 1e3:.2f} · p99.9 {lat['p99.9'] / 1e3:.2f} · max {lat['max'] / 1e3:.2f}"
        f"\nCPU cores busy: {_cpu_text(outcome.cpu)}"
    )


# processes and environment


def _clean_env() -> dict[str, str]:
    """This process's environment without anything that configures vidgate or uvicorn."""
    drop = ("VIDGATE_", "UVICORN_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    for name in ("HOST", "PORT", "WEB_CONCURRENCY"):
        env.pop(name, None)
    return env


def _vidgate_env(data_dir: Path) -> dict[str, str]:
    return {
        **_clean_env(),
        "VIDGATE_DATA_DIR": str(data_dir),
        "VIDGATE_BOOTSTRAP_API_KEY": API_KEY,
        "VIDGATE_RUN_WORKERS": "false",
        "HOST": HOST,
    }


def _vidgate_command() -> list[str]:
    for candidate in (ROOT / ".venv" / "bin" / "vidgate", Path(sys.executable).parent / "vidgate"):
        if candidate.exists():
            return [str(candidate)]
    return [sys.executable, "-m", "service.cli"]


# CPU accounting (Linux /proc): who was busy while we measured


class CpuMeter:
    """CPU time spent while measuring, in cores (1.0 = one core busy the whole time).

    `server` is the server process, `generator` the load generator (our reaped children),
    `postgres` every process named postgres, `kernel` kernel threads (e.g. the filesystem
    journal after fsyncs) plus interrupt time (loopback networking), and `other` the rest
    of the machine's busy time: anything above ~0.1 there means someone else's work shared
    the CPU with the run.
    """

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.t0, self.machine0, self.procs0 = time.monotonic(), _machine_cpu(), _processes()

    def stop(self, generator_s: float) -> dict[str, float]:
        elapsed = time.monotonic() - self.t0
        (busy0, irq0, total0), (busy1, irq1, total1) = self.machine0, _machine_cpu()
        procs1 = _processes()

        def spent(*kinds: str) -> float:
            return sum(
                cpu - self.procs0.get(pid, ("", 0.0))[1]
                for pid, (kind, cpu) in procs1.items()
                if kind in kinds
            )

        ncpu = os.cpu_count() or 1
        share = ncpu / (total1 - total0) if total1 > total0 else 0.0
        server0 = self.procs0.get(self.server_pid, ("", 0.0))[1]
        server = max(0.0, procs1.get(self.server_pid, ("", server0))[1] - server0)
        cores = {
            "server": server / elapsed,
            "generator": generator_s / elapsed,
            "postgres": spent("postgres") / elapsed,
            "kernel": spent("[kernel]") / elapsed + (irq1 - irq0) * share,
            "machine": (busy1 - busy0) * share,
        }
        cores["other"] = max(
            0.0,
            cores["machine"]
            - sum(cores[name] for name in ("server", "generator", "postgres", "kernel")),
        )
        return cores


PF_KTHREAD = 0x00200000


def _processes() -> dict[int, tuple[str, float]]:
    """pid → (kind, utime + stime in seconds) for every process we can read.

    The kind is the command name, or "[kernel]" for kernel threads.
    """
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            text = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        comm = text[text.index("(") + 1 : text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()  # fields[0] is the state, field 3 of stat(5)
        kind = "[kernel]" if int(fields[6]) & PF_KTHREAD else comm
        found[int(entry.name)] = (kind, (int(fields[11]) + int(fields[12])) / tick)
    return found


def _machine_cpu() -> tuple[int, int, int]:
    """(busy, of which irq + softirq, total) jiffies over all CPUs."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return 0, 0, 0
    values = [int(v) for v in first[1:9]]  # user nice system idle iowait irq softirq steal
    idle = values[3] + values[4]
    return sum(values) - idle, values[5] + values[6], sum(values)


def _wait_idle(max_wait: float) -> None:
    """Wait (a while) for other work to finish: it would share the CPU with the run."""
    deadline = time.monotonic() + max_wait
    waited = False
    while True:
        busy0, _, total0 = _machine_cpu()
        time.sleep(1.0)
        busy1, _, total1 = _machine_cpu()
        busy = (busy1 - busy0) / (total1 - total0) if total1 > total0 else 0.0
        if busy <= BUSY_WARNING:
            console.print(f"machine idle before the run ({busy:.0%} busy over 1 s)")
            return
        if time.monotonic() > deadline:
            console.print(
                f"[bold yellow]warning:[/bold yellow] the machine is still {busy:.0%} busy "
                f"after {max_wait:g} s: other processes share the CPU with this run (see the "
                "'other' CPU column) and lower its numbers"
            )
            return
        if not waited:
            console.print(
                f"the machine is {busy:.0%} busy with other work; waiting up to "
                f"{max_wait:g} s for it to calm down…"
            )
            waited = True


# the report


def _table(outcomes: list[Outcome], args: argparse.Namespace, tool: str) -> Table:
    ceiling = next((o.load for o in outcomes if o.key == "ceiling" and o.load), None)
    table = Table(
        title=f"Request throughput of one process · {tool} · {args.duration:g} s per run",
        caption="req/s counts 2xx responses · latency as seen by the load generator · CPU in "
        f"cores ({os.cpu_count()} in all) while measured: srv = the server process, gen = the "
        "load generator, pg = PostgreSQL, other = the rest but kernel threads and interrupts "
        "(! = other work shared the CPU during that run: its numbers are low, rerun on a quiet "
        "machine)",
    )
    table.add_column("run", no_wrap=True)
    for name in ("req/s", "% of ceiling", "goal", "p50 ms", "p90 ms", "p99 ms", "errors / non-2xx"):
        table.add_column(name, justify="right")
    for name in ("srv", "gen", "pg", "other"):
        table.add_column(f"{name} CPU", justify="right")
    table.add_column("202s stored", no_wrap=True)
    for o in outcomes:
        r = o.load
        if o.skipped or o.failed or r is None:
            what = "skipped" if o.skipped else "[bold red]FAILED[/bold red]"
            table.add_row(o.label, what, *(["—"] * 11))
            continue
        share = f"{r.ok_per_s / ceiling.ok_per_s:.0%}" if ceiling and ceiling.ok_per_s else "—"
        errors = f"{r.socket_errors} / {r.non_2xx}"
        durable = "n/a" if o.durable_ok is None else ("yes" if o.durable_ok else "NO")
        cpu = o.cpu or {}
        table.add_row(
            o.label,
            f"{r.ok_per_s:,.0f}",
            share,
            _goal(o.key, r.ok_per_s / ceiling.ok_per_s if ceiling and ceiling.ok_per_s else None),
            *(f"{r.latency_us[p] / 1e3:.2f}" for p in ("p50", "p90", "p99")),
            errors,
            *(_cores(cpu.get(name)) for name in ("server", "generator", "postgres")),
            _cores(cpu.get("other"), warn=0.1),
            durable,
        )
    return table


def _goal(key: str, share: float | None) -> str:
    """Issue 15's goal for the run, and whether this run met it."""
    goal = GOALS.get(key)
    if goal is None:
        return ""
    if share is None:
        return f"≥{goal:.0%}"
    met = "[green]✓[/green]" if share >= goal else "[red]✗[/red]"
    return f"≥{goal:.0%} {met}"


def _cpu_text(cpu: dict[str, float] | None) -> str:
    if not cpu:
        return "?"
    return (
        f"server {cpu['server']:.2f}, load generator {cpu['generator']:.2f}, "
        f"postgres {cpu['postgres']:.2f}, kernel {cpu['kernel']:.2f}, other {cpu['other']:.2f} "
        f"(machine {cpu['machine']:.2f} of {os.cpu_count()})"
    )


def _cores(value: float | None, warn: float | None = None) -> str:
    if value is None:
        return "?"
    text = f"{value:.2f}"
    return f"[bold yellow]{text} ![/bold yellow]" if warn is not None and value > warn else text


if __name__ == "__main__":
    sys.exit(main())
