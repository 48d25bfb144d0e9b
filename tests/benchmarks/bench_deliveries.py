"""`make bench`, part 2: how fast and how soon vidgate's webhook sender delivers `completed`.

Runs, one after another, each with its own webhook receiver (a bare ASGI app under uvicorn,
in its own process on 127.0.0.1, that answers 200 at once and appends one JSON line per
request to a file):

  ceiling   an httpx.AsyncClient in this process posts as many signed-size `video.completed`
            bodies straight to the receiver, 16 at a time (the size of a sender claim): the
            transport's limit, for comparison
  sqlite    `vidgate serve` with its workers (renderer, projections, sender), fresh data dir,
            one endpoint registered for `completed` at the receiver; N tiny jobs submitted as
            fast as a few connections can; wait until every job's `video.completed` arrived
  postgres  the same on PostgreSQL in a fresh schema (skipped if the server is unreachable)

Latency is from the job's `Completed` event (`occurred_at` in the payload) to the moment the
receiver saw the request; deliveries/s is over the window from the first to the last arrival.

    .venv/bin/python tests/benchmarks/bench_deliveries.py [--jobs 300] [--timeout 120]
                                                           [--only ceiling,sqlite,postgres]

See README.md next to this file for how to read the output.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
from bench_submit import (
    DEFAULT_PG_URL,
    HEADERS,
    _clean_env,
    _machine_cpu,
    _processes,
    _vidgate_command,
    _vidgate_env,
    _wait_idle,
    console,
)
from loadgen import _percentile
from rich.markup import escape
from rich.table import Table
from servers import (
    HOST,
    PostgresUnavailable,
    Server,
    ServerFailed,
    free_port,
    fresh_schema,
    running,
)

SCENARIOS = ("ceiling", "sqlite", "postgres")
LABELS = {
    "ceiling": "ceiling (httpx → rcv)",
    "sqlite": "vidgate · SQLite",
    "postgres": "vidgate · PostgreSQL",
}
JOB = {"prompt": "bench", "seconds": "1", "size": "32x32", "fps": "1"}  # one 32x32 frame
ENDPOINT_PATH = "/hooks/endpoint"
JOB_PATH = "/hooks/job"
CEILING_PATH = "/hooks/ceiling"
CEILING_CONCURRENCY = 16  # what service.webhooks.sender.Sender claims at a time (batch=16)
SAMPLE_TIMEOUT = 60.0
SETTLE_S = 1.0  # after the last expected arrival, listen this long for duplicates

Key = tuple[str, str]  # (receiver path, video_id): one expected delivery


# the receiver (runs as `python bench_deliveries.py receiver --port P --out FILE`)


class Receiver:
    """ASGI app: 200 to everything; a POST appends {t, path, id, body} to the file."""

    def __init__(self, out: Any) -> None:
        self.out = out

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        arrived = time.time()
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["method"] == "POST":
            headers = dict(scope["headers"])
            line = {
                "t": arrived,
                "path": scope["path"],
                "id": headers.get(b"webhook-id", b"").decode("latin-1"),
                "body": body.decode("utf-8", "replace"),
            }
            self.out.write(json.dumps(line, separators=(",", ":")) + "\n")
            self.out.flush()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")],
            }
        )
        await send({"type": "http.response.body", "body": b"ok"})


def _serve_receiver(port: int, out_path: str) -> int:
    import uvicorn

    with Path(out_path).open("a", encoding="utf-8") as out:
        # Same loop and HTTP parser as `vidgate serve` (uvloop, httptools); no access log:
        # the receiver is not under test and should cost as little as it can.
        uvicorn.run(
            Receiver(out),
            host=HOST,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
    return 0


@contextlib.contextmanager
def _receiver(tmp: Path) -> Iterator[tuple[Server, Path]]:
    port = free_port()
    out = tmp / "received.jsonl"
    out.touch()
    argv = [sys.executable, str(Path(__file__).resolve()), "receiver", "--port", str(port)]
    argv += ["--out", str(out)]
    with running("webhook receiver", argv, _clean_env(), port, tmp / "receiver.log") as server:
        yield server, out


class Tail:
    """The receiver's records, read incrementally (only complete lines)."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset, self._partial = path, 0, b""
        self.records: list[dict[str, Any]] = []

    def read(self) -> list[dict[str, Any]]:
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = f.read()
        self.offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            if line.strip():
                record = json.loads(line)
                try:
                    payload = json.loads(record["body"])
                except ValueError:
                    payload = None
                record["payload"] = payload if isinstance(payload, dict) else {}
                self.records.append(record)
        return self.records


