"""Slow clients and waiting requests against one `vidgate serve` (issue 18, item 7).

Two measurements, each on this tree ("after") and, beside it, on `--baseline` (a commit
checked out in a temporary git worktree: "before"), in the same run:

1. **long-polls**: `--polls` NovaKit long-polls (`GET /api/v1/jobs/{id}?poll=true&timeout=120`)
   held open on jobs that don't change (no workers): the server's CPU over `--measure`
   seconds while they wait, then the latency of `--gets` sequential `GET /v1/videos/{id}`
   from another client while they still wait, beside the same with no poll held.
2. **slow headers**: `--slow` connections that send a request line and then a header line
   every 2 s, never ending the headers: how they were answered (503 at once beyond the
   connection cap, 408 at the header timeout) or still held after `--hold` seconds, and
   the latency of `GET /healthz` meanwhile.

    .venv/bin/python tests/benchmarks/bench_slow_clients.py [--polls 1000] [--slow 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.benchmarks.servers import HOST, Server, free_port, running

ROOT = Path(__file__).resolve().parents[2]
KEY = "vg_bench_key_0001"
AUTH = {"Authorization": f"Bearer {KEY}"}
TINY = {"model": "local-preview", "prompt": "bench", "seconds": "1", "size": "160x90"}
BASELINE = "9313322"  # main before the header guard and the JobWatch


@contextlib.contextmanager
def tree(rev: str | None) -> Iterator[Path]:
    """This checkout, or `rev` in a temporary worktree (removed afterwards)."""
    if rev is None:
        yield ROOT
        return
    path = Path(tempfile.mkdtemp(prefix="vidgate-baseline-"))
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(path), rev], check=True
    )
    try:
        yield path
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], check=False
        )


@contextlib.contextmanager
def server(code: Path, tmp: Path, **env: str) -> Iterator[Server]:
    """`vidgate serve` from `code` (its `service` package comes first on the path)."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("VIDGATE_", "UVICORN"))}
    environ |= {
        "VIDGATE_DATA_DIR": str(tmp / f"var-{port}"),
        "VIDGATE_BOOTSTRAP_API_KEY": KEY,
        "VIDGATE_RUN_WORKERS": "false",
        "HOST": HOST,
        "PORT": str(port),
    } | env
    # `-c`, not `-m`: `-m` would put the current directory (this tree) first on the path.
    run = f"import sys; sys.path.insert(0, {str(code)!r}); from service.cli import main; main()"
    argv = [sys.executable, "-c", run, "serve"]
    with running("vidgate", argv, environ, port, tmp / f"serve-{port}.log") as srv:
        yield srv


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def hold_long_polls(base: str, job: str, count: int) -> list[asyncio.StreamWriter]:
    port = int(base.rsplit(":", 1)[1])
    request = (
        f"GET /api/v1/jobs/{job}?poll=true&timeout=120 HTTP/1.1\r\nHost: vidgate\r\n"
        f"Authorization: Bearer {KEY}\r\n\r\n"
    ).encode()
    writers = []
    for _ in range(count):
        _, writer = await asyncio.open_connection(HOST, port)
        writer.write(request)
        writers.append(writer)
    return writers


async def latencies(base: str, path: str, count: int) -> list[float]:
    """Milliseconds per answered `GET path`; any other status is counted in `refused`."""
    async with httpx.AsyncClient(base_url=base, headers=AUTH, timeout=60) as http:
        times = []
        for _ in range(count):
            start = time.perf_counter()
            status = (await http.get(path)).status_code
            if status == 200:
                times.append((time.perf_counter() - start) * 1000)
            else:
                refused[status] = refused.get(status, 0) + 1
        return times


refused: dict[int, int] = {}


def spread(times: list[float]) -> str:
    others = " · ".join(f"{n} x {status}" for status, n in sorted(refused.items()))
    refused.clear()
    if len(times) < 2:
        return f"{len(times)} x 200 · {others}"
    cuts = statistics.quantiles(times, n=100)
    told = f"p50 {cuts[49]:.1f} ms · p99 {cuts[98]:.1f} ms"
    return f"{told} · {others}" if others else told


async def long_polls(srv: Server, args: argparse.Namespace) -> str:
    base = srv.base_url
    async with httpx.AsyncClient(base_url=base, headers=AUTH, timeout=60) as http:
        video = (await http.post("/v1/videos", json=TINY)).json()["id"]
    path = f"/v1/videos/{video}"
    quiet = spread(await latencies(base, path, args.gets))
    writers = await hold_long_polls(base, "job_" + video.removeprefix("video_"), args.polls)
    await asyncio.sleep(3)  # let every poll reach its wait
    before = cpu_seconds(srv.process.pid)
    await asyncio.sleep(args.measure)
    cores = (cpu_seconds(srv.process.pid) - before) / args.measure
    held = spread(await latencies(base, path, args.gets))
    for writer in writers:
        writer.close()
    return (
        f"{args.polls} long-polls held: server CPU {cores:.2f} cores · other GETs {held} "
        f"(none held: {quiet})"
    )


async def slow_one(port: int, hold: float) -> str:
    try:
        reader, writer = await asyncio.open_connection(HOST, port)
    except OSError:
        return "refused"
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: vidgate\r\n")
    deadline = time.monotonic() + hold
    try:
        while time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                answer = await asyncio.wait_for(reader.read(64), 2.0)
                return answer.split(b" ")[1].decode() if answer else "closed"
            writer.write(b"X-Slow: 1\r\n")
        return "held"
    except (OSError, IndexError):
        return "closed"
    finally:
        writer.close()


async def slow_headers(srv: Server, args: argparse.Namespace) -> str:
    port = int(srv.base_url.rsplit(":", 1)[1])
    tasks = []
    for start in range(0, args.slow, 500):  # in batches: the listen backlog is 2048
        tasks += [
            asyncio.create_task(slow_one(port, args.hold))
            for _ in range(min(500, args.slow - start))
        ]
        await asyncio.sleep(0.05)
    meanwhile = spread(await latencies(srv.base_url, "/healthz", 50))
    await asyncio.sleep(12)  # past the default 10 s header timeout
    later = spread(await latencies(srv.base_url, "/healthz", 50))
    outcomes = await asyncio.gather(*tasks)
    counts = {outcome: outcomes.count(outcome) for outcome in sorted(set(outcomes))}
    told = " · ".join(f"{n} {what}" for what, n in counts.items())
    return (
        f"{args.slow} slow-header connections: {told} (after {args.hold:g} s) · /healthz "
        f"while they come: {meanwhile}; 12 s later: {later}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--polls", type=int, default=1000)
    parser.add_argument("--gets", type=int, default=200)
    parser.add_argument("--measure", type=float, default=10.0)
    parser.add_argument("--slow", type=int, default=10000)
    parser.add_argument("--hold", type=float, default=20.0, help="longest wait per slow client")
    parser.add_argument("--baseline", default=BASELINE, help="'' to skip the before runs")
    parser.add_argument("--only", default="polls,slow")
    args = parser.parse_args()
    runs = (
        [("before", args.baseline or None), ("after", None)] if args.baseline else [("after", None)]
    )
    with tempfile.TemporaryDirectory() as tmp:
        for label, rev in runs:
            with tree(rev) as code:
                if "polls" in args.only:
                    with server(code, Path(tmp)) as srv:
                        print(f"{label}: {asyncio.run(long_polls(srv, args))}", flush=True)
                if "slow" in args.only:
                    with server(code, Path(tmp)) as srv:
                        print(f"{label}: {asyncio.run(slow_headers(srv, args))}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
