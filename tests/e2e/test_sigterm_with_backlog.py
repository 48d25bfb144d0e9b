"""SIGTERM with a backlog: the process exits promptly and nothing in flight is lost (real
processes, SQLite and PostgreSQL). How promptly is measured in `bench_shutdown.py`; here a
deadline only catches a hang."""

from __future__ import annotations

import subprocess
from dataclasses import replace

import pytest

from tests.e2e.api import assert_clean_history, client, completed, history, submit_video, wait_for
from tests.e2e.server import run_vidgate, server_env

pytestmark = pytest.mark.e2e
JOBS = 12
HANG = 15.0  # seconds: an exit slower than this is a hang, whatever the machine's load


@pytest.mark.parametrize("role", ["serve", "worker"])
def test_sigterm_mid_backlog_exits_and_a_restart_finishes_every_job(settings, tmp_path, role):
    slow = server_env(replace(settings, local_frame_delay=0.05))  # renders still running
    web_only = {**slow, "VIDGATE_RUN_WORKERS": "false"}
    log = tmp_path / "server.log"
    with run_vidgate(web_only, log) as web, client(web.url) as http:
        ids = [submit_video(http)["id"] for _ in range(JOBS)]
        with run_vidgate(slow, tmp_path / "worker.log", *_args(role)) as busy:
            wait_for(http, ids[0], lambda v: v["status"] != "queued")
            busy.process.terminate()
            try:
                busy.process.wait(HANG)
            except subprocess.TimeoutExpired:
                pytest.fail(f"{role} still running {HANG:g} s after SIGTERM")
    with run_vidgate(server_env(settings), log) as server, client(server.url) as http:
        for video_id in ids:
            wait_for(http, video_id, completed)
            assert_clean_history(history(http, video_id))


def _args(role: str) -> tuple[str, ...]:
    """The process under test: `serve` beside the web-only one (its own port), or a worker."""
    return ("serve",) if role == "serve" else ("worker",)
