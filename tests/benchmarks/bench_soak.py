"""`make soak`: vidgate at half its end-to-end ceiling for 10 minutes: errors, leaks, idle CPU.

One `vidgate serve --sandbox` (its emulators in-process, short latencies) on a fresh store
(SQLite, or PostgreSQL in a fresh schema with `--store postgres`), a webhook endpoint for
`completed` and `failed` at a receiver process on 127.0.0.1, then:

  calibrate  `--calibrate` s of submits from a few connections, as fast as they go while fewer
             than `--backlog` jobs are unfinished: the jobs/s that reach their client webhook
             is this process's end-to-end ceiling; the soak rate is `--fraction` of it
  idle       the server's CPU over `--idle` s with nothing to do (before the soak)
  soak       `--minutes` of open-loop submits at that rate, round-robin over webhook routes
             (fal, Replicate), polled routes (Runway, Veo) and local-preview, with a status
             read of every 4th job; every 10 s the server's RSS, open FDs, threads and CPU
  drain      until every job's terminal webhook reached the receiver
  idle       the server's CPU over `--idle` s again (after the soak)

Exit status 1 if any request got a non-2xx answer or no answer, a job was lost (accepted but
never ended), failed (the emulators fail nothing), or its delivery is missing. The flatness
verdict (RSS, FDs, idle CPU against stated thresholds) is printed, not part of the status.

    .venv/bin/python tests/benchmarks/bench_soak.py [--minutes 10] [--store sqlite|postgres]

See README.md next to this file for how to read the output.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import platform
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
from bench_deliveries import Tail, _receiver
from bench_submit import (
    DEFAULT_PG_URL,
    HEADERS,
    _processes,
    _vidgate_command,
    _vidgate_env,
    _wait_idle,
    console,
)
from loadgen import _percentile
from rich.markup import escape
from rich.table import Table
from servers import HOST, PostgresUnavailable, Server, ServerFailed, free_port, running
from upstream_gateway import BenchFailed, Gateway, check_routes, metrics, sandbox_gateway
from upstream_load import total

# route → model: two upstream-webhook routes, two polled routes, and the built-in renderer
MIX = {
    "fal": "wan-2.6",
    "replicate": "wan-2.5-fast",
    "runway": "runway-gen4.5",
    "veo": "veo-3.1-fast",
    "local": "local-preview",
}
LOCAL_JOB = {"seconds": "1", "size": "32x32", "fps": "1"}  # one 32x32 frame
ENDPOINT_PATH = "/hooks/soak"
TERMINAL = {"video.completed", "video.failed"}
READ_EVERY = 4  # every 4th job also gets a GET /v1/videos/{id}, READ_AFTER s after its 202
READ_AFTER = 1.0
CONNECTIONS = 32  # the soak's client pool; open-loop: a slow server queues requests here
# Flat: the thresholds of the verdict (the README states them too).
RSS_GROWTH = 0.10  # over the soak's second half, relative to its middle
FD_SPREAD = 10  # last minute's FDs against the first minute's
# Idle CPU after may exceed idle CPU before by half a percent of a core plus a tenth of the
# reading before: the followers' polling keeps an idle server at ~10 % of a core, and
# readings of it vary by about that much from one 30 s window to the next.
IDLE_MARGIN, IDLE_SHARE = 0.005, 0.10


# the server's vital signs, from /proc


@dataclass
class Sample:
    t: float  # monotonic
    phase: str
    rss_mb: float
    fds: int
    threads: int
    cpu_s: float  # the server's utime + stime so far


def _sample(pid: int, phase: str) -> Sample:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return Sample(
        t=time.monotonic(),
        phase=phase,
        rss_mb=int(fields["VmRSS"].split()[0]) / 1024,
        fds=len(os.listdir(f"/proc/{pid}/fd")),
        threads=int(fields["Threads"]),
        cpu_s=(int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK"),
    )


class Sampler:
    """Samples the server every `every` s in a thread, tagged with the current phase."""

    def __init__(self, pid: int, every: float) -> None:
        self.pid, self.every, self.phase = pid, every, "start"
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def take(self) -> Sample:
        sample = _sample(self.pid, self.phase)
        self.samples.append(sample)
        return sample

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            with contextlib.suppress(OSError):  # the server is gone: the bench says why
                self.take()

    def of(self, phase: str) -> list[Sample]:
        return [s for s in self.samples if s.phase == phase]


def _idle_cores(gw: Gateway, seconds: float) -> dict[str, float]:
    """The server's (and PostgreSQL's) CPU in cores over `seconds` with no load."""
    gw.settle()
    pid = gw.server.process.pid
    before, procs0, t0 = _sample(pid, "idle").cpu_s, _processes(), time.monotonic()
    time.sleep(seconds)
    gw.alive()
    after, procs1, elapsed = _sample(pid, "idle").cpu_s, _processes(), time.monotonic() - t0
    pg = sum(
        cpu - procs0.get(p, ("", 0.0))[1] for p, (kind, cpu) in procs1.items() if kind == "postgres"
    )
    return {"server": (after - before) / elapsed, "postgres": pg / elapsed}


# the client side


@dataclass
class Traffic:
    """What the bench sent and got back."""

    submitted: dict[str, float] = field(default_factory=dict)  # video id → time of its 202
    routes: dict[str, str] = field(default_factory=dict)  # video id → route
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)  # non-2xx answers
    failures: Counter[str] = field(default_factory=Counter)  # no answer: exception name
    examples: list[str] = field(default_factory=list)  # the first few of either, for the note
    latencies_ms: list[float] = field(default_factory=list)  # of the submits
    max_lag_s: float = 0.0  # how far behind its schedule the open loop fell

    @property
    def errors(self) -> int:
        return sum(self.statuses.values()) + sum(self.failures.values())

    def note(self, what: str) -> None:
        if len(self.examples) < 5:
            self.examples.append(what)


def _body(model: str, n: int) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "prompt": f"soak {n % 4}"}  # a few distinct renders
    if model == MIX["local"]:
        body.update(LOCAL_JOB)
    return body


class Client:
    """Submits round-robin over MIX and reads some jobs back, counting every non-2xx."""

    def __init__(self, http: httpx.AsyncClient, traffic: Traffic) -> None:
        self.http, self.traffic = http, traffic
        self._mix = itertools.cycle(MIX.items())
        self._n = 0
        self._reads: set[asyncio.Task[None]] = set()

    async def submit(self) -> str | None:
        route, model = next(self._mix)
        self._n += 1
        n, started = self._n, time.monotonic()
        response = await self._request("POST", "/v1/videos", json=_body(model, n))
        if response is None:
            return None
        self.traffic.latencies_ms.append((time.monotonic() - started) * 1000)
        vid = str(response.json()["id"])
        self.traffic.submitted[vid] = time.time()
        self.traffic.routes[vid] = route
        if n % READ_EVERY == 0:
            task = asyncio.get_running_loop().create_task(self._read(vid))
            self._reads.add(task)
            task.add_done_callback(self._reads.discard)
        return vid

    async def _read(self, vid: str) -> None:
        await asyncio.sleep(READ_AFTER)
        await self._request("GET", f"/v1/videos/{vid}")

    async def finish(self) -> None:
        await asyncio.gather(*self._reads)

    async def _request(self, method: str, path: str, **kw: Any) -> httpx.Response | None:
        self.traffic.requests += 1
        try:
            response = await self.http.request(method, path, **kw)
        except httpx.HTTPError as error:
            self.traffic.failures[type(error).__name__] += 1
            self.traffic.note(f"{method} {path}: {type(error).__name__} {error}")
            return None
        if not 200 <= response.status_code < 300:
            self.traffic.statuses[response.status_code] += 1
            self.traffic.note(f"{method} {path}: {response.status_code} {response.text[:200]}")
            return None
        return response


@contextlib.asynccontextmanager
async def _client(server: Server, traffic: Traffic) -> Any:
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(
        base_url=server.base_url, headers=HEADERS, limits=limits, trust_env=False, timeout=30.0
    ) as http:
        client = Client(http, traffic)
        yield client
        await client.finish()


class Deliveries:
    """The receiver's terminal deliveries, per video (incremental reads of its file)."""

    def __init__(self, out: Path) -> None:
        self.tail = Tail(out)
        self._seen = 0
        self.at: dict[str, float] = {}  # video id → first terminal delivery's arrival
        self.types: dict[str, str] = {}  # video id → video.completed / video.failed
        self.ids: Counter[str] = Counter()  # webhook-id → arrivals (duplicates when > 1)

    def read(self) -> dict[str, float]:
        records = self.tail.read()
        for record in records[self._seen :]:
            kind = record["payload"].get("type")
            if record["path"] != ENDPOINT_PATH or kind not in TERMINAL:
                continue
            self.ids[record["id"]] += 1
            vid = str(record["payload"].get("video_id", ""))
            if vid not in self.at:
                self.at[vid], self.types[vid] = record["t"], kind
        self._seen = len(records)
        return self.at

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.ids.values())

    def between(self, t0: float, t1: float) -> int:
        return sum(t0 <= t < t1 for t in self.read().values())


