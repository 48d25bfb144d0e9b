"""Load generators for bench_submit.py: wrk (preferred), or a Python fallback.

`run_load()` drives one POST endpoint for a fixed duration over keep-alive connections and
returns a `LoadResult`. With wrk, post.lua counts requests and statuses and prints latency
percentiles (`BENCH key value` lines). The fallback runs this file as worker processes
(`python loadgen.py worker …`, one per thread, asyncio inside) and is far slower than wrk:
its numbers are bounded by the generator, not by the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
LUA_SCRIPT = HERE / "post.lua"
WRK_TIMEOUT_S = 30  # latencies above this count as timeouts (wrk's histogram stops there)
PERCENTILES = (50.0, 90.0, 99.0, 99.9)


@dataclass
class LoadResult:
    tool: str
    duration_s: float
    answered: int  # responses read, any status
    sent: int  # requests built; sent - answered were in flight (or lost) at the stop
    statuses: dict[int, int]
    errors: dict[str, int]  # socket-level: connect, read, write, timeout
    latency_us: dict[str, float]  # p50, p90, p99, p99.9, mean, max
    generator_cpu_s: float = 0.0
    raw: str = field(default="", repr=False)

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def non_2xx(self) -> int:
        return self.answered - self.ok

    @property
    def socket_errors(self) -> int:
        return sum(self.errors.values())

    @property
    def unanswered(self) -> int:
        return max(0, self.sent - self.answered)

    @property
    def ok_per_s(self) -> float:
        return self.ok / self.duration_s if self.duration_s > 0 else 0.0

    def count(self, status: int) -> int:
        return self.statuses.get(status, 0)


class LoadError(RuntimeError):
    """The load generator itself failed (not the server)."""


# wrk


def find_wrk(*, install: bool = True, say: Callable[[str], object] = print) -> str | None:
    """wrk's path; as root, `apt-get install -y wrk` when it is missing."""
    path = shutil.which("wrk")
    if path or not install:
        return path
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for steps in (
        [["apt-get", "install", "-y", "wrk"]],
        [["apt-get", "update"], ["apt-get", "install", "-y", "wrk"]],
    ):
        say(f"wrk not found; trying: {' && '.join(' '.join(step) for step in steps)}")
        try:
            for step in steps:
                subprocess.run(
                    step,
                    env=env,
                    check=True,
                    timeout=300,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
        except (subprocess.SubprocessError, OSError):
            continue
        path = shutil.which("wrk")
        if path:
            return path
    return None


def wrk_version(wrk: str) -> str:
    try:
        out = subprocess.run([wrk, "-v"], capture_output=True, text=True, timeout=10)
    except (subprocess.SubprocessError, OSError):
        return "wrk (version unknown)"
    first = (out.stdout or out.stderr).strip().splitlines()
    return first[0].split(" Copyright")[0].split(" [")[0] if first else "wrk"


def run_wrk(
    wrk: str,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    connections: int,
    threads: int,
    duration: float,
    paths: Sequence[str] = (),
) -> LoadResult:
    """POST `body` to `url`, or, given `paths`, GET them in turn (on `url`'s server)."""
    seconds = max(1, round(duration))
    argv = [
        wrk,
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{seconds}s",
        f"--timeout={WRK_TIMEOUT_S}s",
        "-s",
        str(LUA_SCRIPT),
    ]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    argv += [url, "--", *(["--get", *paths] if paths else [body.decode()])]
    before = _children_cpu()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 120)
    except subprocess.TimeoutExpired as error:
        raise LoadError(f"wrk did not finish: {error}") from None
    cpu = _children_cpu() - before
    if done.returncode != 0:
        raise LoadError(f"wrk exited with {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return parse_wrk(done.stdout, cpu)


def parse_wrk(output: str, generator_cpu_s: float = 0.0) -> LoadResult:
    values: dict[str, str] = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "BENCH":
            values[parts[1]] = parts[2]
    if "requests" not in values:
        raise LoadError(
            f"no BENCH lines in wrk's output (post.lua's done() did not run?):\n{output}"
        )
    statuses = {int(k[7:]): int(v) for k, v in values.items() if k.startswith("status_")}
    errors = {
        name: int(values.get(f"errors_{name}", 0))
        for name in ("connect", "read", "write", "timeout")
    }
    latency = {f"p{_pct(p)}": float(values[f"latency_p{_pct(p)}_us"]) for p in PERCENTILES}
    latency["mean"] = float(values["latency_mean_us"])
    latency["max"] = float(values["latency_max_us"])
    return LoadResult(
        tool="wrk",
        duration_s=int(values["duration_us"]) / 1e6,
        answered=int(values["requests"]),
        # wrk calls request() once more on its first thread before it starts, to check
        # the script (script_verify_request): that request is never sent.
        sent=max(int(values["requests"]), int(values["sent"]) - 1),
        statuses=statuses,
        errors=errors,
        latency_us=latency,
        generator_cpu_s=generator_cpu_s,
        raw=output,
    )


def _pct(p: float) -> str:
    """Lua's and Python's spelling of a percentile in a key: 50 → '50', 99.9 → '99.9'."""
    return str(int(p)) if p == int(p) else str(p)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# the Python fallback


def run_python(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    connections: int,
    threads: int,
    duration: float,
) -> LoadResult:
    """`threads` worker processes, `connections` split between them."""
    threads = max(1, min(threads, connections))
    shares = [
        connections // threads + (1 if i < connections % threads else 0) for i in range(threads)
    ]
    argv = [
        sys.executable,
        str(Path(__file__).resolve()),
        "worker",
        "--url",
        url,
        "--body",
        body.decode(),
        "--duration",
        str(duration),
    ]
    for name, value in headers.items():
        argv += ["--header", f"{name}: {value}"]
    before = _children_cpu()
    procs = [
        subprocess.Popen(
            [*argv, "--connections", str(share)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for share in shares
    ]
    outputs = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=duration + 120)
            if proc.returncode != 0:
                raise LoadError(f"python load worker exited with {proc.returncode}:\n{err}")
            outputs.append(json.loads(out))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    cpu = _children_cpu() - before
    latencies = sorted(x for out in outputs for x in out["latencies_us"])
    statuses: Counter[int] = Counter()
    errors: Counter[str] = Counter({"connect": 0, "read": 0, "write": 0, "timeout": 0})
    for out in outputs:
        statuses.update({int(k): v for k, v in out["statuses"].items()})
        errors.update(out["errors"])
    latency = {f"p{_pct(p)}": _percentile(latencies, p) for p in PERCENTILES}
    latency["mean"] = sum(latencies) / len(latencies) if latencies else 0.0
    latency["max"] = latencies[-1] if latencies else 0.0
    return LoadResult(
        tool="python",
        duration_s=max(out["elapsed_s"] for out in outputs),
        answered=sum(statuses.values()),
        sent=sum(out["sent"] for out in outputs),
        statuses=dict(statuses),
        errors=dict(errors),
        latency_us=latency,
        generator_cpu_s=cpu,
    )


def _percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


async def _worker(
    url: str, body: bytes, headers: list[str], connections: int, duration: float
) -> dict[str, object]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    head = [
        f"POST {parts.path or '/'} HTTP/1.1",
        f"Host: {host}:{port}",
        f"Content-Length: {len(body)}",
        *headers,
    ]
    raw = ("\r\n".join(head) + "\r\n\r\n").encode() + body
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    sent = 0
    started = time.monotonic()
    deadline = started + duration

    async def connection() -> None:
        nonlocal sent
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        while time.monotonic() < deadline:  # finish the request in flight, then stop
            if writer is None or reader is None:
                try:
                    reader, writer = await asyncio.open_connection(host, port)
                except OSError:
                    errors["connect"] += 1
                    await asyncio.sleep(0.01)
                    continue
            sent += 1
            start = time.perf_counter()
            try:
                writer.write(raw)
                status, keep_alive = await asyncio.wait_for(_read_response(reader), WRK_TIMEOUT_S)
            except TimeoutError:
                errors["timeout"] += 1
                keep_alive = False
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                errors["read"] += 1
                keep_alive = False
            else:
                latencies.append((time.perf_counter() - start) * 1e6)
                statuses[status] += 1
            if not keep_alive:
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return {
        "latencies_us": latencies,
        "statuses": statuses,
        "errors": errors,
        "sent": sent,
        "elapsed_s": time.monotonic() - started,
    }


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    lines = head.split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    if "content-length" not in fields:
        raise ValueError("response without Content-Length")
    await reader.readexactly(int(fields["content-length"]))
    return status, fields.get("connection", "").lower() != "close"


def _worker_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="loadgen.py worker")
    parser.add_argument("--url", required=True)
    parser.add_argument("--body", required=True)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--connections", type=int, required=True)
    parser.add_argument("--duration", type=float, required=True)
    args = parser.parse_args(argv)
    try:
        from uvloop import run
    except ImportError:
        run = asyncio.run
    result = run(
        _worker(args.url, args.body.encode(), args.header, args.connections, args.duration)
    )
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] != ["worker"]:
        sys.exit("usage: loadgen.py worker --url … (started by bench_submit.py)")
    sys.exit(_worker_cli(sys.argv[2:]))
