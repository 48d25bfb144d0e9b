"""`make bench`: background CPU per job, and how fast a burst's backlog drains (SQLite).

Goal (issue 15): ≤ 5 ms of CPU per job for everything from `Submitted` to `OutputStored`
(dispatch, upstream webhooks and polls, mirror copy, projections), excluding rendering and
waiting on upstreams; so one worker core drains ≥ 200 jobs/s.

  1. `vidgate emulate` (its own process: the emulators' rendering is not ours) serves the
     upstreams with a short latency;
  2. a web-only `vidgate serve` takes N submits (the burst) and stops: its CPU per submit is
     the request path, printed for comparison;
  3. `vidgate serve` with its workers starts on that store and drains the backlog; the bench
     reads the store file (no API calls that would cost the server CPU) until every job has
     its `OutputStored`. The server's CPU from ready to drained, over N, is the figure.

    .venv/bin/python tests/benchmarks/bench_background.py [--jobs 500]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_idle import _cpu_time
from bench_shutdown import SANDBOX, _load, _submit
from bench_submit import API_KEY, _clean_env, _vidgate_command, console
from servers import HOST, free_port, running

GOAL_MS = 5.0
GOAL_RATE = 200.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--py-spy", metavar="FILE", help="profile the drain into FILE (collapsed)")
    args = parser.parse_args(argv)
    console.print(f"[bold]Background CPU per job[/bold] · {args.jobs} jobs · {_load()}")
    tmp = Path(tempfile.mkdtemp(prefix="vidgate-background-"))
    try:
        ok = _run(tmp, args)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    console.print(f"after the run: {_load()}")
    return 0 if ok else 1


def _run(tmp: Path, args: argparse.Namespace) -> bool:
    vidgate, emulator_port, port = _vidgate_command(), free_port(), free_port()
    env = {
        **_clean_env(),
        **SANDBOX,
        "VIDGATE_EMULATE_LATENCY": "0.2",
        "VIDGATE_DATA_DIR": str(tmp / "var"),
        "VIDGATE_BOOTSTRAP_API_KEY": API_KEY,
        "VIDGATE_SANDBOX_URL": f"http://{HOST}:{emulator_port}",
        "HOST": HOST,
        "PORT": str(port),
    }
    emulate = [*vidgate, "emulate", "--host", HOST, "--port", str(emulator_port)]
    serve = [*vidgate, "serve"]
    with running("emulators", emulate, env, emulator_port, tmp / "emulate.log", "/"):
        web_env = {**env, "VIDGATE_RUN_WORKERS": "false"}
        with running("web", serve, web_env, port, tmp / "web.log") as web:
            before, t0 = _cpu_time(web.process.pid), time.monotonic()
            asyncio.run(_submit(web.base_url, args.jobs))
            submits = _cpu_time(web.process.pid) - before
            submit_s = time.monotonic() - t0
        with running("serve", serve, env, port, tmp / "serve.log") as server:
            profiler = _profile(server.process.pid, args.py_spy)
            before, t0 = _cpu_time(server.process.pid), time.monotonic()
            drained = _wait_stored(tmp / "var" / "events.sqlite", args.jobs, args.timeout)
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)
                profiler.wait(60)
            spent, took = _cpu_time(server.process.pid) - before, time.monotonic() - t0
    per_job_ms = spent / args.jobs * 1000
    verdict = "[green]OK[/green]" if per_job_ms <= GOAL_MS else "[red]over[/red]"
    console.print(
        f"request path (web-only, for comparison): {submits / args.jobs * 1000:.1f} ms CPU "
        f"per submit, {args.jobs / submit_s:.0f} submits/s"
    )
    console.print(
        f"background: {per_job_ms:.1f} ms CPU per job (goal ≤ {GOAL_MS:g} ms) {verdict} · "
        f"backlog of {args.jobs} drained at {drained / took:.0f} jobs/s "
        f"(goal ≥ {GOAL_RATE:g}) with {spent / took:.2f} cores busy"
        + ("" if drained == args.jobs else f" · [red]only {drained} stored[/red]")
    )
    return drained == args.jobs


def _profile(pid: int, path: str | None) -> subprocess.Popen[bytes] | None:
    """py-spy sampling `pid` (its overhead is in the figure: profile apart from measuring)."""
    if path is None:
        return None
    py_spy = Path(sys.executable).parent / "py-spy"
    argv = [str(py_spy), "record", "--pid", str(pid), "--format", "raw", "-o", path]
    return subprocess.Popen([*argv, "--nonblocking"], stdout=subprocess.DEVNULL)


def _wait_stored(store: Path, jobs: int, timeout: float) -> int:
    """Until `jobs` outputs are stored (read from the file: no load on the server)."""
    deadline, stored = time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
            (stored,) = db.execute(
                "SELECT COUNT(*) FROM stored_events WHERE topic = 'vidgate:Job.OutputStored'"
            ).fetchone()
        if stored >= jobs:
            return int(stored)
        time.sleep(0.2)
    return int(stored)


if __name__ == "__main__":
    sys.exit(main())
