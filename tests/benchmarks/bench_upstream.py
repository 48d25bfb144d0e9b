"""`make bench`, part 3: how fast vidgate ingests upstream webhooks, and what they save it.

Two measurements, each on SQLite and on PostgreSQL (a fresh schema per server; skipped, with
the reason, if PostgreSQL does not answer). Every server is `vidgate serve` in sandbox mode on
127.0.0.1 with a fresh data dir: the upstream emulators run in its process, on a fixed port so
the bench can read their request log (`GET /_requests`).

  ingest  `--jobs` jobs on wan-2.5-fast (a Replicate-only model) stay in flight (an hour of
          emulated latency, no polls, no emulator webhooks). Baseline: GET /healthz from the
          same httpx clients on the same server. Then signed Replicate `processing` webhooks
          with rising tqdm percentages (each one a new Progressed event), then the same
          webhooks replayed (each a duplicate: 200, nothing appended), `--clients` at a time.
          At the end the jobs' histories must hold exactly one Progressed per `accepted`.
  calls   `--per-model` jobs on each of six webhook routes (fal, Replicate, MiniMax, Luma,
          Kling, Sora) with the emulators' webhooks on (loss 0), then off (loss 1), and on
          three poll-only routes (Veo, Runway, Seedance): status calls per completed job (the
          gateway's histogram, its poll counter, the emulators' own log), completions by
          webhook vs poll, and the time from submit to completed.

    .venv/bin/python tests/benchmarks/bench_upstream.py [--jobs 20] [--requests 2000]
                                                         [--per-model 4] [--only sqlite,postgres]

See README.md next to this file for how to read the output.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from typing import Any

import httpx
from bench_deliveries import Meter
from bench_submit import DEFAULT_PG_URL, _wait_idle, console
from loadgen import _percentile
from rich.markup import escape
from rich.table import Table
from servers import PostgresUnavailable, ServerFailed
from upstream_gateway import (
    BenchFailed,
    Gateway,
    check_routes,
    job_events,
    metrics,
    ok_json,
    sandbox_gateway,
    submit,
)
from upstream_load import Load, ReplicateHooks, Samples, get_many, post_hooks, status_gets, total

from events.ids import parse_video_id

STORES = ("sqlite", "postgres")
PARTS = ("ingest", "calls")
STORE_LABELS = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
INGEST_ROUTE, INGEST_MODEL = "replicate", "wan-2.5-fast"
WEBHOOK_ROUTES = {
    "fal": "wan-2.6",
    "replicate": "wan-2.5-fast",
    "minimax": "hailuo-02",
    "luma": "luma-ray-2",
    "kling": "kling-2.5-turbo-pro",
    "sora": "sora-2",
}
POLL_ROUTES = {"veo": "veo-3.1-fast", "runway": "runway-gen4.5", "seedance": "seedance-1-lite"}
# Jobs that stay in flight while webhooks are posted: nothing else may move them.
IN_FLIGHT = {
    "VIDGATE_EMULATE_LATENCY": "3600",
    "VIDGATE_EMULATE_WEBHOOK_LOSS": "1",
    "VIDGATE_POLL_GRACE_MS": "3600000",
    "VIDGATE_POLL_CAP_MS": "3600000",
}
TERMINAL = ("completed", "failed", "canceled")
DISPATCH_TIMEOUT = 30.0
REQUEST_LOG_LIMIT = 20_000  # what service.sandbox.suite.RequestLog keeps
METRIC_TIMEOUT = 10.0  # after the last job ended, for the poller to observe its status calls


def _gateway(store: str, args: argparse.Namespace, knobs: dict[str, str]) -> Any:
    url = args.postgres_url if store == "postgres" else None
    return sandbox_gateway(url, knobs, console.print)


# measurement 1: webhook ingestion


@dataclass
class Phase:
    load: Load
    cpu: dict[str, float]  # cores busy while it ran (Meter)

    def server_ms(self) -> float:
        """Server CPU per request, in ms: independent of how fast the generator is."""
        n = self.load.sent
        return self.cpu.get("vidgate", 0.0) * self.load.elapsed / n * 1000 if n else 0.0


@dataclass
class Ingest:
    store: str
    jobs: int = 0
    per_job: int = 0
    idle: float | None = None  # server cores with the jobs in flight and nothing sent
    phases: dict[str, Phase] = field(default_factory=dict)  # baseline, progress, duplicates
    stored: int | None = None  # Progressed events in the jobs' histories
    skipped: str | None = None
    failed: str | None = None
    notes: list[str] = field(default_factory=list)

    def accepted(self) -> int:
        return sum(phase.load.outcomes["accepted"] for phase in self.phases.values())


def _ingest(o: Ingest, args: argparse.Namespace) -> None:
    o.jobs, o.per_job = args.jobs, args.requests // 2 // args.jobs
    with _gateway(o.store, args, IN_FLIGHT) as gw, gw.api() as api:
        check_routes(api, {INGEST_ROUTE: INGEST_MODEL})
        jobs = _dispatched(gw, api, [submit(api, INGEST_MODEL) for _ in range(args.jobs)])
        signer = ReplicateHooks(gw.secret_key)
        hooks = [
            signer.progress(job, upstream, percent, i)
            for percent in range(1, o.per_job + 1)
            for i, (job, upstream) in enumerate(jobs)
        ]
        o.idle = gw.settle()
        console.print(
            f"{args.jobs} jobs dispatched to the Replicate emulator; server idle at "
            f"{o.idle:.2f} cores with them in flight"
        )
        base, n, clients = gw.server.base_url, len(hooks), args.clients
        runs: dict[str, Callable[[], Awaitable[Load]]] = {
            "baseline": lambda: get_many(base, "/healthz", n, clients),
            "progress": lambda: post_hooks(base, hooks, signer, clients),
            "duplicates": lambda: post_hooks(base, hooks, signer, clients),  # the same, again
        }
        for name, run in runs.items():
            meter = Meter({"vidgate": gw.server.process.pid, "bench": os.getpid()})
            load = asyncio.run(run())
            o.phases[name] = Phase(load, meter.stop())
            gw.alive()
            _print_phase(name, o.phases[name])
            gw.settle()
        o.stored = _count_progressed(api, [f"video_{job.hex}" for job, _ in jobs], o)
        samples = metrics(api)
        o.notes += gw.log_problems()
        _check_ingest(o, samples, gw)


def _dispatched(gw: Gateway, api: httpx.Client, videos: list[str]) -> list[tuple[Any, str]]:
    """(job id, upstream id) of each video once its Dispatched event is there."""
    found: dict[str, str] = {}
    deadline = time.monotonic() + DISPATCH_TIMEOUT
    while len(found) < len(videos):
        for video in (v for v in videos if v not in found):
            for event in job_events(api, video):
                if event["type"] == "Dispatched":
                    found[video] = event["data"]["upstream_id"]
        gw.alive()
        if time.monotonic() > deadline:
            late = next(v for v in videos if v not in found)
            kinds = [e["type"] for e in job_events(api, late)]
            raise BenchFailed(
                f"{len(videos) - len(found)} of {len(videos)} jobs not dispatched after "
                f"{DISPATCH_TIMEOUT:g} s; {late} has {kinds}\n{gw.log_excerpt()}"
            )
        time.sleep(0.2)
    return [(parse_video_id(v), found[v]) for v in videos]


def _count_progressed(api: httpx.Client, videos: list[str], o: Ingest) -> int:
    progressed = [e for v in videos for e in job_events(api, v) if e["type"] == "Progressed"]
    sources = Counter(e["data"].get("source") for e in progressed)
    if set(sources) - {"webhook"}:
        o.notes.append(f"Progressed events not from webhooks: {dict(sources)}")
    return len(progressed)


def _check_ingest(o: Ingest, samples: Samples, gw: Gateway) -> None:
    """Every progress webhook accepted, every replay a duplicate, one event per acceptance."""
    problems = []
    for name, want in (("progress", "accepted"), ("duplicates", "duplicate")):
        load = o.phases[name].load
        if load.outcomes[want] != load.sent:
            problems.append(f"{name}: {dict(load.outcomes)} of {load.sent} (want all {want})")
            problems += load.errors
    if o.stored != o.accepted():
        problems.append(
            f"{o.stored} Progressed events in the histories for {o.accepted()} accepted webhooks"
        )
    for outcome in ("accepted", "duplicate"):
        counted = total(
            samples, "vidgate_upstream_webhooks_total", provider="replicate", outcome=outcome
        )
        answered = sum(phase.load.outcomes[outcome] for phase in o.phases.values())
        if counted != answered:
            o.notes.append(f"/metrics counts {counted:.0f} {outcome}, the answers {answered}")
    if problems:
        raise BenchFailed("\n".join([*problems, gw.log_excerpt()]))


def _print_phase(name: str, phase: Phase) -> None:
    load, cpu = phase.load, phase.cpu
    answers = ", ".join(f"{n} {k}" for k, n in load.outcomes.most_common())
    console.print(
        f"{name}: {load.sent} requests in {load.elapsed:.2f} s ({load.rate():,.0f}/s) · {answers}"
        f" · ms p50 {load.p(50):.1f} p99 {load.p(99):.1f} · CPU cores: server "
        f"{cpu['vidgate']:.2f} ({phase.server_ms():.2f} ms/request), generator {cpu['bench']:.2f}"
        f", postgres {cpu['postgres']:.2f}, other {cpu['other']:.2f}"
    )


# measurement 2: upstream status calls per completed job


@dataclass
class Calls:
    """Status calls and completions over some jobs (one route, or a row's routes)."""

    jobs: int = 0
    completed: int = 0
    hist_sum: float = 0.0  # vidgate_upstream_status_calls_per_job_sum
    hist_count: float = 0.0
    polls: float = 0.0  # vidgate_upstream_polls_total
    gets: int = 0  # status GETs in the emulators' log, before the job's Completed
    sources: Counter[str] = field(default_factory=Counter)  # Completed's source
    seconds: list[float] = field(default_factory=list)  # submit → Completed

    def add(self, other: Calls) -> None:
        self.jobs += other.jobs
        self.completed += other.completed
        self.hist_sum += other.hist_sum
        self.hist_count += other.hist_count
        self.polls += other.polls
        self.gets += other.gets
        self.sources += other.sources
        self.seconds = sorted(self.seconds + other.seconds)

    def per_job(self, value: float) -> float:
        return value / self.completed if self.completed else 0.0


@dataclass
class CallsOutcome:
    store: str
    rows: list[tuple[str, Calls]] = field(default_factory=list)
    skipped: str | None = None
    failed: str | None = None
    notes: list[str] = field(default_factory=list)


def _calls(o: CallsOutcome, args: argparse.Namespace) -> None:
    on = _calls_run(o, args, "0", {"webhook": WEBHOOK_ROUTES, "poll": POLL_ROUTES})
    off = _calls_run(o, args, "1", {"webhook": WEBHOOK_ROUTES})
    o.rows = [
        ("webhooks on", on["webhook"]),
        ("webhooks off", off["webhook"]),
        ("poll-only routes", on["poll"]),
    ]
    for label, c in o.rows:
        if c.hist_sum != c.polls:
            o.notes.append(
                f"{label}: the status-call histogram has {c.hist_sum:.0f} calls, the poll counter "
                f"{c.polls:.0f}: the histogram leaves out the poll that found the job ended "
                "(and polls after it)"
            )


def _calls_run(
    o: CallsOutcome, args: argparse.Namespace, loss: str, groups: dict[str, dict[str, str]]
) -> dict[str, Calls]:
    """One server with `VIDGATE_EMULATE_WEBHOOK_LOSS=loss`; a `Calls` per group of routes."""
    knobs = {
        "VIDGATE_EMULATE_LATENCY": f"{args.latency:g}",
        "VIDGATE_EMULATE_WEBHOOK_LOSS": loss,
        "VIDGATE_POLL_GRACE_MS": str(round(args.grace * 1000)),
        "VIDGATE_POLL_FIRST_MS": str(round(args.first * 1000)),
        "VIDGATE_POLL_CAP_MS": str(round(args.cap * 1000)),
    }
    routes = {route: model for group in groups.values() for route, model in group.items()}
    with _gateway(o.store, args, knobs) as gw, gw.api() as api:
        check_routes(api, routes)
        console.print(
            f"[bold]webhook loss {loss}[/bold]: {args.per_model} jobs on each of "
            f"{', '.join(routes.values())}"
        )
        videos: dict[str, list[str]] = {route: [] for route in routes}
        for _ in range(args.per_model):  # interleaved, as traffic would be
            for route, model in routes.items():
                videos[route].append(submit(api, model))
        samples = _wait_finished(gw, api, videos, args.timeout)
        log = ok_json(httpx.get(f"{gw.sandbox_url}/_requests", trust_env=False, timeout=30))
        if len(log["data"]) >= REQUEST_LOG_LIMIT:
            o.notes.append("the emulators' request log is full: GETs/job counts too few")
        per_route = {
            route: _route_calls(api, route, vids, samples, log["data"])
            for route, vids in videos.items()
        }
        o.notes += gw.log_problems()
    console.print(_route_table(per_route, loss))
    result = {}
    for name, group in groups.items():
        result[name] = Calls()
        for route in group:
            result[name].add(per_route[route])
    return result


def _wait_finished(
    gw: Gateway, api: httpx.Client, videos: dict[str, list[str]], timeout: float
) -> Samples:
    """Until every job ended and the poller observed its status calls; /metrics then."""
    n = sum(len(v) for v in videos.values())
    deadline = time.monotonic() + timeout
    ended_at = None
    while True:
        samples = metrics(api)
        ended = total(samples, "vidgate_jobs", status=TERMINAL)
        observed = total(samples, "vidgate_upstream_status_calls_per_job_count")
        if total(samples, "vidgate_jobs", status=("failed", "canceled")):
            raise BenchFailed(_unfinished(api, videos, "did not complete") + gw.log_excerpt())
        if ended >= n and ended_at is None:
            ended_at = time.monotonic()
        if ended >= n and observed >= n:
            return samples
        if ended_at is not None and time.monotonic() - ended_at > METRIC_TIMEOUT:
            raise BenchFailed(
                f"all {n} jobs ended but the status-call histogram observed "
                f"{observed:.0f} of them after {METRIC_TIMEOUT:g} s"
            )
        gw.alive()
        if time.monotonic() > deadline:
            raise BenchFailed(
                _unfinished(api, videos, f"not finished after {timeout:g} s") + gw.log_excerpt()
            )
        time.sleep(0.25)


def _unfinished(api: httpx.Client, videos: dict[str, list[str]], what: str) -> str:
    """The jobs that did not complete, with their histories: the evidence of a bug."""
    lines = []
    for route, vids in videos.items():
        for video in vids:
            job = ok_json(api.get(f"/v1/videos/{video}"))
            if job["status"] != "completed":
                history = [
                    (e["type"], e["data"].get("source"), e["data"].get("message"))
                    for e in job_events(api, video)
                ]
                lines.append(f"{route} {video} {job['status']} {job.get('error')}: {history}")
    return f"{len(lines)} jobs {what}:\n" + "\n".join(lines[:10]) + "\n"


def _route_calls(
    api: httpx.Client,
    route: str,
    videos: list[str],
    samples: Samples,
    log: list[dict[str, Any]],
) -> Calls:
    calls = Calls(jobs=len(videos))
    calls.hist_sum = total(samples, "vidgate_upstream_status_calls_per_job_sum", provider=route)
    calls.hist_count = total(samples, "vidgate_upstream_status_calls_per_job_count", provider=route)
    calls.polls = total(samples, "vidgate_upstream_polls_total", provider=route)
    for video in videos:
        history = {e["type"]: e for e in job_events(api, video)}
        done = history.get("Completed")
        if done is None:
            continue
        calls.completed += 1
        calls.sources[done["data"].get("source", "?")] += 1
        at = datetime.fromisoformat(done["occurred_at"]).timestamp()
        submitted = datetime.fromisoformat(history["Submitted"]["occurred_at"]).timestamp()
        calls.seconds.append(at - submitted)
        upstream = history["Dispatched"]["data"]["upstream_id"]
        calls.gets += status_gets(log, route, upstream, before=at)
    calls.seconds.sort()
    return calls


# the report


def _route_table(per_route: dict[str, Calls], loss: str) -> Table:
    table = Table(title=f"per route · webhook loss {loss}")
    table.add_column("route", no_wrap=True)
    for name in ("done", "hist/job", "polls/job", "GETs/job", "webhook", "poll", "p50 s", "p99 s"):
        table.add_column(name, justify="right")
    for route, c in per_route.items():
        table.add_row(route, *_calls_cells(c))
    return table


def _calls_cells(c: Calls) -> list[str]:
    hist = c.hist_sum / c.hist_count if c.hist_count else 0.0
    return [
        f"{c.completed}/{c.jobs}",
        f"{hist:.2f}",
        f"{c.per_job(c.polls):.2f}",
        f"{c.per_job(c.gets):.2f}",
        f"{c.per_job(c.sources['webhook']):.0%}",
        f"{c.per_job(c.sources['poll']):.0%}",
        f"{_percentile(c.seconds, 50):.2f}",
        f"{_percentile(c.seconds, 99):.2f}",
    ]


def _ingest_table(outcomes: list[Ingest], args: argparse.Namespace) -> Table:
    table = Table(
        title=f"webhook ingestion · {args.jobs} Replicate jobs in flight · {args.clients} httpx "
        "clients, one request in flight each",
        caption="/s: GET 200s (baseline), accepted, duplicates per second · % base: of the "
        "/healthz baseline on the same server · ms: latency at the client · CPU in cores "
        f"({os.cpu_count()} in all): srv = vidgate (with its emulators), gen = this process "
        "(the httpx clients), pg = PostgreSQL · srv ms/req = server CPU per request",
    )
    table.add_column("run", no_wrap=True)
    for name in (
        "requests",
        "/s",
        "% base",
        "p50 ms",
        "p99 ms",
        "srv CPU",
        "srv ms/req",
        "gen CPU",
        "pg CPU",
        "other CPU",
        "events",
        "goal",
    ):
        table.add_column(name, justify="right")
    labels = {
        "baseline": "GET /healthz",
        "progress": "progress webhooks",
        "duplicates": "duplicate webhooks",
    }
    counted = {"baseline": "ok", "progress": "accepted", "duplicates": "duplicate"}
    for o in outcomes:
        store = STORE_LABELS[o.store]
        if o.skipped or not o.phases:
            what = "skipped" if o.skipped else "[bold red]FAILED[/bold red]"
            table.add_row(f"webhooks · {store}", what, *(["—"] * 11))
            continue
        base = o.phases.get("baseline")
        for name, phase in o.phases.items():
            load, cpu = phase.load, phase.cpu
            rate = load.rate(counted[name])
            share = f"{rate / base.load.rate('ok'):.0%}" if base and base.load.rate("ok") else "—"
            stored = "—"
            if name == "duplicates" and o.stored is not None:
                same = "=" if o.stored == o.accepted() else "[red]≠[/red]"
                stored = f"{o.stored} {same} {o.accepted()}"
            other = cpu.get("other", 0.0)
            table.add_row(
                f"{labels[name]} · {store}",
                f"{load.sent:,}",
                f"{rate:,.0f}",
                share,
                f"{load.p(50):.1f}",
                f"{load.p(99):.1f}",
                f"{cpu['vidgate']:.2f}",
                f"{phase.server_ms():.2f}",
                f"{cpu['bench']:.2f}",
                f"{cpu['postgres']:.2f}",
                f"[bold yellow]{other:.2f} ![/bold yellow]" if other > 0.1 else f"{other:.2f}",
                stored,
                _ingest_goal(o.store, name, rate),
            )
    return table


# Issue 15: upstream webhook ingestion on PostgreSQL, accepted (appending) webhooks a second.
INGEST_GOAL = {("postgres", "progress"): 1500.0}


def _ingest_goal(store: str, phase: str, rate: float) -> str:
    goal = INGEST_GOAL.get((store, phase))
    if goal is None:
        return "—"
    met = "[green]✓[/green]" if rate >= goal else "[red]✗[/red]"
    return f"≥{goal:,.0f}/s {met}"


def _calls_table(outcomes: list[CallsOutcome], args: argparse.Namespace) -> Table:
    table = Table(
        title=f"upstream status calls per completed job · {args.per_model} jobs per route · "
        f"latency {args.latency:g} s, first poll {args.grace:g} s (webhook routes) / "
        f"{args.first:g} s (poll-only), cap {args.cap:g} s",
        caption="hist/job: vidgate_upstream_status_calls_per_job sum/count · polls/job: "
        "vidgate_upstream_polls_total per completed job · GETs/job: status GETs in the "
        "emulators' request log before the job's Completed (polls and webhook-hint fetches) · "
        "webhook/poll: the source of the Completed event · p50/p99: submit → Completed",
    )
    table.add_column("run", no_wrap=True)
    for name in ("done", "hist/job", "polls/job", "GETs/job", "webhook", "poll", "p50 s", "p99 s"):
        table.add_column(name, justify="right")
    for o in outcomes:
        store = STORE_LABELS[o.store]
        if o.skipped or not o.rows:
            what = "skipped" if o.skipped else "[bold red]FAILED[/bold red]"
            table.add_row(f"status calls · {store}", what, *(["—"] * 7))
            continue
        for label, calls in o.rows:
            table.add_row(f"{label} · {store}", *_calls_cells(calls))
    return table


# main


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    _header(args)
    ingests: list[Ingest] = []
    calls: list[CallsOutcome] = []
    unavailable: dict[str, str] = {}
    for store in args.only:
        for part in args.parts:
            console.rule(f"[bold]{part} · {STORE_LABELS[store]}")
            o: Ingest | CallsOutcome = Ingest(store) if part == "ingest" else CallsOutcome(store)
            (ingests if isinstance(o, Ingest) else calls).append(o)  # type: ignore[arg-type]
            if store in unavailable:
                o.skipped = unavailable[store]
                console.print(f"[yellow]SKIPPED:[/yellow] {escape(o.skipped)}")
                continue
            _wait_idle(args.idle_wait)
            try:
                _ingest(o, args) if isinstance(o, Ingest) else _calls(o, args)
            except PostgresUnavailable as reason:
                o.skipped = unavailable[store] = str(reason)
                console.print(f"[yellow]SKIPPED:[/yellow] {escape(o.skipped)}")
            except (ServerFailed, BenchFailed, httpx.HTTPError) as error:
                o.failed = str(error) or type(error).__name__
                console.print(f"[red]FAILED:[/red] {escape(o.failed)}")
            except Exception as error:  # a bug or a broken store: report it, go on
                o.failed = f"{type(error).__name__}: {error}"
                console.print_exception()
    console.print()
    if ingests:
        console.print(_ingest_table(ingests, args))
    if calls:
        console.print(_calls_table(calls, args))
    everything: list[Ingest | CallsOutcome] = [*ingests, *calls]
    for o in everything:
        what = "ingest" if isinstance(o, Ingest) else "calls"
        label = f"{what} · {STORE_LABELS[o.store]}"
        if o.skipped or o.failed:
            why = f"skipped: {o.skipped}" if o.skipped else f"FAILED: {o.failed}"
            console.print(f"{label} {escape(why.splitlines()[0])}", soft_wrap=True)
        for note in o.notes:
            console.print(f"{label}: {escape(note)}", soft_wrap=True)
    return 1 if any(o.failed for o in everything) else 0


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--jobs", type=int, default=20, help="ingest: Replicate jobs in flight")
    add(
        "--requests",
        type=int,
        default=2000,
        help="ingest: webhook POSTs, half progress and half replays (and as many GET /healthz)",
    )
    add("--clients", type=int, default=4, help="ingest: httpx clients, one request in flight each")
    add("--per-model", type=int, default=4, help="calls: jobs per route and run")
    add("--latency", type=float, default=3.0, help="calls: seconds until an upstream job ends")
    add("--grace", type=float, default=2.0, help="calls: first fallback poll on webhook routes (s)")
    add(
        "--first",
        type=float,
        default=None,
        help="calls: poll-only routes' earliest first poll and shortest gap (s; default: as "
        "--grace); their schedule follows the latency",
    )
    add("--cap", type=float, default=1.0, help="calls: longest gap between polls (s)")
    add("--timeout", type=float, default=60.0, help="calls: wait this long for the jobs to end")
    add("--only", default=",".join(STORES), help="stores: " + ",".join(STORES))
    add("--parts", default=",".join(PARTS), help="measurements: " + ",".join(PARTS))
    add(
        "--postgres-url",
        default=os.environ.get("VIDGATE_BENCH_DATABASE_URL") or DEFAULT_PG_URL,
        help=f"default: {DEFAULT_PG_URL}",
    )
    add(
        "--idle-wait",
        type=float,
        default=10.0,
        help="before each server, wait up to this long for the machine to be idle",
    )
    args = parser.parse_args(argv)
    args.only = _subset(parser, "--only", args.only, STORES)
    args.parts = _subset(parser, "--parts", args.parts, PARTS)
    args.first = args.grace if args.first is None else args.first
    per_job = args.requests // 2 // max(args.jobs, 1)
    if not 1 <= args.jobs <= 1000 or not 1 <= per_job <= 99:
        parser.error(
            "--jobs from 1 to 1000 and 2 to 198 --requests per job (a job's progress "
            "rises at most 99 times)"
        )
    if not 1 <= args.clients <= 64 or not 1 <= args.per_model <= 100:
        parser.error("--clients from 1 to 64, --per-model from 1 to 100")
    if min(args.latency, args.grace, args.first, args.cap) < 0.01 or args.timeout <= 0:
        parser.error("--latency, --grace, --first, --cap ≥ 0.01 s; --timeout > 0")
    return args


def _subset(
    parser: argparse.ArgumentParser, flag: str, value: str, known: tuple[str, ...]
) -> list[str]:
    chosen = [name.strip() for name in value.split(",") if name.strip()]
    if not chosen or set(chosen) - set(known):
        parser.error(f"{flag} takes {','.join(known)}; got {value!r}")
    return [name for name in known if name in chosen]


def _header(args: argparse.Namespace) -> None:
    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "?"

    console.print(
        f"[bold]vidgate upstream bench[/bold]: {os.cpu_count()} CPUs · Python "
        f"{platform.python_version()} · uvicorn {version('uvicorn')} · httpx {version('httpx')}"
        f" · eventsourcing {version('eventsourcing')}\n"
        f"ingest: {args.jobs} jobs x {args.requests // 2 // args.jobs} progress webhooks, then "
        f"replayed, {args.clients} clients · calls: {args.per_model} jobs per route, latency "
        f"{args.latency:g} s, grace {args.grace:g} s, first poll {args.first:g} s, cap "
        f"{args.cap:g} s"
    )


if __name__ == "__main__":
    sys.exit(main())