# the phases


@dataclass
class Calibration:
    seconds: float
    submitted: int = 0
    burst_rate: float = 0.0  # 202/s until the backlog cap first held the submitters back
    completion_rate: float = 0.0  # terminal deliveries/s over the last two thirds
    drained_s: float = 0.0


async def _calibrate(
    gw: Gateway, deliveries: Deliveries, traffic: Traffic, args: argparse.Namespace
) -> Calibration:
    cal = Calibration(args.calibrate)
    start = time.time()
    end = start + args.calibrate
    burst_done: list[float] = []
    ended = [0]

    async def watch() -> None:  # one read of the receiver's file per 0.1 s, not per submit
        while time.time() < end:
            ended[0] = len(deliveries.read())
            await asyncio.sleep(0.1)

    async def submitter(client: Client) -> None:
        while time.time() < end:
            if len(traffic.submitted) - ended[0] >= args.backlog:
                if not burst_done:
                    burst_done.append(time.time())
                await asyncio.sleep(0.05)
                continue
            if await client.submit() is None:
                await asyncio.sleep(0.1)  # an error: counted; don't spin on it

    async with _client(gw.server, traffic) as client:
        submitters = (submitter(client) for _ in range(args.calibrate_connections))
        await asyncio.gather(watch(), *submitters)
    cal.submitted = len(traffic.submitted)
    until = burst_done[0] if burst_done else end  # the cap may never have been reached
    cal.burst_rate = (args.backlog if burst_done else cal.submitted) / max(until - start, 1e-9)
    warm = start + args.calibrate / 3  # the pipeline is full by then
    cal.completion_rate = deliveries.between(warm, end) / (end - warm)
    cal.drained_s = _drain(gw, deliveries, traffic, args.drain_timeout)
    return cal


