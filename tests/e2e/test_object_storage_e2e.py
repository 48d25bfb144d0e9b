"""Outputs in an S3 bucket, served by any web process (real processes on 127.0.0.1).

One `vidgate serve` in sandbox mode (web + workers) renders a local job and mirrors an
upstream emulator's output into the bucket (moto's S3 server); two web-only processes, each
with its own empty data directory and the same PostgreSQL and bucket, serve the same bytes:
one streams them (with ranges), the other redirects to a presigned URL. An image uploaded to
a web-only process reaches the renderer in the first process through the bucket.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from service.settings import Settings
from tests.e2e.api import client, history, submit_video, wait_for
from tests.e2e.server import run_vidgate, server_env
from tests.s3_server import S3Server

pytestmark = pytest.mark.e2e
UPSTREAM_MODEL = "wan-2.6"  # fal's emulator: its output reaches the bucket through the mirror


def stored_output(http: httpx.Client, video_id: str) -> dict[str, Any]:
    """What the gateway recorded when it stored the output (`OutputStored`)."""
    (stored,) = [e for e in history(http, video_id) if e["type"] == "OutputStored"]
    data: dict[str, Any] = stored["data"]
    return data


def wait_stored(http: httpx.Client, video_id: str) -> str:
    """Until the video is completed and its output stored; its sha256."""
    wait_for(http, video_id, lambda video: video["status"] in ("completed", "failed"), 90)
    stored = wait_for(
        http, video_id, lambda _: any(e["type"] == "OutputStored" for e in history(http, video_id))
    )
    assert stored["status"] == "completed", stored
    return str(stored_output(http, video_id)["sha256"])


def submit_with_image(http: httpx.Client) -> str:
    """An image-to-video job, its image uploaded with the request (multipart)."""
    image = io.BytesIO()
    Image.new("RGB", (32, 18), (40, 120, 200)).save(image, format="PNG")
    files = {"input_reference": ("ref.png", image.getvalue(), "image/png")}
    fields = {"model": "local-preview", "prompt": "a fox", "seconds": "1", "size": "160x90"}
    answer = http.post("/v1/videos", data=fields, files=files)
    assert answer.status_code == 202, answer.text
    video_id: str = answer.json()["id"]
    return video_id


def assert_serves(http: httpx.Client, video_id: str, sha256: str) -> None:
    """The whole video (by its sha256), a range of it and its headers alone, through this
    process."""
    whole = http.get(f"/v1/videos/{video_id}/content")
    assert whole.status_code == 200, whole.text
    assert hashlib.sha256(whole.content).hexdigest() == sha256
    part = http.get(f"/v1/videos/{video_id}/content", headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206, part.text
    assert part.content == whole.content[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(whole.content)}"
    head = http.head(f"/v1/videos/{video_id}/content")
    assert (head.status_code, head.headers["content-length"]) == (200, str(len(whole.content)))


def test_any_web_process_serves_outputs_from_the_bucket(
    settings: Settings, store: str, s3_server: S3Server, tmp_path: Path
) -> None:
    if store != "postgres":
        pytest.skip("web processes on several hosts share PostgreSQL")
    bucket = s3_server.env(s3_server.new_bucket())
    env = server_env(settings, **bucket)
    serve_env = {**env, "VIDGATE_SANDBOX": "1", "VIDGATE_EMULATE_LATENCY": "0.3"}
    web_env = {**env, "VIDGATE_RUN_WORKERS": "false"}
    first_dir, second_dir = tmp_path / "host2", tmp_path / "host3"
    with (
        run_vidgate(serve_env, tmp_path / "serve.log") as serve,
        client(serve.url) as http,
    ):
        local = submit_video(http)["id"]
        answer = http.post("/v1/videos", json={"model": UPSTREAM_MODEL, "prompt": "a fox"})
        assert answer.status_code == 202, answer.text
        upstream = answer.json()["id"]
        sums = {local: wait_stored(http, local), upstream: wait_stored(http, upstream)}
        assert stored_output(http, local)["source"] == "local"  # rendered, then uploaded
        assert stored_output(http, upstream)["source"] == "mirror"  # downloaded, uploaded
        for video_id, sha256 in sums.items():
            assert_serves(http, video_id, sha256)
        streaming_env = {**web_env, "VIDGATE_DATA_DIR": str(first_dir)}
        redirecting_env = {
            **web_env,
            "VIDGATE_DATA_DIR": str(second_dir),
            "VIDGATE_CONTENT_REDIRECT": "true",
        }
        with (
            run_vidgate(streaming_env, tmp_path / "web2.log") as second,
            run_vidgate(redirecting_env, tmp_path / "web3.log") as third,
            client(second.url) as other,
            client(third.url) as redirected,
        ):
            for video_id, sha256 in sums.items():
                assert_serves(other, video_id, sha256)
                thumb = other.get(f"/v1/videos/{video_id}/content?variant=thumbnail")
                assert (thumb.status_code, thumb.content[:2]) == (200, b"\xff\xd8")
                response = redirected.get(f"/v1/videos/{video_id}/content")
                assert response.status_code == 307
                presigned = httpx.get(response.headers["location"])  # no API key
                assert hashlib.sha256(presigned.content).hexdigest() == sha256
            # an image uploaded to this host is rendered by the worker on the first one
            image_job = submit_with_image(other)
            wait_stored(http, image_job)
            assert other.get(f"/v1/videos/{image_job}/content").status_code == 200
    # the second host kept nothing of its own: every byte went to or came from the bucket
    assert not (first_dir / "outputs").exists() and not (first_dir / "inputs").exists()
    assert not list((first_dir / "staging").iterdir())
