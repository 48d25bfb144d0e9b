"""`make bench`: idle CPU of `vidgate serve` (web and workers) after many stored events.

Goal (issue 15): ≤ 0.5 % of a core, flat from 0 to 1M stored events: idle workers sleep until
woken by new events, and nothing scans the history.

Per size (SQLite):
  1. a fresh `vidgate serve` renders one tiny local job to the end and stops: its events
     (`Submitted` … `OutputStored`) are the template;
  2. the template is copied under new job ids straight into the event table, in bulk, until
     the store holds the size asked for (the API would take hours for 1M);
  3. `vidgate serve` starts on that store, catches up (its projections, dispatcher, mirror …
     handle every copied event as if the jobs had run here), and once its CPU has settled
     the bench measures it over `--seconds`: the figure is the server's share of one core.

    .venv/bin/python tests/benchmarks/bench_idle.py [--events 0,100000,1000000] [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from bench_submit import API_KEY, _clean_env, _vidgate_command, console
from servers import HOST, Server, free_port, running

GOAL = 0.005  # of a core
SETTLED = 0.05  # of a core over a SETTLE_WINDOW: caught up, measuring can start
SETTLE_WINDOW = 2.0
HEADERS = {"Authorization": f"Bearer {API_KEY}"}
TINY = {"model": "local-preview", "prompt": "idle", "seconds": "1", "size": "160x90"}


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    console.print(f"[bold]Idle CPU after N stored events[/bold] · {_load()}")
    for size in (int(n) for n in args.events.split(",")):
        tmp = Path(tempfile.mkdtemp(prefix="vidgate-idle-"))
        try:
            _run(size, tmp, args)
        finally:
            if not args.keep:
                shutil.rmtree(tmp, ignore_errors=True)
    console.print(f"after the runs: {_load()}")
    return 0


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="0,100000,1000000")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--settle-timeout", type=float, default=1800.0)
    parser.add_argument("--keep", action="store_true")
    return parser.parse_args(argv)


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} (1 / 5 min) on {os.cpu_count()} cores"


def _run(size: int, tmp: Path, args: argparse.Namespace) -> None:
    env = {
        **_clean_env(),
        "VIDGATE_DATA_DIR": str(tmp / "var"),
        "VIDGATE_BOOTSTRAP_API_KEY": API_KEY,
        "HOST": HOST,
    }
    serve = [*_vidgate_command(), "serve"]
    port = free_port()
    env["PORT"] = str(port)
    with running("serve", serve, env, port, tmp / "template.log") as server:
        _one_job(server)
    store = tmp / "var" / "events.sqlite"
    stored = _copy_jobs(store, size)
    with running("serve", serve, env, port, tmp / "serve.log") as server:
        started = time.monotonic()
        settled = _settle(server.process.pid, args.settle_timeout)
        caught_up = time.monotonic() - started
        idle = _cpu(server.process.pid, args.seconds)
    verdict = "[green]OK[/green]" if idle <= GOAL else "[red]over[/red]"
    console.print(
        f"{stored:>9,} events: idle {idle:.2%} of a core over {args.seconds:g} s "
        f"(goal ≤ {GOAL:.1%}) {verdict} · caught up in {caught_up:.0f} s"
        + ("" if settled else " [red](never settled below 5 %)[/red]")
        + f" · {_load()}"
    )


def _one_job(server: Server) -> None:
    with httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=30) as http:
        video = http.post("/v1/videos", json=TINY).json()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            events = http.get(f"/v1/videos/{video['id']}/events").json()["data"]
            if any(e["type"] == "OutputStored" for e in events):
                return
            time.sleep(0.2)
    raise SystemExit("the template job never finished")


def _copy_jobs(store: Path, size: int) -> int:
    """Copy the one job's events under new ids until the store holds about `size` events;
    how many it holds."""
    with sqlite3.connect(store) as db:
        (template_id,) = db.execute(
            "SELECT originator_id FROM stored_events WHERE topic LIKE '%Job.Submitted'"
        ).fetchone()
        template = db.execute(
            "SELECT originator_version, topic, state FROM stored_events "
            "WHERE originator_id = ? ORDER BY originator_version",
            (template_id,),
        ).fetchall()
        (held,) = db.execute("SELECT COUNT(*) FROM stored_events").fetchone()
        copies = max(0, (size - held) // len(template))
        for start in range(0, copies, 10_000):
            rows = [
                (new, version, topic, _renamed(state, template_id, new))
                for new in (uuid.uuid4().hex for _ in range(min(10_000, copies - start)))
                for version, topic, state in template
            ]
            db.executemany("INSERT INTO stored_events VALUES (?, ?, ?, ?)", rows)
            db.commit()
        (held,) = db.execute("SELECT COUNT(*) FROM stored_events").fetchone()
    return int(held)


def _renamed(state: bytes | str, old: str, new: str) -> bytes | str:
    """The event's state with the job's id in it (e.g. `upstream_id: local_<id>`) renamed."""
    if isinstance(state, bytes):
        return state.replace(old.encode(), new.encode())
    return state.replace(old, new)


def _settle(pid: int, timeout: float) -> bool:
    """Wait until the server's CPU stays low for a window (it caught up); False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _cpu(pid, SETTLE_WINDOW) <= SETTLED:
            return True
    return False


def _cpu(pid: int, seconds: float) -> float:
    """The process's CPU over `seconds`, in cores."""
    before, t0 = _cpu_time(pid), time.monotonic()
    time.sleep(seconds)
    return (_cpu_time(pid) - before) / (time.monotonic() - t0)


def _cpu_time(pid: int) -> float:
    """utime + stime of `pid` (and its reaped children: none), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    sys.exit(main())