def _drain(gw: Gateway, deliveries: Deliveries, traffic: Traffic, timeout: float) -> float:
    """Until every accepted job's terminal delivery arrived (or `timeout`); seconds waited."""
    started = time.monotonic()
    while set(traffic.submitted) - set(deliveries.read()):
        gw.alive()
        if time.monotonic() - started > timeout:
            break
        time.sleep(0.25)
    return time.monotonic() - started


async def _soak(
    gw: Gateway,
    deliveries: Deliveries,
    traffic: Traffic,
    sampler: Sampler,
    rate: float,
    seconds: float,
) -> None:
    """Open loop: submit i is due at start + i / rate, whatever the answers to earlier ones."""
    loop = asyncio.get_running_loop()
    pending: set[asyncio.Task[Any]] = set()
    async with _client(gw.server, traffic) as client:
        start = loop.time()
        next_report = start + sampler.every
        for i in itertools.count():
            due = start + i / rate
            if due - start >= seconds:
                break
            now = loop.time()
            if due > now:
                await asyncio.sleep(due - now)
            else:
                traffic.max_lag_s = max(traffic.max_lag_s, now - due)
            task = loop.create_task(client.submit())
            pending.add(task)
            task.add_done_callback(pending.discard)
            if loop.time() >= next_report:
                next_report += sampler.every
                _report_progress(gw, deliveries, traffic, sampler, loop.time() - start)
        await asyncio.gather(*pending)