def _key(record: dict[str, Any]) -> Key:
    return record["path"], str(record["payload"].get("video_id", ""))


# results


@dataclass
class Outcome:
    key: str
    expected: int = 0
    received: int = 0  # distinct expected deliveries that arrived
    duplicates: int = 0  # extra arrivals of a (path, webhook-id) already seen
    rate: float = 0.0  # deliveries/s, first to last arrival
    window_s: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)  # p50 p90 p99 max
    completed_rate: float | None = None  # Completed events/s of the same jobs (render pace)
    cpu: dict[str, float] | None = None
    skipped: str | None = None
    failed: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return LABELS[self.key]

    @property
    def missing(self) -> int:
        return self.expected - self.received


def _analyse(outcome: Outcome, records: list[dict[str, Any]], expected: set[Key]) -> None:
    """Rate, latency (arrival − occurred_at), duplicates and missing over `expected` keys."""
    first: dict[Key, dict[str, Any]] = {}
    seen: Counter[tuple[str, str]] = Counter()
    for record in records:
        key = _key(record)
        if key not in expected or record["payload"].get("type") != "video.completed":
            continue
        seen[record["path"], record["id"]] += 1
        first.setdefault(key, record)
    outcome.expected = len(expected)
    outcome.received = len(first)
    outcome.duplicates = sum(n - 1 for n in seen.values())
    arrivals = sorted(r["t"] for r in first.values())
    if len(arrivals) >= 2:
        outcome.window_s = arrivals[-1] - arrivals[0]
        outcome.rate = len(arrivals) / outcome.window_s if outcome.window_s > 0 else 0.0
    latencies = sorted(
        (r["t"] - _occurred(r["payload"])) * 1000 for r in first.values() if _occurred(r["payload"])
    )
    if latencies:
        outcome.latency_ms = {f"p{p}": _percentile(latencies, p) for p in (50, 90, 99)}
        outcome.latency_ms["max"] = latencies[-1]


def _occurred(payload: dict[str, Any]) -> float:
    try:
        return datetime.fromisoformat(payload["occurred_at"]).timestamp()
    except (KeyError, TypeError, ValueError):
        return 0.0


def _spread(values: list[float]) -> str:
    if not values:
        return "n/a"
    values = sorted(values)
    return (
        f"p50 {_percentile(values, 50):.0f} · p90 {_percentile(values, 90):.0f} · "
        f"max {values[-1]:.0f}"
    )


# CPU while measured (like bench_submit.CpuMeter, for several named processes)


class Meter:
    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.t0, self.machine0, self.procs0 = time.monotonic(), _machine_cpu(), _processes()

    def stop(self) -> dict[str, float]:
        elapsed = max(1e-9, time.monotonic() - self.t0)
        (busy0, irq0, total0), (busy1, irq1, total1) = self.machine0, _machine_cpu()
        procs1 = _processes()

        def used(pid: int) -> float:
            before = self.procs0.get(pid, ("", 0.0))[1]
            return max(0.0, procs1.get(pid, ("", before))[1] - before)

        def kind(*kinds: str) -> float:
            return sum(
                cpu - self.procs0.get(pid, ("", 0.0))[1]
                for pid, (k, cpu) in procs1.items()
                if k in kinds
            )

        share = (os.cpu_count() or 1) / (total1 - total0) if total1 > total0 else 0.0
        cores = {name: used(pid) / elapsed for name, pid in self.pids.items()}
        cores["postgres"] = kind("postgres") / elapsed
        cores["kernel"] = kind("[kernel]") / elapsed + (irq1 - irq0) * share
        cores["machine"] = (busy1 - busy0) * share
        named = sum(cores[name] for name in self.pids) + cores["postgres"] + cores["kernel"]
        cores["other"] = max(0.0, cores["machine"] - named)
        return cores


