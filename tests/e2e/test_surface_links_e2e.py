"""Every compatible surface against a real `vidgate serve --sandbox` (both stores): each
output and thumbnail URL it hands out downloads without a key (Range too), a tampered link
is a 403 and an expired one a 403, in the surface's error shape; a create retried with the
same `Idempotency-Key` returns the same job on every surface."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from service.settings import Settings
from service.storage.links import OutputLinks
from tests.conftest import ADMIN_KEY, STORES
from tests.e2e.server import run_vidgate, server_env
from tests.facades_support import store_settings
from tests.helpers import wait_for
from tests.surface_requests import SURFACES, Surface

pytestmark = pytest.mark.e2e

SANDBOX_ENV = {
    "VIDGATE_SANDBOX": "1",
    "VIDGATE_EMULATE_LATENCY": "1",
    "VIDGATE_POLL_FIRST_MS": "300",
    "VIDGATE_POLL_CAP_MS": "1000",
}
TTL = 3600  # VIDGATE_OUTPUT_LINK_TTL_S for this gateway
# Each surface's file route → the `code` of one of its error bodies.
ERROR_CODE: dict[str, Callable[[dict[str, Any]], str]] = {
    "/api/v1/video/files": lambda b: b["error"]["code"],  # Concurred's envelope
    "/v2/files": lambda b: b["code"],
    "/api/v1/files": lambda b: b["code"],  # NovaKit
    "/v1/video/files": lambda b: b["error"]["code"],  # the task API (OpenAI's shape)
}
MAGIC = {"mp4": (4, b"ftyp"), "jpg": (0, b"\xff\xd8\xff")}


@pytest.fixture(scope="module", params=STORES)
def gateway(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[tuple[str, Settings]]:
    tmp = tmp_path_factory.mktemp("links-e2e")
    with store_settings(request.param, tmp / "var") as settings:
        env = server_env(settings, **SANDBOX_ENV, VIDGATE_OUTPUT_LINK_TTL_S=str(TTL))
        with run_vidgate(env, tmp / "serve.log") as process:
            assert process.url
            yield process.url, settings
            assert "Traceback" not in process.output(), process.output()[-4000:]


@pytest.fixture
def http(gateway) -> Iterator[httpx.Client]:
    url, _ = gateway
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        yield client


# How each surface hands out its links: make a video there, return every URL it gave.


def concurred_links(http: httpx.Client) -> list[str]:
    sync = http.post("/api/v1/video/generate", json={"model": "kling-3-pro", "prompt": "a fox"})
    assert sync.status_code == 200, sync.text
    asked = http.post("/api/v1/video/generate", json={"model": "veo-3.1-fast", "prompt": "a fox"})
    operation = asked.json()["data"]["operation_id"]
    query = {"provider": "google", "operation_id": operation}

    def done() -> dict[str, Any] | None:
        data: dict[str, Any] = http.get("/api/v1/video/status", params=query).json()["data"]
        return data if data["done"] else None

    return [sync.json()["data"]["video_url"], wait_for(done, timeout=60)["video_url"]]


def v2_links(http: httpx.Client) -> list[str]:
    asked = http.post("/v2/videos/generate", json={"model": "veo-3.1-fast", "prompt": "a fox"})
    job_id = asked.json()["jobId"]

    def done() -> dict[str, Any] | None:
        job: dict[str, Any] = http.get(f"/v2/jobs/{job_id}").json()
        return job["result"] if job["status"] == "COMPLETED" else None

    result = wait_for(done, timeout=60)
    return [result["videoUrl"], result["thumbnailUrl"]]


def novakit_links(http: httpx.Client) -> list[str]:
    sync = http.post("/api/v1/videos/generations", json={"prompt": "a fox", "duration_seconds": 5})
    assert sync.status_code == 200, sync.text
    job = http.get(f"/api/v1/jobs/{sync.json()['id']}").json()
    return [sync.json()["data"]["url"], job["outputData"]["video"]["url"]]


def task_api_links(http: httpx.Client) -> list[str]:
    body = {"model": "kling-v2-5-turbo", "prompt": "a fox", "duration": 5}
    task_id = http.post("/v1/video/generations", json=body).json()["task_id"]

    def done() -> str | None:
        task: dict[str, Any] = http.get(f"/v1/video/generations/{task_id}").json()
        return task.get("url")

    return [wait_for(done, timeout=60)]


LINKS = [concurred_links, v2_links, novakit_links, task_api_links]


def parts(url: str) -> tuple[str, str, str]:
    """(the surface's file route, the token, the extension) of a link."""
    path = urlsplit(url).path
    prefix, _, name = path.rpartition("/")
    token, _, ext = name.rpartition(".")
    return prefix, token, ext


@pytest.mark.parametrize("links", LINKS, ids=lambda f: f.__name__.removesuffix("_links"))
def test_every_output_link_downloads_without_a_key_and_refuses_tampering_and_age(
    gateway, http, links
):
    base, settings = gateway
    urls = links(http)
    assert urls and all(url.startswith(f"{base}/") for url in urls)
    for url in urls:
        prefix, token, ext = parts(url)
        offset, magic = MAGIC[ext]
        with httpx.Client(timeout=60) as anonymous:  # no key at all
            whole = anonymous.get(url)
            assert whole.status_code == 200, (url, whole.text)
            assert whole.content[offset : offset + len(magic)] == magic
            part = anonymous.get(url, headers={"Range": "bytes=0-7"})
            assert (part.status_code, part.content) == (206, whole.content[:8])
            tampered = anonymous.get(f"{base}{prefix}/{tamper(token)}.{ext}")
            assert tampered.status_code == 403
            assert ERROR_CODE[prefix](tampered.json()) == "invalid_link"
            expired = anonymous.get(
                f"{base}{prefix}/{expired_token(settings, prefix, token)}.{ext}"
            )
            assert expired.status_code == 403 and "expired" in expired.text
            assert ERROR_CODE[prefix](expired.json()) == "invalid_link"


def tamper(token: str) -> str:
    """Another first character: the signed job id changes (every bit of it is data)."""
    return ("B" if token[0] == "A" else "A") + token[1:]


def expired_token(settings: Settings, prefix: str, token: str) -> str:
    """The same link as if it had been handed out just over `TTL` seconds ago."""
    keys = [settings.secret_key or ""]
    job_id = OutputLinks(keys).job_id(prefix, token)
    return OutputLinks(keys, clock=lambda: time.time() - TTL - 60).token(prefix, job_id)


@pytest.mark.parametrize("surface", SURFACES, ids=str)
def test_a_create_retried_with_the_same_idempotency_key_returns_the_same_job(
    http, surface: Surface
):
    headers = {"Idempotency-Key": f"e2e-{uuid.uuid4()}"}
    first = http.post(surface.create, json=surface.body, headers=headers)
    assert first.status_code in (200, 202), first.text
    again = http.post(surface.create, json=surface.body, headers=headers)
    assert (again.status_code, surface.job(again.json())) == (
        first.status_code,
        surface.job(first.json()),
    )
    reused = http.post(surface.create, json=surface.other_body(), headers=headers)
    assert reused.status_code == 409
    assert surface.error(reused.json()) == ("idempotency_key_reused", "Idempotency-Key")