def _report_progress(
    gw: Gateway, deliveries: Deliveries, traffic: Traffic, sampler: Sampler, elapsed: float
) -> None:
    gw.alive()
    delivered = deliveries.read()
    ended = sum(vid in delivered for vid in traffic.submitted)
    last = sampler.samples[-1] if sampler.samples else None
    vitals = (
        f" · RSS {last.rss_mb:.1f} MB · {last.fds} FDs · {last.threads} threads" if last else ""
    )
    console.print(
        f"{elapsed:6.0f} s: {len(traffic.submitted):,} accepted · {ended:,} ended · "
        f"backlog {len(traffic.submitted) - ended:,} · errors {traffic.errors}{vitals}"
    )


# the verdict


@dataclass
class Result:
    store: str
    calibration: Calibration | None = None
    rate: float = 0.0
    soak_s: float = 0.0
    traffic: Traffic = field(default_factory=Traffic)  # the soak's
    calibration_traffic: Traffic = field(default_factory=Traffic)
    ended: int = 0
    failed: int = 0
    lost: list[str] = field(default_factory=list)  # accepted, never ended (per the API)
    undelivered: list[str] = field(default_factory=list)  # ended, but no delivery arrived
    duplicates: int = 0
    upstream: dict[str, tuple[float, float]] = field(default_factory=dict)  # webhooks, polls
    drain_s: float = 0.0
    idle_before: dict[str, float] = field(default_factory=dict)
    idle_after: dict[str, float] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)
    skipped: str | None = None
    crashed: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def bad(self) -> bool:
        return bool(
            self.crashed
            or self.traffic.errors
            or self.calibration_traffic.errors
            or self.lost
            or self.undelivered
            or self.failed
        )


def _window(samples: list[Sample], first: bool, seconds: float) -> list[Sample]:
    if not samples:
        return []
    if first:
        return [s for s in samples if s.t - samples[0].t <= seconds]
    return [s for s in samples if samples[-1].t - s.t <= seconds]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _slope_mb_per_min(samples: list[Sample]) -> float:
    """Least-squares slope of RSS over time."""
    if len(samples) < 2:
        return 0.0
    ts = [(s.t - samples[0].t) / 60 for s in samples]
    mt, mr = _mean(ts), _mean([s.rss_mb for s in samples])
    var = sum((t - mt) ** 2 for t in ts)
    cov = sum((t - mt) * (s.rss_mb - mr) for t, s in zip(ts, samples, strict=True))
    return cov / var if var else 0.0


@dataclass
class Flatness:
    rss_first: float
    rss_last: float
    rss_mid: float  # at the middle of the soak (first sample of its second half)
    rss_growth: float  # last minute over the middle, relative
    slope_all: float
    slope_half: float
    fds_first: float
    fds_last: float
    threads_first: float
    threads_last: float
    window_s: float

    @property
    def rss_ok(self) -> bool:
        return self.rss_growth < RSS_GROWTH

    @property
    def fds_ok(self) -> bool:
        return abs(self.fds_last - self.fds_first) <= FD_SPREAD


