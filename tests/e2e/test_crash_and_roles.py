"""Crashes and process roles: nothing is lost, nothing is duplicated (real processes)."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from service.media.render import probe_video
from tests.e2e.api import assert_clean_history, client, completed, history, submit_video, wait_for
from tests.e2e.server import run_vidgate, server_env

pytestmark = pytest.mark.e2e


def test_killing_the_server_mid_render_and_restarting_finishes_the_job(settings, tmp_path):
    slow = server_env(replace(settings, local_frame_delay=0.05))  # 48 frames ≈ 2.5 s
    log = tmp_path / "server.log"
    with run_vidgate(slow, log) as server, client(server.url) as http:
        video = submit_video(http, seconds="2")
        wait_for(http, video["id"], lambda v: v["progress"] >= 20)
        server.kill()
    with run_vidgate(server_env(settings), log) as server, client(server.url) as http:
        done = wait_for(http, video["id"], completed)
        events = history(http, video["id"])
        content = http.get(f"/v1/videos/{video['id']}/content")
    assert_clean_history(events)
    assert done["output"]["duration"] == 2.0
    mp4 = tmp_path / "out.mp4"
    mp4.write_bytes(content.content)
    assert probe_video(mp4).duration == pytest.approx(2.0, abs=0.05)


def test_a_job_submitted_just_before_a_crash_is_dispatched_after_it(settings, tmp_path):
    web_only = server_env(settings, VIDGATE_RUN_WORKERS="false")
    log = tmp_path / "server.log"
    with run_vidgate(web_only, log) as server, client(server.url) as http:
        video = submit_video(http)
        server.kill()
    with run_vidgate(server_env(settings), log) as server, client(server.url) as http:
        wait_for(http, video["id"], completed)
        assert_clean_history(history(http, video["id"]))


def test_web_and_worker_processes_share_the_work_through_the_store(settings, tmp_path):
    env = server_env(settings)
    web_env = {**env, "VIDGATE_RUN_WORKERS": "false"}
    with (
        run_vidgate(web_env, tmp_path / "web.log") as web,
        run_vidgate(env, tmp_path / "worker.log", "worker"),
        client(web.url) as http,
    ):
        video = submit_video(http)
        wait_for(http, video["id"], completed)
        assert_clean_history(history(http, video["id"]))
        assert wait_listed_as(http, video["id"], "completed")


def wait_listed_as(http, video_id: str, status: str) -> bool:
    """The list reads the projection the worker maintains; it catches up shortly after."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        listed = {v["id"]: v["status"] for v in http.get("/v1/videos").json()["data"]}
        if listed.get(video_id) == status:
            return True
        time.sleep(0.05)
    return False
