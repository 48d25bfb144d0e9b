"""`make bench`: how long `vidgate serve` (or `vidgate worker`) takes to exit on SIGTERM with
a backlog, and that nothing in flight is lost.

One run per role on SQLite (and PostgreSQL when it answers):
  1. `vidgate emulate` serves the upstreams, behind a proxy that drips the first video
     download (`slow_downloads.py`), so an output mirror copy is in progress;
  2. a web-only process takes N submits (half a webhook route, half a poll-only one) and
     stops: they are all waiting, undispatched;
  3. the measured process starts (`serve`, or `worker` beside a web-only one) and works the
     backlog; once the dripped copy has started and some jobs are dispatched but unfinished,
     it gets SIGTERM: the figure is the time until it exits (goal ≤ 2 s);
  4. it starts again and every job must end completed with its output stored, dispatched
     once; an intent recorded twice with `unknown_outcome_of` (a submit whose answer the stop
     cut off) is counted, as such a job may have rendered twice upstream.

    .venv/bin/python tests/benchmarks/bench_shutdown.py [--jobs 500] [--only serve,worker]
                                                         [--store sqlite,postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from bench_submit import API_KEY, DEFAULT_PG_URL, _clean_env, _vidgate_command, console
from servers import HOST, PostgresUnavailable, Server, free_port, fresh_schema, running
from slow_downloads import slow_downloads

GOAL_S = 2.0
MODELS = ("wan-2.6", "veo-3.1-fast")  # fal (calls back), Veo (polled)
SECONDS = ("5", "4")
HANG_S = 60.0  # a stop slower than this is a hang: the process is killed
HEADERS = {"Authorization": f"Bearer {API_KEY}"}
SANDBOX = {
    "VIDGATE_SANDBOX": "1",
    "VIDGATE_SECRET_KEY": "bench-shutdown-secret-0123456789abcdef",
    "VIDGATE_EMULATE_LATENCY": "1.5",
    "VIDGATE_POLL_FIRST_MS": "500",
    "VIDGATE_POLL_GRACE_MS": "1000",
    "VIDGATE_POLL_CAP_MS": "1000",
}


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    console.print(f"[bold]SIGTERM with a backlog[/bold] · {args.jobs} jobs · {_load()}")
    ok = True
    for store in args.store.split(","):
        for role in args.only.split(","):
            try:
                with _store_env(store, args) as env:
                    ok &= _run(role, store, env, args)
            except PostgresUnavailable as error:
                console.print(f"{role} on {store}: skipped ({error})")
    console.print(f"after the runs: {_load()}")
    return 0 if ok else 1


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--only", default="serve,worker")
    parser.add_argument("--store", default="sqlite,postgres")
    parser.add_argument("--postgres-url", default=DEFAULT_PG_URL)
    parser.add_argument("--timeout", type=float, default=300.0, help="for the backlog to drain")
    parser.add_argument("--keep", action="store_true", help="keep the data and logs")
    return parser.parse_args(argv)


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} (1 / 5 min) on {os.cpu_count()} cores"


@contextlib.contextmanager
def _store_env(store: str, args: argparse.Namespace) -> Iterator[dict[str, str]]:
    tmp = tempfile.mkdtemp(prefix="vidgate-shutdown-")
    with contextlib.ExitStack() as cleanup:
        if not args.keep:
            cleanup.callback(shutil.rmtree, tmp, ignore_errors=True)
        env = {
            **_clean_env(),
            **SANDBOX,
            "VIDGATE_DATA_DIR": str(Path(tmp) / "var"),
            "VIDGATE_BOOTSTRAP_API_KEY": API_KEY,
        }
        if store == "sqlite":
            yield env
            return
        with fresh_schema(args.postgres_url, console.print) as schema:
            yield {
                **env,
                "VIDGATE_DATABASE_URL": args.postgres_url,
                "VIDGATE_DATABASE_SCHEMA": schema,
            }


def _run(role: str, store: str, env: dict[str, str], args: argparse.Namespace) -> bool:
    logs = Path(env["VIDGATE_DATA_DIR"]).parent
    vidgate, emulator_port = _vidgate_command(), free_port()
    emulate = [*vidgate, "emulate", "--host", HOST, "--port", str(emulator_port)]
    with (
        running("emulators", emulate, env, emulator_port, logs / "emulate.log", "/") as _,
        slow_downloads(emulator_port) as proxy,
    ):
        env = {**env, "VIDGATE_SANDBOX_URL": f"http://{HOST}:{proxy.port}"}
        port = free_port()
        web_env = {**env, "VIDGATE_RUN_WORKERS": "false", "HOST": HOST, "PORT": str(port)}
        serve = [*vidgate, "serve"]
        with running("web", serve, web_env, port, logs / "web.log") as web:
            ids = asyncio.run(_submit(web.base_url, args.jobs))
        with _start_measured(role, vidgate, env, port, logs, "stopped") as server:
            seen = _wait_busy(server, proxy, ids)
            took, code = _sigterm(server)
        console.print(
            f"{role} on {store}: exit {took:.2f} s after SIGTERM (goal ≤ {GOAL_S:g} s), "
            f"status {code}; at the signal: {seen}"
        )
        with _start_measured(role, vidgate, env, port, logs, "restarted") as server:
            ok, outcome = _check_all_done(server, ids, args.timeout)
        console.print(f"  after a restart: {outcome}")
    if not ok:
        console.print(f"[red]  logs in {logs}[/red]")
    return ok and code in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it caught


@contextlib.contextmanager
def _start_measured(
    role: str, vidgate: list[str], env: dict[str, str], port: int, logs: Path, run: str
) -> Iterator[Server]:
    """`serve` alone, or a `worker` beside a web-only `serve` (whose URL the checks use)."""
    serve_env = {**env, "HOST": HOST, "PORT": str(port)}
    if role == "serve":
        with running(
            "serve", [*vidgate, "serve"], serve_env, port, logs / f"serve-{run}.log"
        ) as server:
            yield server
        return
    web_env = {**serve_env, "VIDGATE_RUN_WORKERS": "false"}
    with running("web", [*vidgate, "serve"], web_env, port, logs / f"web-{run}.log") as web:
        worker_port = free_port()
        worker_env = {**env, "VIDGATE_WORKER_METRICS_PORT": str(worker_port), "HOST": HOST}
        argv = [*vidgate, "worker"]
        with running(
            "worker", argv, worker_env, worker_port, logs / f"worker-{run}.log", "/"
        ) as worker:
            yield Server(worker.name, worker.process, web.port, worker.log_path)


async def _submit(base_url: str, jobs: int) -> list[str]:
    async with httpx.AsyncClient(base_url=base_url, headers=HEADERS, timeout=30) as http:
        gate = asyncio.Semaphore(8)

        async def one(i: int) -> str:
            body = {"model": MODELS[i % 2], "prompt": f"shutdown {i}", "seconds": SECONDS[i % 2]}
            async with gate:
                response = await http.post("/v1/videos", json=body)
            assert response.status_code == 202, response.text
            return str(response.json()["id"])

        return list(await asyncio.gather(*(one(i) for i in range(jobs))))


def _wait_busy(server: Server, proxy: Any, ids: list[str]) -> str:
    """Until the dripped copy has started and some jobs are in progress; what was seen."""
    deadline = time.monotonic() + 120
    with httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=10) as http:
        while True:
            listed = _statuses(http)
            counts = Counter(listed.get(i, "unlisted") for i in ids)
            if proxy.dripping and counts["in_progress"] and counts["queued"]:
                return ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + (
                    f", {proxy.dripping} copy dripping"
                )
            if time.monotonic() > deadline:
                return f"never busy as planned: {dict(counts)}, dripping {proxy.dripping}"
            time.sleep(0.1)


def _statuses(http: httpx.Client) -> dict[str, str]:
    found: dict[str, str] = {}
    after = None
    while True:
        params: dict[str, Any] = {"limit": 100, **({"after": after} if after else {})}
        page = http.get("/v1/videos", params=params).json()
        found.update({v["id"]: v["status"] for v in page["data"]})
        if not page.get("has_more"):
            return found
        after = page["data"][-1]["id"]


def _sigterm(server: Server) -> tuple[float, int | None]:
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(HANG_S)
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(5)
    return time.monotonic() - started, server.process.returncode


def _check_all_done(server: Server, ids: list[str], timeout: float) -> tuple[bool, str]:
    deadline = time.monotonic() + timeout
    histories: dict[str, list[str]] = {}
    with httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=30) as http:
        pending = list(ids)
        while pending and time.monotonic() < deadline:
            for video_id in pending:
                events = http.get(f"/v1/videos/{video_id}/events").json()["data"]
                histories[video_id] = [_kind(e) for e in events]
            pending = [i for i in pending if not _ended(histories[i])]
            if pending:
                time.sleep(0.5)
    if pending:
        return False, f"[red]{len(pending)} of {len(ids)} jobs unfinished[/red]"
    failed = sum("OutputStored" not in kinds for kinds in histories.values())
    twice = sum(kinds.count("Dispatched") != 1 for kinds in histories.values())
    unknown = sum("ResubmittedUnknown" in kinds for kinds in histories.values())
    ok = failed == twice == 0
    return ok, (
        f"{len(ids) - failed} of {len(ids)} jobs completed and stored; dispatched other than "
        f"once: {twice}; resubmitted after an unknown outcome: {unknown}"
    )


def _kind(event: dict[str, Any]) -> str:
    if event["type"] == "DispatchIntended" and event["data"].get("unknown_outcome_of"):
        return "ResubmittedUnknown"
    return str(event["type"])


def _ended(kinds: list[str]) -> bool:
    return "OutputStored" in kinds or "Failed" in kinds or "Canceled" in kinds


if __name__ == "__main__":
    sys.exit(main())