def _flatness(samples: list[Sample]) -> Flatness | None:
    soak = [s for s in samples if s.phase == "soak"]
    if len(soak) < 3:
        return None
    span = soak[-1].t - soak[0].t
    window = min(60.0, span / 3)  # a minute; a third of a short development run
    first, last = _window(soak, True, window), _window(soak, False, window)
    half = [s for s in soak if s.t - soak[0].t >= span / 2]
    mid = half[0].rss_mb
    rss_last = _mean([s.rss_mb for s in last])
    return Flatness(
        rss_first=_mean([s.rss_mb for s in first]),
        rss_last=rss_last,
        rss_mid=mid,
        rss_growth=(rss_last - mid) / mid if mid else 0.0,
        slope_all=_slope_mb_per_min(soak),
        slope_half=_slope_mb_per_min(half),
        fds_first=_mean([s.fds for s in first]),
        fds_last=_mean([s.fds for s in last]),
        threads_first=_mean([s.threads for s in first]),
        threads_last=_mean([s.threads for s in last]),
        window_s=window,
    )


def _check_jobs(gw: Gateway, deliveries: Deliveries, result: Result) -> None:
    """Every accepted job must have ended, by its terminal delivery or (then it is missing)
    by the API's word; `failed` counts deliveries of video.failed."""
    delivered = deliveries.read()
    result.duplicates = deliveries.duplicates
    routes = {**result.calibration_traffic.routes, **result.traffic.routes}
    result.ended = sum(vid in delivered for vid in result.traffic.submitted)
    result.failed = sum(deliveries.types.get(vid) == "video.failed" for vid in routes)
    with gw.api() as api:
        for vid, route in routes.items():
            if vid in delivered:
                continue
            response = api.get(f"/v1/videos/{vid}")
            status = response.json().get("status") if response.status_code == 200 else None
            if status in ("completed", "failed", "canceled"):
                result.undelivered.append(f"{vid} ({route}, {status})")
            else:
                result.lost.append(f"{vid} ({route}, {status})")
        samples = metrics(api)
    for route in MIX:
        hooks = total(samples, "vidgate_upstream_webhooks_total", provider=route)
        polls = total(samples, "vidgate_upstream_polls_total", provider=route)
        result.upstream[route] = (hooks, polls)


# one run


def _run(result: Result, args: argparse.Namespace) -> None:
    knobs = {
        "VIDGATE_EMULATE_LATENCY": f"{args.latency:g}",
        # Webhook routes: the fallback poll comes after the job should have ended by webhook.
        "VIDGATE_POLL_GRACE_MS": str(round(max(10.0, 5 * args.latency) * 1000)),
        "VIDGATE_POLL_FIRST_MS": str(round(args.latency * 1000)),
        "VIDGATE_POLL_CAP_MS": "2000",
        "VIDGATE_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8",
    }
    url = args.postgres_url if args.store == "postgres" else None
    secret = secrets.token_urlsafe(32)
    with (
        tempfile.TemporaryDirectory(prefix="vidgate-soak-") as tmp,
        _receiver(Path(tmp)) as (receiver, out),
        _emulators(args, Path(tmp), {**knobs, "VIDGATE_SECRET_KEY": secret}) as emulators,
        sandbox_gateway(url, {**knobs, **emulators}, console.print, secret) as gw,
        Sampler(gw.server.process.pid, args.sample) as sampler,
    ):
        deliveries = Deliveries(out)
        with gw.api() as api:
            check_routes(api, MIX)
            response = api.post(
                "/v1/webhook_endpoints",
                json={"url": receiver.base_url + ENDPOINT_PATH, "events": ["completed", "failed"]},
            )
            if response.status_code != 201:
                raise BenchFailed(f"registering the endpoint → {response.status_code}")
        try:
            _phases(gw, deliveries, sampler, result, args)
        finally:
            result.samples = list(sampler.samples)
            result.notes += gw.log_problems()


@contextlib.contextmanager
def _emulators(
    args: argparse.Namespace, tmp: Path, knobs: dict[str, str]
) -> Iterator[dict[str, str]]:
    """With `--emulators process`: `vidgate emulate` on its own, and the variable that points
    the gateway at it (so the server's RSS is the gateway's alone); else nothing."""
    if args.emulators == "in-process":
        yield {}
        return
    port = free_port()
    env = {**_vidgate_env(tmp / "emulators"), **knobs}
    argv = [*_vidgate_command(), "emulate", "--port", str(port)]
    with running("vidgate emulate", argv, env, port, tmp / "emulators.log", ready_path="/"):
        yield {"VIDGATE_SANDBOX_URL": f"http://{HOST}:{port}"}


