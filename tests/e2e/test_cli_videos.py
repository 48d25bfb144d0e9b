"""`vidgate videos …` and `vidgate keys list` against a real `vidgate serve` on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from service.media.render import probe_video
from tests.conftest import ADMIN_KEY
from tests.e2e.server import run_vidgate, server_env

pytestmark = pytest.mark.e2e
FOX = ("--model", "local-preview", "--prompt", "a red fox in snow", "--seconds", "1")


def vidgate(env, *args: str, cwd=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def served(settings, tmp_path):
    """The server's environment, and the client's: its URL and the admin key."""
    env = server_env(settings)
    with run_vidgate(env, tmp_path / "server.log") as server:
        # TTY_INTERACTIVE: rich redraws its bar as on a terminal, so stderr shows each step.
        client = {**env, "VIDGATE_URL": server.url, "VIDGATE_API_KEY": ADMIN_KEY}
        yield env, {**client, "TTY_INTERACTIVE": "1", "COLUMNS": "120"}


def test_create_wait_shows_progress_and_writes_a_playable_mp4(served, tmp_path):
    _, env = served
    out = tmp_path / "out.mp4"
    made = vidgate(env, "videos", "create", *FOX, "--size", "160x90", "--wait", "-o", str(out))
    assert made.returncode == 0, made.stderr
    video = json.loads(made.stdout)
    assert video["status"] == "completed"
    assert "100%" in made.stderr and video["id"] in made.stderr
    info = probe_video(out)
    assert (info.width, info.height) == (160, 90)
    assert info.frames > 0 and 0.5 <= info.duration <= 1.5


def test_get_list_events_and_download_follow_one_video(served, tmp_path):
    _, env = served
    made = vidgate(env, "videos", "create", *FOX, "--size", "160x90", "--wait")
    video_id = json.loads(made.stdout)["id"]
    got = json.loads(vidgate(env, "videos", "get", video_id).stdout)
    listed = vidgate(env, "videos", "list", "--status", "completed").stdout.splitlines()
    events = vidgate(env, "videos", "events", video_id).stdout.splitlines()
    saved = vidgate(env, "videos", "download", video_id, cwd=tmp_path)
    assert got["id"] == video_id and got["status"] == "completed"
    assert listed[0].split("\t")[:3] == [video_id, "completed", "100%"]
    types = [line.split("\t")[2] for line in events]
    assert types[0] == "Submitted" and {"Dispatched", "Completed"} <= set(types)
    assert saved.returncode == 0, saved.stderr
    assert probe_video(tmp_path / f"{video_id}.mp4").width == 160


def test_cancel_ends_a_video_that_has_not(served):
    _, env = served
    slow = ("--model", "local-preview", "--prompt", "a long fox", "--seconds", "8")
    video_id = json.loads(vidgate(env, "videos", "create", *slow).stdout)["id"]
    canceled = vidgate(env, "videos", "cancel", video_id)
    assert canceled.returncode == 0, canceled.stderr
    assert json.loads(canceled.stdout)["status"] in ("canceled", "completed")


def test_errors_print_the_servers_message_and_exit_non_zero(served):
    _, env = served
    missing = vidgate(env, "videos", "get", "video_00000000000000000000000000000000")
    bad_model = vidgate(env, "videos", "create", "--model", "no-such-model", "--prompt", "x")
    no_key = vidgate({**env, "VIDGATE_API_KEY": ""}, "videos", "list")
    wrong_key = vidgate({**env, "VIDGATE_API_KEY": "vg_wrong"}, "videos", "list")
    assert missing.returncode == 1 and "404: no video with id" in missing.stderr
    assert bad_model.returncode == 1 and "no-such-model" in bad_model.stderr
    assert no_key.returncode == 1 and "VIDGATE_API_KEY" in no_key.stderr
    assert wrong_key.returncode == 1 and wrong_key.stderr.startswith("vidgate: 401")


def test_keys_list_shows_each_key_once_with_its_state(served):
    server_side, _ = served
    made = vidgate(server_side, "keys", "create", "--tenant", "acme", "--scope", "videos:read")
    key = made.stdout.strip()
    assert vidgate(server_side, "keys", "revoke", key).returncode == 0
    listed = vidgate(server_side, "keys", "list").stdout.splitlines()
    acme = vidgate(server_side, "keys", "list", "--tenant", "acme").stdout.splitlines()
    assert [line.split("\t")[0] for line in listed] == ["default", "acme"]
    assert acme[0].split("\t")[2:4] == ["videos:read", "revoked"]
    assert key not in "\n".join(listed)  # only the hint, never the key


def test_version_names_the_package():
    shown = vidgate({}, "--version")
    assert shown.returncode == 0 and shown.stdout.startswith("vidgate 0.")