# the ceiling


async def _blast(url: str, count: int, concurrency: int) -> tuple[int, int]:
    """POST `count` signed `video.completed` bodies, `concurrency` at a time; (ok, failed)."""
    from service.webhooks.signing import sign

    key = secrets.token_bytes(32)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)
    ok = failed = 0
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)  # the sender's

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal ok, failed
        while not queue.empty():
            queue.get_nowait()
            msg_id = "msg_" + secrets.token_hex(16)
            vid = "video_" + secrets.token_hex(16)
            body = json.dumps(
                {
                    "type": "video.completed",
                    "video_id": vid,
                    "status": "completed",
                    "progress": 100,
                    "output_url": f"http://127.0.0.1:8000/v1/videos/{vid}/content",
                    "error": None,
                    "sequence": 5,
                    "occurred_at": datetime.now(UTC).isoformat(),  # the "event": now
                },
                separators=(",", ":"),
            ).encode()
            timestamp = int(time.time())
            headers = {
                "content-type": "application/json",
                "user-agent": "vidgate-webhooks/0.1",
                "webhook-id": msg_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(msg_id, timestamp, body, [key]),
            }
            try:
                response = await client.post(url, content=body, headers=headers)
                await response.aread()
            except httpx.HTTPError:
                failed += 1
            else:
                ok += 1 if response.status_code == 200 else 0
                failed += 0 if response.status_code == 200 else 1

    async with httpx.AsyncClient(limits=limits, trust_env=False, timeout=15.0) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return ok, failed


def _ceiling(outcome: Outcome, args: argparse.Namespace) -> None:
    count = args.jobs * (2 if args.job_webhooks else 1)
    with tempfile.TemporaryDirectory(prefix="vidgate-bench-") as tmp:
        with _receiver(Path(tmp)) as (receiver, out):
            url = receiver.base_url + CEILING_PATH
            asyncio.run(_blast(url, 50, args.ceiling_concurrency))  # warm-up, not counted
            tail = Tail(out)
            tail.read()
            start = len(tail.records)
            console.print(f"posting {count} bodies, {args.ceiling_concurrency} at a time…")
            meter = Meter({"client": os.getpid(), "receiver": receiver.process.pid})
            ok, failed = asyncio.run(_blast(url, count, args.ceiling_concurrency))
            outcome.cpu = meter.stop()
            time.sleep(SETTLE_S)
            records = tail.read()[start:]
        expected = {_key(r) for r in records if r["path"] == CEILING_PATH}
        _analyse(outcome, records, expected)
        outcome.expected = count  # what was sent, whether or not it arrived
        if failed or ok != count:
            outcome.notes.append(f"{ok} of {count} POSTs got a 200; {failed} failed")
    _print_detail(outcome)


# the real thing


@dataclass
class Submitted:
    video_ids: list[str] = field(default_factory=list)
    at: dict[str, float] = field(default_factory=dict)  # video_id → time.time() of the 202
    rejected: Counter[int] = field(default_factory=Counter)
    errors: int = 0
    window_s: float = 0.0


async def _submit_all(base_url: str, n: int, concurrency: int, body: dict[str, Any]) -> Submitted:
    result = Submitted()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            queue.get_nowait()
            try:
                response = await client.post("/v1/videos", json=body)
            except httpx.HTTPError:
                result.errors += 1
                continue
            if response.status_code == 202:
                vid = response.json()["id"]
                result.video_ids.append(vid)
                result.at[vid] = time.time()
            else:
                result.rejected[response.status_code] += 1

    started = time.monotonic()
    async with httpx.AsyncClient(
        base_url=base_url, headers=HEADERS, limits=limits, trust_env=False, timeout=30.0
    ) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    result.window_s = time.monotonic() - started
    return result