def _phases(
    gw: Gateway, deliveries: Deliveries, sampler: Sampler, result: Result, args: argparse.Namespace
) -> None:
    traffic = result.traffic
    if args.rate:
        result.rate = args.rate
        console.print(f"rate given: {args.rate:g} jobs/s (no calibration)")
    else:
        sampler.phase = "calibrate"
        console.print(
            f"[bold]calibrate[/bold]: {args.calibrate:g} s from {args.calibrate_connections} "
            f"connections, at most {args.backlog} jobs unfinished…"
        )
        cal = asyncio.run(_calibrate(gw, deliveries, result.calibration_traffic, args))
        result.calibration = cal
        result.rate = cal.completion_rate * args.fraction
        console.print(
            f"request path: {cal.burst_rate:,.0f} submits/s from {args.calibrate_connections} "
            f"connections while the workers run · end to end: {cal.completion_rate:.1f} "
            f"jobs/s reached their client webhook (drained in {cal.drained_s:.1f} s) → soak "
            f"at {args.fraction:g} x "
            f"{cal.completion_rate:.1f} = {result.rate:.1f} jobs/s"
        )
        if result.rate <= 0:
            raise BenchFailed("calibration measured no completions: nothing to soak at")
    sampler.phase = "idle-before"
    console.print(f"[bold]idle[/bold]: {args.idle:g} s…")
    result.idle_before = _idle_cores(gw, args.idle)
    console.print(f"idle CPU before: {_idle_text(result.idle_before)}")

    sampler.phase = "soak"
    result.soak_s = args.minutes * 60
    console.print(f"[bold]soak[/bold]: {args.minutes:g} min at {result.rate:.1f} jobs/s…")
    sampler.take()
    asyncio.run(_soak(gw, deliveries, traffic, sampler, result.rate, result.soak_s))
    sampler.take()

    sampler.phase = "drain"
    backlog = len(set(traffic.submitted) - set(deliveries.read()))
    console.print(f"[bold]drain[/bold]: {backlog} jobs not ended yet…")
    result.drain_s = _drain(gw, deliveries, traffic, args.drain_timeout)
    _check_jobs(gw, deliveries, result)

    sampler.phase = "idle-after"
    console.print(f"[bold]idle[/bold]: {args.idle:g} s…")
    result.idle_after = _idle_cores(gw, args.idle)
    console.print(f"idle CPU after: {_idle_text(result.idle_after)}")
    sampler.take()


def _idle_text(cores: dict[str, float]) -> str:
    return " · ".join(f"{name} {value * 100:.2f} % of a core" for name, value in cores.items())


# the report


