"""A slow-drip image host against real `vidgate serve` processes: SIGTERM does not wait for
the host, and the job it interrupted resumes after the restart (real uvicorn, real HTTP)."""

from __future__ import annotations

import signal
import time
from dataclasses import replace

import pytest

from tests.drip_server import drip_server
from tests.e2e.api import assert_clean_history, client, completed, history, submit_video, wait_for
from tests.e2e.server import run_vidgate, server_env

pytestmark = pytest.mark.e2e
STOP_BOUND = 10.0  # seconds: a hang check (the drip never ends), not a timing measure


def test_sigterm_does_not_wait_for_a_slow_image_host_and_the_job_resumes(settings, tmp_path):
    env = server_env(replace(settings), VIDGATE_INPUT_FETCH_TIMEOUT_MS="600000")
    log = tmp_path / "server.log"
    with drip_server(every=0.2) as host:
        with run_vidgate(env, log) as server, client(server.url) as http:
            video = submit_video(http, image_url=host.url)
            host.wait_opened()
            started = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            server.process.wait(STOP_BOUND)
            stopped_in = time.monotonic() - started
        print(f"SIGTERM during a slow image fetch: stopped in {stopped_in:.2f} s")
        # uvicorn re-raises the signal once shut down: -15 after a clean shutdown
        assert "Application shutdown complete" in server.output()
        host.wait_all_closed()
        host.dripping = False  # the image host recovers
        with run_vidgate(env, log) as server, client(server.url) as http:
            done = wait_for(http, video["id"], completed)
            events = history(http, video["id"])
    assert_clean_history(events)
    assert done["status"] == "completed"


def test_a_slow_image_fails_its_job_at_the_deadline_and_others_still_render(settings, tmp_path):
    env = server_env(settings, VIDGATE_INPUT_FETCH_TIMEOUT_MS="500", VIDGATE_LOCAL_CONCURRENCY="1")
    with (
        drip_server() as host,
        run_vidgate(env, tmp_path / "server.log") as server,
        client(server.url) as http,
    ):
        slow = submit_video(http, image_url=host.url)
        quick = submit_video(http)
        failed = wait_for(http, slow["id"], lambda v: v["status"] == "failed")
        wait_for(http, quick["id"], completed)
    assert failed["error"]["code"] == "input_fetch_timeout"
    assert "image_url" in failed["error"]["message"]