async def _attempts(base_url: str, video_ids: list[str]) -> list[dict[str, Any]]:
    """Every delivery of these videos, from the API (with its attempts)."""
    found: list[dict[str, Any]] = []
    sem = asyncio.Semaphore(8)
    async with httpx.AsyncClient(
        base_url=base_url, headers=HEADERS, trust_env=False, timeout=30.0
    ) as client:

        async def one(vid: str) -> None:
            async with sem:
                response = await client.get(f"/v1/videos/{vid}/deliveries")
            if response.status_code == 200:
                for row in response.json()["data"]:
                    found.append({**row, "video_id": vid})

        await asyncio.gather(*(one(vid) for vid in video_ids))
    return found


def _job_body(receiver: Server, args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = dict(JOB)
    if args.job_webhooks:
        body["webhook_url"] = receiver.base_url + JOB_PATH
        body["webhook_events"] = ["completed"]
    return body


def _targets(args: argparse.Namespace) -> tuple[str, ...]:
    return (ENDPOINT_PATH, JOB_PATH) if args.job_webhooks else (ENDPOINT_PATH,)


def _store_run(
    outcome: Outcome, args: argparse.Namespace, tmp: Path, store_env: dict[str, str]
) -> None:
    with _receiver(tmp) as (receiver, out):
        port = free_port()
        env = _vidgate_env(tmp / "var")
        env.update(store_env)
        env.update(
            PORT=str(port),
            VIDGATE_RUN_WORKERS="true",
            VIDGATE_ALLOWED_PRIVATE_NETWORKS="127.0.0.0/8",
        )
        if args.local_concurrency:
            env["VIDGATE_LOCAL_CONCURRENCY"] = str(args.local_concurrency)
        env.update(args.env)
        argv = [*_vidgate_command(), "serve"]
        with running("vidgate serve", argv, env, port, tmp / "server.log") as server:
            _measure_store(outcome, args, server, receiver, out)
        log = (tmp / "server.log").read_text(errors="replace")
        problems = sum(line.startswith("ERROR") or "Traceback" in line for line in log.splitlines())
        if "database is locked" in log:
            outcome.notes.append("the server log has 'database is locked'")
        if problems:
            outcome.notes.append(f"the server log has {problems} ERROR/Traceback lines")
    _print_detail(outcome)


def _measure_store(
    outcome: Outcome, args: argparse.Namespace, server: Server, receiver: Server, out: Path
) -> None:
    tail = Tail(out)
    targets = _targets(args)
    with httpx.Client(
        base_url=server.base_url, headers=HEADERS, trust_env=False, timeout=30.0
    ) as api:
        response = api.post(
            "/v1/webhook_endpoints",
            json={"url": receiver.base_url + ENDPOINT_PATH, "events": ["completed"]},
        )
        if response.status_code != 201:
            raise SampleFailed(f"registering the endpoint got {response.status_code}")
        response = api.post("/v1/videos", json=_job_body(receiver, args))
        if response.status_code != 202:
            raise SampleFailed(f"sample job got {response.status_code}: {response.text[:300]}")
        sample = response.json()["id"]
    want = {(path, sample) for path in targets}
    if not _wait(tail, want, server, time.monotonic() + SAMPLE_TIMEOUT):
        raise SampleFailed(
            f"the sample job's video.completed did not reach the receiver within "
            f"{SAMPLE_TIMEOUT:g} s:\n{server.log_tail()}"
        )
    console.print(f"sample job {sample} delivered to {len(targets)} target(s)")

    console.print(f"submitting {args.jobs} jobs over {args.submit_concurrency} connections…")
    pids = {"vidgate": server.process.pid, "receiver": receiver.process.pid, "bench": os.getpid()}
    meter = Meter(pids)
    submitted = asyncio.run(
        _submit_all(server.base_url, args.jobs, args.submit_concurrency, _job_body(receiver, args))
    )
    console.print(
        f"{len(submitted.video_ids)} x 202 in {submitted.window_s:.2f} s "
        f"({len(submitted.video_ids) / max(submitted.window_s, 1e-9):,.0f}/s)"
        + (f" · rejected {dict(submitted.rejected)}" if submitted.rejected else "")
        + (f" · {submitted.errors} errors" if submitted.errors else "")
    )
    if submitted.rejected or submitted.errors:
        outcome.notes.append(
            f"{sum(submitted.rejected.values()) + submitted.errors} submissions not accepted"
        )
    expected = {(path, vid) for vid in submitted.video_ids for path in targets}
    console.print(f"waiting (≤ {args.timeout:g} s) for {len(expected)} deliveries…")
    done = _wait(tail, expected, server, time.monotonic() + args.timeout)
    outcome.cpu = meter.stop()
    if not done:
        outcome.notes.append(f"timed out after {args.timeout:g} s")
    time.sleep(SETTLE_S)
    records = tail.read()
    _analyse(outcome, records, expected)
    outcome.expected = args.jobs * len(targets)  # rejected submissions count as missing

    # Where the time went, from the sender's own records (attempt start = the sender's clock).
    rows = asyncio.run(_attempts(server.base_url, submitted.video_ids))
    arrivals = {_key(r): r["t"] for r in reversed(records)}  # the first arrival wins
    occurred = {
        str(r["payload"].get("video_id")): _occurred(r["payload"])
        for r in records
        if r["payload"].get("type") == "video.completed"
    }
    queue_ms, wire_ms, retried = [], [], 0
    for row in rows:
        if row["event_type"] != "video.completed" or not row["attempts"]:
            continue
        path = ENDPOINT_PATH if row["endpoint_id"] else JOB_PATH
        at = row["attempts"][0]["at"]
        retried += len(row["attempts"]) > 1
        if row["video_id"] in occurred:
            queue_ms.append((at - occurred[row["video_id"]]) * 1000)
        if (path, row["video_id"]) in arrivals:
            wire_ms.append((arrivals[path, row["video_id"]] - at) * 1000)
    console.print(
        f"Completed → sender starts the POST (ms): {_spread(queue_ms)}\n"
        f"sender starts the POST → receiver (ms): {_spread(wire_ms)}"
        + (
            f"\n[yellow]{retried} deliveries needed more than one attempt[/yellow]"
            if retried
            else ""
        )
    )
    completions = sorted(set(occurred[v] for v in submitted.video_ids if v in occurred))
    if len(completions) >= 2 and completions[-1] > completions[0]:
        outcome.completed_rate = len(completions) / (completions[-1] - completions[0])
    render = sorted(
        (occurred[v] - submitted.at[v]) * 1000 for v in submitted.video_ids if v in occurred
    )
    console.print(f"202 → Completed (render queue and render, ms): {_spread(render)}")
    # Completions while the submissions were still coming in compete with them for the store
    # (SQLite: one writer at a time) and for the server's event loop and GIL.
    last_202 = max(submitted.at.values(), default=0.0)
    during, after = [], []
    for (_, vid), arrived in arrivals.items():
        if vid in occurred and vid in submitted.at:
            latency = (arrived - occurred[vid]) * 1000
            (during if occurred[vid] <= last_202 else after).append(latency)
    console.print(
        f"Completed → receiver (ms), completed while jobs were still being submitted "
        f"({len(during)}): {_spread(during)}; after the last 202 ({len(after)}): {_spread(after)}"
    )


def _wait(tail: Tail, expected: set[Key], server: Server, deadline: float) -> bool:
    """Until every expected (path, video_id) arrived, the deadline, or the server died."""
    while True:
        got = {_key(r) for r in tail.read() if r["payload"].get("type") == "video.completed"}
        if expected <= got:
            return True
        if server.process.poll() is not None:
            raise ServerFailed(f"{server.name} died:\n{server.log_tail()}")
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


class SampleFailed(RuntimeError):
    """The endpoint or the sample job did not work; nothing was measured."""


def _sqlite(outcome: Outcome, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="vidgate-bench-") as tmp:
        _store_run(outcome, args, Path(tmp), {})


def _postgres(outcome: Outcome, args: argparse.Namespace) -> None:
    try:
        with (
            fresh_schema(args.postgres_url, console.print) as schema,
            tempfile.TemporaryDirectory(prefix="vidgate-bench-") as tmp,
        ):
            env = {"VIDGATE_DATABASE_URL": args.postgres_url, "VIDGATE_DATABASE_SCHEMA": schema}
            _store_run(outcome, args, Path(tmp), env)
    except PostgresUnavailable as reason:
        outcome.skipped = str(reason)
        console.print(f"[yellow]SKIPPED:[/yellow] {escape(outcome.skipped)}")


# the report


def _print_detail(o: Outcome) -> None:
    lat = o.latency_ms
    latency = " · ".join(f"{k} {v:.1f}" for k, v in lat.items()) or "n/a"
    cpu = o.cpu or {}
    console.print(
        f"{o.received} of {o.expected} delivered · {o.rate:,.0f}/s over {o.window_s:.2f} s · "
        f"duplicates {o.duplicates} · missing {o.missing}\n"
        f"latency ms: {latency}\n"
        "CPU cores busy: "
        + ", ".join(f"{name} {cpu[name]:.2f}" for name in cpu if name != "machine")
        + f" (machine {cpu.get('machine', 0):.2f} of {os.cpu_count()})"
    )
    for note in o.notes:
        console.print(f"[yellow]note:[/yellow] {escape(note)}")


def _table(outcomes: list[Outcome], args: argparse.Namespace) -> Table:
    ceiling = next((o for o in outcomes if o.key == "ceiling" and o.rate), None)
    per_job = len(_targets(args))
    table = Table(
        title=f"webhook deliveries · {args.jobs} jobs x {per_job} video.completed · ms from the "
        "job's Completed event to the receiver",
        caption="ceiling: httpx.AsyncClient in the bench process, "
        f"{args.ceiling_concurrency} in flight, latency from building the request · /s: "
        "distinct deliveries over first → last arrival · Compl/s: the same jobs' Completed "
        f"events, first → last (the render pace: /s ≤ {per_job} x Compl/s) · CPU in cores "
        f"({os.cpu_count()} in all), first submission → last arrival: srv = vidgate (ceiling: "
        "the client), rcv = the receiver, ! = other work shared the CPU: rerun",
    )
    table.add_column("run", no_wrap=True)
    for name in ("got", "/s", "% ceil", "p50", "p90", "p99", "max", "dup", "miss"):
        table.add_column(name, justify="right")
    for name in ("Compl/s", "srv CPU", "rcv CPU", "pg CPU", "other CPU", "goal"):
        table.add_column(name, justify="right")
    for o in outcomes:
        if o.skipped or o.failed:
            what = "skipped" if o.skipped else "[bold red]FAILED[/bold red]"
            table.add_row(o.label, what, *(["—"] * 14))
            continue
        share = f"{o.rate / ceiling.rate:.0%}" if ceiling else "—"
        cpu = o.cpu or {}
        other = cpu.get("other")
        table.add_row(
            o.label,
            f"{o.received:,}",
            f"{o.rate:,.0f}",
            share,
            *(_ms(o.latency_ms.get(p)) for p in ("p50", "p90", "p99", "max")),
            f"[bold yellow]{o.duplicates}[/bold yellow]" if o.duplicates else "0",
            f"[bold red]{o.missing}[/bold red]" if o.missing else "0",
            f"{o.completed_rate:,.0f}" if o.completed_rate else "—",
            _cores(cpu.get("vidgate", cpu.get("client"))),
            *(_cores(cpu.get(name)) for name in ("receiver", "postgres")),
            "?"
            if other is None
            else (f"[bold yellow]{other:.2f} ![/bold yellow]" if other > 0.1 else f"{other:.2f}"),
            _goal(o),
        )
    return table


# Issue 15: client webhook deliveries ≥ 1,000/s with Completed → delivery p99 ≤ 250 ms.
GOAL_RATE, GOAL_P99_MS = 1000.0, 250.0


def _goal(o: Outcome) -> str:
    p99 = o.latency_ms.get("p99")
    if o.key == "ceiling" or p99 is None:
        return "—"
    met = o.rate >= GOAL_RATE and p99 <= GOAL_P99_MS
    mark = "[green]✓[/green]" if met else "[red]✗[/red]"
    return f"≥{GOAL_RATE / 1000:g}k/s p99≤{GOAL_P99_MS:.0f} {mark}"


def _cores(value: float | None) -> str:
    return "?" if value is None else f"{value:.2f}"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


# main


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["receiver"]:
        parser = argparse.ArgumentParser(prog="bench_deliveries.py receiver")
        parser.add_argument("receiver")
        parser.add_argument("--port", type=int, required=True)
        parser.add_argument("--out", required=True)
        sub = parser.parse_args(argv)
        return _serve_receiver(sub.port, sub.out)
    args = _parse(argv)
    _header(args)
    outcomes = []
    for key in args.only:
        console.rule(f"[bold]{LABELS[key]}")
        _wait_idle(args.idle_wait)
        outcome = Outcome(key)
        try:
            {"ceiling": _ceiling, "sqlite": _sqlite, "postgres": _postgres}[key](outcome, args)
        except (ServerFailed, SampleFailed, httpx.HTTPError) as error:
            outcome.failed = str(error) or type(error).__name__
            console.print(f"[red]FAILED:[/red] {escape(outcome.failed)}")
        except Exception as error:  # a bug or a broken store: report it, go on with the next
            outcome.failed = f"{type(error).__name__}: {error}"
            console.print_exception()
        outcomes.append(outcome)
    console.print()
    console.print(_table(outcomes, args))
    for o in outcomes:
        if o.skipped or o.failed:
            what = f"skipped: {o.skipped}" if o.skipped else f"FAILED: {o.failed}"
            console.print(f"{o.label} {escape(what.splitlines()[0])}", soft_wrap=True)
        for note in o.notes:
            console.print(f"{o.label}: {escape(note)}", soft_wrap=True)
    bad = [o for o in outcomes if o.failed or (not o.skipped and o.missing)]
    return 1 if bad else 0


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=300, help="jobs submitted per run")
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="wait at most this long for the deliveries"
    )
    parser.add_argument(
        "--submit-concurrency", type=int, default=8, help="connections submitting the jobs"
    )
    parser.add_argument(
        "--ceiling-concurrency",
        type=int,
        default=CEILING_CONCURRENCY,
        help="requests in flight in the ceiling run (default: 16, a sender claim)",
    )
    parser.add_argument(
        "--job-webhooks",
        action="store_true",
        help="also give every job a webhook_url (completed only): two deliveries per job",
    )
    parser.add_argument(
        "--local-concurrency",
        type=int,
        default=0,
        help="VIDGATE_LOCAL_CONCURRENCY for the server (default: the server's own, 2)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the vidgate server (repeatable), e.g. "
        "VIDGATE_FOLLOW_INTERVAL_MS=10",
    )
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
    args = parser.parse_args(argv)
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(only) - set(SCENARIOS))
    if unknown or not only:
        parser.error(f"--only takes {','.join(SCENARIOS)}; got {args.only!r}")
    args.only = [name for name in SCENARIOS if name in only]
    if any("=" not in item for item in args.env):
        parser.error("--env takes NAME=VALUE")
    args.env = dict(item.split("=", 1) for item in args.env)
    if not 1 <= args.jobs <= 100_000 or args.timeout <= 0:
        parser.error("--jobs from 1 to 100000, --timeout > 0")
    if args.submit_concurrency < 1 or args.ceiling_concurrency < 1:
        parser.error("--submit-concurrency ≥ 1, --ceiling-concurrency ≥ 1")
    if not 0 <= args.local_concurrency <= 64:
        parser.error("--local-concurrency from 1 to 64 (0: the server's default)")
    return args


def _header(args: argparse.Namespace) -> None:
    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "?"

    console.print(
        f"[bold]vidgate deliveries bench[/bold]: {os.cpu_count()} CPUs · Python "
        f"{platform.python_version()} · uvicorn {version('uvicorn')} · httpx {version('httpx')}"
        f" · eventsourcing {version('eventsourcing')}\n"
        f"{args.jobs} jobs {json.dumps(JOB, separators=(',', ':'))} over "
        f"{args.submit_concurrency} connections · endpoint for completed"
        + (" + per-job webhook_url" if args.job_webhooks else "")
        + f" · wait ≤ {args.timeout:g} s"
        + "".join(f" · {name}={value}" for name, value in args.env.items())
    )


if __name__ == "__main__":
    sys.exit(main())