def _report(result: Result, args: argparse.Namespace) -> None:
    t = result.traffic
    flat = _flatness(result.samples)
    table = Table(title=f"soak · {result.store} · {args.minutes:g} min at {result.rate:.1f} jobs/s")
    table.add_column("what", no_wrap=True)
    table.add_column("value", justify="right")
    table.add_column("verdict")

    def ok(good: bool, text: str = "") -> str:
        return ("[green]ok[/green]" if good else "[bold red]NO[/bold red]") + (
            f" ({text})" if text else ""
        )

    cal = result.calibration
    if cal:
        table.add_row(
            "submits/s while calibrating",
            f"{cal.burst_rate:,.0f}",
            f"{args.calibrate_connections} connections, the workers busy in the same process",
        )
        table.add_row("end-to-end ceiling (calibration)", f"{cal.completion_rate:.1f} jobs/s", "")
    why = f"{args.fraction:g} x the ceiling" if cal else "given (--rate)"
    table.add_row("soak rate", f"{result.rate:.1f} jobs/s", why)
    table.add_row("requests", f"{t.requests:,}", "")
    detail = ", ".join(
        [f"{n} x {code}" for code, n in sorted(t.statuses.items())]
        + [f"{n} x {name}" for name, n in sorted(t.failures.items())]
    )
    table.add_row("errors (non-2xx or no answer)", f"{t.errors}", ok(not t.errors, detail))
    c = result.calibration_traffic
    if c.requests:
        table.add_row(
            "errors while calibrating", f"{c.errors} of {c.requests:,} requests", ok(not c.errors)
        )
    latencies = sorted(t.latencies_ms)
    if latencies:
        table.add_row(
            "submit latency p50 / p99 / max",
            f"{_percentile(latencies, 50):.1f} / {_percentile(latencies, 99):.1f} / "
            f"{latencies[-1]:.0f} ms",
            f"open loop fell {t.max_lag_s * 1000:.0f} ms behind at most",
        )
    table.add_row(
        "jobs accepted",
        f"{len(t.submitted):,}",
        f"+ {len(c.submitted):,} while calibrating" if c.submitted else "",
    )
    table.add_row("jobs ended (terminal delivery)", f"{result.ended:,}", "")
    table.add_row("jobs failed (all runs)", f"{result.failed}", ok(not result.failed))
    table.add_row("jobs lost (all runs)", f"{len(result.lost)}", ok(not result.lost))
    table.add_row(
        "deliveries missing / duplicated",
        f"{len(result.undelivered)} / {result.duplicates}",
        ok(not result.undelivered),
    )
    if result.upstream:
        table.add_row(
            "upstream webhooks / polls (all runs)",
            ", ".join(f"{r} {h:,.0f}/{p:,.0f}" for r, (h, p) in result.upstream.items()),
            "",
        )
    table.add_row("drain after the soak", f"{result.drain_s:.1f} s", "")
    if flat:
        w = f"{flat.window_s:.0f} s"
        table.add_row(
            f"RSS first {w} → last {w}",
            f"{flat.rss_first:.1f} → {flat.rss_last:.1f} MB",
            f"slope {flat.slope_all:+.2f} MB/min over the soak",
        )
        table.add_row(
            "RSS growth over the second half",
            f"{flat.rss_mid:.1f} → {flat.rss_last:.1f} MB ({flat.rss_growth:+.1%})",
            ok(flat.rss_ok, f"< {RSS_GROWTH:.0%}; slope {flat.slope_half:+.2f} MB/min"),
        )
        table.add_row(
            f"open FDs first {w} → last {w}",
            f"{flat.fds_first:.0f} → {flat.fds_last:.0f}",
            ok(flat.fds_ok, f"within ±{FD_SPREAD}"),
        )
        table.add_row(
            f"threads first {w} → last {w}",
            f"{flat.threads_first:.0f} → {flat.threads_last:.0f}",
            "",
        )
    if result.idle_before and result.idle_after:
        before, after = result.idle_before["server"], result.idle_after["server"]
        table.add_row(
            f"idle server CPU before → after ({args.idle:g} s each)",
            f"{before * 100:.2f} → {after * 100:.2f} % of a core",
            ok(
                after <= before * (1 + IDLE_SHARE) + IDLE_MARGIN,
                f"after ≤ before + {IDLE_SHARE:.0%} of it + {IDLE_MARGIN * 100:g} % of a core",
            ),
        )
        if result.store == "postgres":
            table.add_row(
                "idle CPU of every postgres process",
                f"{result.idle_before['postgres'] * 100:.2f} → "
                f"{result.idle_after['postgres'] * 100:.2f} % of a core",
                "",
            )
    soak = [s for s in result.samples if s.phase == "soak"]
    if len(soak) >= 2:
        cores = (soak[-1].cpu_s - soak[0].cpu_s) / max(soak[-1].t - soak[0].t, 1e-9)
        table.add_row("server CPU during the soak", f"{cores:.2f} cores", "")
    console.print(table)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    console.print(f"load average at the end: {load} ({os.cpu_count()} CPUs)")
    for what in c.examples + t.examples:
        console.print(f"[red]error:[/red] {escape(what)}", soft_wrap=True)
    for what, jobs in (("lost", result.lost), ("undelivered", result.undelivered)):
        if jobs:
            console.print(f"[red]{what}:[/red] {escape(', '.join(jobs[:10]))}", soft_wrap=True)
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {escape(note)}", soft_wrap=True)
    console.print(_samples_table(result.samples))


