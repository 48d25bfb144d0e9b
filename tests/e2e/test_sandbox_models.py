"""Every catalog model makes a real video offline: `vidgate serve` in sandbox mode.

The gateway runs the emulators in-process on loopback and points every provider at them.
Each model gets a text-to-video job (and an image-to-video one where it takes images);
jobs on webhook routes must complete by webhook (the fallback poll is set far beyond the
emulators' latency), the poll-only routes by polling.
"""

from __future__ import annotations

import base64
import io
import time
from typing import Any

import av
import httpx
import pytest
from PIL import Image

from tests.e2e.api import assert_clean_history, client, history
from tests.e2e.server import run_vidgate, server_env

pytestmark = pytest.mark.e2e

WEBHOOK_ROUTES = {"fal", "replicate", "minimax", "luma", "kling", "sora"}
SANDBOX_ENV = {
    "VIDGATE_SANDBOX": "1",
    "VIDGATE_EMULATE_LATENCY": "1",
    "VIDGATE_POLL_FIRST_MS": "300",
    "VIDGATE_POLL_CAP_MS": "1000",
    # Webhook routes: the fallback poll never comes while the test runs, however slowly a
    # loaded machine runs it (at 60 s it once came, in a 71 s run under CI load).
    "VIDGATE_POLL_GRACE_MS": "3600000",
}


def png_data_uri(width: int = 64, height: int = 36) -> str:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 90, 200)).save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def jobs_for(model: dict[str, Any]) -> list[dict[str, Any]]:
    """One text-to-video job, plus one image-to-video job when the model takes images."""
    modes = model["capabilities"]["modes"]
    jobs = []
    if "text-to-video" in modes:
        jobs.append({"model": model["id"], "prompt": f"a red fox in snow ({model['id']})"})
    if "image-to-video" in modes:
        jobs.append(
            {"model": model["id"], "prompt": "the image comes alive", "image_url": png_data_uri()}
        )
    return jobs


def is_playable_mp4(data: bytes) -> bool:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        return next(container.decode(stream)) is not None and data[4:8] == b"ftyp"


def wait_all(http: httpx.Client, ids: list[str], timeout: float) -> dict[str, dict[str, Any]]:
    """The final state of every job, waiting until none is queued or in progress."""
    done: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    while len(done) < len(ids) and time.monotonic() < deadline:
        for vid in set(ids) - set(done):
            video = http.get(f"/v1/videos/{vid}").json()
            if video["status"] not in ("queued", "in_progress"):
                done[vid] = video
        time.sleep(0.25)
    missing = {vid: http.get(f"/v1/videos/{vid}").json()["status"] for vid in set(ids) - set(done)}
    assert not missing, f"still running after {timeout}s: {missing}"
    return done


def test_every_catalog_model_completes_in_sandbox_mode(settings, tmp_path) -> None:
    env = server_env(settings, **SANDBOX_ENV)
    with run_vidgate(env, tmp_path / "serve.log") as server, client(server.url) as http:
        http.timeout = httpx.Timeout(30.0)
        models = [m for m in http.get("/v1/models").json()["data"] if m["id"] != "local-preview"]
        assert len(models) >= 40 and all(m["available"] for m in models), models
        submitted: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        for model in models:
            for job in jobs_for(model):
                response = http.post("/v1/videos", json=job)
                assert response.status_code == 202, (job["model"], response.text)
                submitted[response.json()["id"]] = (model, job)
        final = wait_all(http, list(submitted), timeout=240)

        problems = []
        for vid, video in final.items():
            model, job = submitted[vid]
            mode = "i2v" if "image_url" in job else "t2v"
            label = f"{model['id']} via {model['provider']} ({mode})"
            if video["status"] != "completed":
                problems.append(f"{label}: {video['status']} {video.get('error')}")
                continue
            events = history(http, vid)
            assert_clean_history(events)
            (done,) = [e for e in events if e["type"] == "Completed"]
            expected = "webhook" if model["provider"] in WEBHOOK_ROUTES else "poll"
            if done["data"]["source"] != expected:
                problems.append(f"{label}: completed by {done['data']['source']}, not {expected}")
            content = http.get(f"/v1/videos/{vid}/content")
            if content.status_code != 200 or not is_playable_mp4(content.content):
                problems.append(f"{label}: content {content.status_code} is not a playable MP4")
        assert not problems, "\n".join(problems)
        print(f"{len(final)} sandbox jobs over {len(models)} models completed")
        log = server.output()
        assert "Traceback" not in log, log[-4000:]
