"""Many open event streams against one `vidgate serve` (issue 14): what they cost while
nothing happens, and how fast one event reaches the streams that wait for it.

`--streams` Server-Sent Events streams are opened (`Accept: text/event-stream`), spread over
`--jobs` queued jobs (no workers: the jobs don't change) with every `--feed-every`-th one on
the tenant feed (`GET /v1/events`) instead. Then:

1. the server's CPU over `--measure` seconds while they are held, beside the same with none;
2. the latency of `--gets` sequential `GET /v1/videos/{id}` from another client meanwhile,
   beside the same with none held;
3. one job is canceled: how long until every stream of that job has its `Canceled` event
   (and its response has ended), from the moment the cancel was answered.

    .venv/bin/python tests/benchmarks/bench_streams.py [--streams 1000] [--measure 20]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.benchmarks.bench_slow_clients import (
    AUTH,
    KEY,
    ROOT,
    TINY,
    cpu_seconds,
    latencies,
    server,
    spread,
)
from tests.benchmarks.servers import HOST, Server

OPENING = b": events of"
LAST_CHUNK = b"\r\n0\r\n\r\n"  # chunked transfer encoding's end of a response


class Stream:
    """One raw connection holding a stream: it reads until the server closes it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.received = b""
        self.closed_at: float | None = None

    async def opened(self) -> None:
        while OPENING not in self.received:
            chunk = await self.reader.read(4096)
            if not chunk:
                raise RuntimeError(f"a stream closed before it opened: {self.received!r}")
            self.received += chunk

    async def read_to_end(self) -> None:
        """Until the response ends (its last chunk; the connection itself is kept alive)."""
        while not self.received.endswith(LAST_CHUNK):
            chunk = await self.reader.read(4096)
            if not chunk:
                break
            self.received += chunk
        self.closed_at = time.perf_counter()


async def open_stream(port: int, path: str) -> Stream:
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: vidgate\r\nAuthorization: Bearer {KEY}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    stream = Stream(reader, writer)
    await stream.opened()
    return stream


async def open_all(port: int, paths: list[str]) -> list[Stream]:
    streams: list[Stream] = []
    for start in range(0, len(paths), 200):  # in batches: the listen backlog is finite
        batch = paths[start : start + 200]
        streams += await asyncio.gather(*(open_stream(port, path) for path in batch))
    return streams


async def server_cpu(srv: Server, seconds: float) -> float:
    before = cpu_seconds(srv.process.pid)
    await asyncio.sleep(seconds)
    return (cpu_seconds(srv.process.pid) - before) / seconds


async def streams(srv: Server, args: argparse.Namespace) -> str:
    base, port = srv.base_url, int(srv.base_url.rsplit(":", 1)[1])
    async with httpx.AsyncClient(base_url=base, headers=AUTH, timeout=60) as http:
        videos = [(await http.post("/v1/videos", json=TINY)).json()["id"] for _ in range(args.jobs)]
        probe = f"/v1/videos/{videos[0]}"
        idle_cpu = await server_cpu(srv, args.measure)
        quiet = spread(await latencies(base, probe, args.gets))
        paths = [
            "/v1/events"
            if i % args.feed_every == 0
            else f"/v1/videos/{videos[i % args.jobs]}/events"
            for i in range(1, args.streams + 1)
        ]
        started = time.perf_counter()
        held = await open_all(port, paths)
        opening = time.perf_counter() - started
        readers = [asyncio.create_task(stream.read_to_end()) for stream in held]
        await asyncio.sleep(2)  # let every stream settle into its wait
        cores = await server_cpu(srv, args.measure)
        busy = spread(await latencies(base, probe, args.gets))
        target = videos[-1]
        followers = [s for s, p in zip(held, paths, strict=True) if p.endswith(f"{target}/events")]
        await http.post(f"/v1/videos/{target}/cancel")
        canceled = time.perf_counter()
        await asyncio.gather(*(r for r, s in zip(readers, held, strict=True) if s in followers))
        told = [s for s in followers if b'"type":"Canceled"' in s.received]
        slowest = max(s.closed_at or canceled for s in followers) - canceled
    for stream in held:
        stream.writer.close()
    for reader in readers:
        reader.cancel()
    feeds = sum(1 for p in paths if p == "/v1/events")
    return (
        f"{args.streams} streams held ({args.streams - feeds} on {args.jobs} jobs, {feeds} on "
        f"the feed; opened in {opening:.1f} s): server CPU {cores:.3f} cores (none held: "
        f"{idle_cpu:.3f}) · other GETs {busy} (none held: {quiet}) · a cancel reached "
        f"{len(told)}/{len(followers)} streams of its job, each ended at most {slowest * 1000:.0f} "
        "ms after the cancel was answered"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--feed-every", type=int, default=10, help="every Nth stream: the feed")
    parser.add_argument("--gets", type=int, default=200)
    parser.add_argument("--measure", type=float, default=20.0, help="> the 15 s heartbeat")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, server(ROOT, Path(tmp)) as srv:
        print(f"streams: {asyncio.run(streams(srv, args))}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