def _samples_table(samples: list[Sample]) -> Table:
    """Every sample: the raw series behind the verdict."""
    table = Table(title="the server every sample (soak: every --sample s)")
    for name in ("t s", "phase", "RSS MB", "FDs", "threads", "CPU cores"):
        table.add_column(name, justify="right")
    t0 = samples[0].t if samples else 0.0
    for before, s in zip([None, *samples], samples, strict=False):
        cores = (s.cpu_s - before.cpu_s) / (s.t - before.t) if before and s.t > before.t else None
        table.add_row(
            f"{s.t - t0:.0f}",
            s.phase,
            f"{s.rss_mb:.1f}",
            str(s.fds),
            str(s.threads),
            "—" if cores is None else f"{cores:.2f}",
        )
    return table


# main


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    _header(args)
    _wait_idle(args.idle_wait)
    result = Result(args.store)
    try:
        _run(result, args)
    except PostgresUnavailable as reason:
        result.skipped = str(reason)
        console.print(f"[yellow]SKIPPED:[/yellow] {escape(result.skipped)}")
        return 0
    except (ServerFailed, BenchFailed, httpx.HTTPError) as error:
        result.crashed = str(error) or type(error).__name__
        console.print(f"[red]FAILED:[/red] {escape(result.crashed)}")
    _report(result, args)
    return 1 if result.bad else 0


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the soak")
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("VIDGATE_BENCH_DATABASE_URL") or DEFAULT_PG_URL,
        help=f"default: {DEFAULT_PG_URL}",
    )
    parser.add_argument(
        "--latency", type=float, default=1.0, help="VIDGATE_EMULATE_LATENCY: an upstream job's s"
    )
    parser.add_argument(
        "--emulators",
        choices=("in-process", "process"),
        default="in-process",
        help="where the upstream emulators run: in the server (`serve --sandbox`) or in their "
        "own `vidgate emulate` process (the server's RSS is then the gateway's alone)",
    )
    parser.add_argument("--calibrate", type=float, default=30.0, help="seconds of calibration")
    parser.add_argument(
        "--calibrate-connections", type=int, default=4, help="submitting connections"
    )
    parser.add_argument(
        "--backlog", type=int, default=300, help="most unfinished jobs while calibrating"
    )
    parser.add_argument(
        "--fraction", type=float, default=0.5, help="soak rate as a share of the ceiling"
    )
    parser.add_argument("--rate", type=float, default=0.0, help="jobs/s: skip the calibration")
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of each idle reading")
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between samples")
    parser.add_argument(
        "--drain-timeout", type=float, default=300.0, help="wait at most this long for a drain"
    )
    parser.add_argument(
        "--idle-wait",
        type=float,
        default=60.0,
        help="first wait up to this many seconds for the machine to be idle",
    )
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.calibrate <= 0 or args.idle <= 0 or args.sample <= 0:
        parser.error("--minutes, --calibrate, --idle and --sample must be > 0")
    if not 0 < args.fraction <= 1 or args.rate < 0 or args.backlog < 1:
        parser.error("--fraction in (0, 1], --rate ≥ 0, --backlog ≥ 1")
    return args


def _header(args: argparse.Namespace) -> None:
    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "?"

    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    console.print(
        f"[bold]vidgate soak[/bold]: {os.cpu_count()} CPUs (load {load}) · Python "
        f"{platform.python_version()} · uvicorn {version('uvicorn')} · eventsourcing "
        f"{version('eventsourcing')}\n{args.store} · {args.minutes:g} min · mix "
        + ", ".join(f"{model} ({route})" for route, model in MIX.items())
        + f" · emulators {args.emulators}, latency {args.latency:g} s"
        + f" · a sample every {args.sample:g} s"
    )


if __name__ == "__main__":
    sys.exit(main())
