"""The emulator suite served in-process by `run_sandbox`: every emulator under its own prefix,
driven by the adapters the registry builds from the sandbox's URLs and credentials.

`T2V`, `ANONYMOUS` and `complete` are shared with tests/e2e/test_emulate_cli.py.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import httpx
import jwt
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.providers.base import DispatchRequest, Provider, ProviderRejected
from service.providers.kling import KlingProvider
from service.providers.registry import build_providers
from service.sandbox.server import bind, serving
from service.sandbox.suite import PROVIDERS, run_sandbox, suite_for
from service.settings import EmulatorSettings, Settings

pytestmark = pytest.mark.anyio

# A short text-to-video job each emulator takes: provider → (upstream model, our params).
T2V: dict[str, tuple[str, dict[str, Any]]] = {
    "fal": ("fal-ai/kling-video/v2.5-turbo/pro/text-to-video", {"seconds": "5"}),
    "veo": ("veo-3.1-fast-generate-preview", {"seconds": "4", "size": "1280x720"}),
    "vertex-veo": ("veo-3.1-fast-generate-preview", {"seconds": "4", "size": "1280x720"}),
    "replicate": ("kwaivgi/kling-v2.1", {"seconds": "5", "size": "1280x720"}),
    "minimax": ("MiniMax-Hailuo-02", {"seconds": "6", "resolution": "768P"}),
    "luma": ("ray-2", {"seconds": "5", "size": "1280x720"}),
    "runway": ("gen4.5", {"seconds": "5", "size": "1280x720"}),
    "sora": ("sora-2", {"seconds": "4", "size": "1280x720"}),
    "kling": ("kling-v2-5-turbo", {"seconds": "5"}),
    "seedance": ("seedance-1-0-lite-t2v-250428", {"seconds": 5, "aspect_ratio": "16:9"}),
}
VEO = "veo-3.1-fast-generate-preview"
# A call without any credential, relative to the adapter's base URL, and each upstream's own
# refusal: Google's Gemini API answers 403 PERMISSION_DENIED to an unregistered caller and
# MiniMax answers HTTP 200 with base_resp 1004; every other upstream answers 401.
ANONYMOUS: dict[str, tuple[str, str, int]] = {
    "fal": ("POST", "/fal-ai/kling-video/v2.5-turbo/pro/text-to-video", 401),
    "veo": ("POST", f"/v1beta/models/{VEO}:predictLongRunning", 403),
    "vertex-veo": ("POST", f"/v1/publishers/google/models/{VEO}:predictLongRunning", 401),
    "replicate": ("POST", "/predictions", 401),
    "minimax": ("POST", "/v1/video_generation", 200),
    "luma": ("POST", "/generations/video", 401),
    "runway": ("POST", "/text_to_video", 401),
    "sora": ("POST", "/videos", 401),
    "kling": ("POST", "/v1/videos/text2video", 401),
    "seedance": ("POST", "/contents/generations/tasks", 401),
}


def t2v(provider: str, callback_url: str | None = None) -> DispatchRequest:
    model, params = T2V[provider]
    return DispatchRequest(
        uuid.uuid4(), provider, model, "a red fox in snow", params, {}, callback_url
    )


async def complete(provider: Provider, request: DispatchRequest, dest: Path) -> Path:
    """Submit, poll `status()` until completed (real seconds), download the video."""
    submission = await provider.submit(request)
    with anyio.fail_after(20):
        while (status := await provider.status(submission.upstream_id)).state != "completed":
            assert status.state in ("queued", "in_progress"), status
            await anyio.sleep(0.05)
    return await provider.download(submission.upstream_id, dest)


def refused(provider: str, response: httpx.Response) -> bool:
    """Whether `response` is the upstream's answer to a call without credentials."""
    expected = ANONYMOUS[provider][2]
    if provider == "minimax":
        return response.status_code == 200 and response.json()["base_resp"]["status_code"] == 1004
    return response.status_code == expected


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, sandbox=True, emulate=EmulatorSettings(latency=0.3))


@pytest.fixture
async def sandbox(settings):
    async with run_sandbox(settings) as sandbox:
        yield sandbox


@pytest.fixture
async def http():
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture
def providers(settings, sandbox, http) -> dict[str, Provider]:
    return build_providers(settings, http, sandbox)


@pytest.mark.parametrize("name", PROVIDERS)
async def test_each_provider_completes_a_text_to_video_job_and_downloads_an_mp4(
    providers, name, tmp_path
):
    video = await complete(providers[name], t2v(name), tmp_path / f"{name}.mp4")
    assert video.read_bytes()[4:8] == b"ftyp"


@pytest.mark.parametrize("name", PROVIDERS)
async def test_each_emulator_refuses_a_call_without_credentials(sandbox, http, name):
    method, path, _ = ANONYMOUS[name]
    response = await http.request(method, sandbox.urls.base_url(name) + path, json={})
    assert refused(name, response), (response.status_code, response.text)


async def test_handed_out_urls_point_back_under_the_emulators_prefix(sandbox, http):
    fal = sandbox.urls.mount("fal")
    submitted = await http.post(
        f"{fal}/{T2V['fal'][0]}",
        json={"prompt": "a fox"},
        headers={"Authorization": "Key anything"},
    )
    assert submitted.json()["status_url"].startswith(f"{fal}/fal-ai/kling-video/requests/")
    replicate = sandbox.urls.base_url("replicate")
    created = await http.post(
        f"{replicate}/models/{T2V['replicate'][0]}/predictions",
        json={"input": {"prompt": "a fox"}},
        headers={"Authorization": "Bearer anything"},
    )
    assert created.json()["urls"]["get"].startswith(f"{replicate}/predictions/")


async def test_veo_file_links_redirect_under_the_prefix_and_serve_the_video(
    providers, sandbox, http, tmp_path
):
    veo = providers["veo"]
    submission = await veo.submit(t2v("veo"))
    await complete(veo, t2v("veo"), tmp_path / "first.mp4")
    status = await veo.status(submission.upstream_id)
    key = {"x-goog-api-key": "any key"}
    link = await http.get(status.output_url, headers=key)
    assert link.status_code == 302
    assert link.headers["location"].startswith(f"{sandbox.urls.mount('veo')}/download/v1beta/")
    video = await http.get(link.headers["location"], headers=key)
    assert video.content[4:8] == b"ftyp"


async def test_kling_takes_only_tokens_signed_with_the_sandbox_keys(sandbox, http):
    wrong = "not-the-sandbox-secret-" + "0" * 16
    forged = KlingProvider(
        http,
        access_key=sandbox.credentials.kling_access_key,
        secret_key=wrong,
        base_url=sandbox.urls.base_url("kling"),
    )
    with pytest.raises(ProviderRejected) as raised:
        await forged.submit(t2v("kling"))
    assert raised.value.code == "upstream_auth"
    claims = {"iss": "someone", "exp": int(time.time()) + 60}
    anyone = jwt.encode(claims, "another-secret-of-32-bytes-at-least", algorithm="HS256")
    answer = await http.get(
        f"{sandbox.urls.base_url('kling')}/v1/videos/text2video/1",
        headers={"Authorization": f"Bearer {anyone}"},
    )
    assert answer.status_code == 401


async def test_signed_webhooks_reach_the_gateway_and_verify_with_the_registry_adapters(
    tmp_path,
):
    """fal (ED25519 + the suite's JWKS), Replicate and Sora (Standard Webhooks) sign with the
    sandbox's credentials; Sora posts to the gateway's fixed `/hooks/sora`."""
    hooks: dict[str, list[tuple[dict[str, str], bytes]]] = {"fal": [], "replicate": [], "sora": []}

    async def receive(request: Request) -> Response:
        hooks[request.path_params["name"]].append((dict(request.headers), await request.body()))
        return Response("ok")

    async def states(provider: Any, name: str) -> set[str]:
        verify = getattr(provider, "verify_webhook", None)  # fetches fal's keys first
        checked = [
            await verify(*hook) if verify else provider.parse_webhook(*hook) for hook in hooks[name]
        ]
        return {status.state for status in checked}

    gateway = bind("127.0.0.1", 0)
    settings = Settings(
        data_dir=tmp_path,
        sandbox=True,
        port=gateway.getsockname()[1],
        emulate=EmulatorSettings(latency=0.3),
    )
    receiver = Starlette(routes=[Route("/hooks/{name}", receive, methods=["POST"])])
    async with (
        serving(receiver, gateway),
        run_sandbox(settings) as sandbox,
        httpx.AsyncClient() as http,
    ):
        providers = build_providers(settings, http, sandbox)
        for name in hooks:
            request = t2v(name, f"{settings.base_url}/hooks/{name}")  # Sora: the fixed URL
            await complete(providers[name], request, tmp_path / f"{name}.mp4")
        with anyio.fail_after(5):
            for name in hooks:
                while "completed" not in await states(providers[name], name):  # noqa: ASYNC110
                    await anyio.sleep(0.02)


async def test_the_sandbox_keeps_the_hosts_signals_and_logging_and_leaves_nothing_running(
    settings,
):
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    access = logging.getLogger("uvicorn.access")
    logging_before = (access.handlers[:], access.propagate, access.level)
    tasks = asyncio.all_tasks()
    async with run_sandbox(replace(settings, sandbox_port=0)) as sandbox:
        assert {s: signal.getsignal(s) for s in handlers} == handlers
        port = int(sandbox.urls.root.rpartition(":")[2])
    assert (access.handlers, access.propagate, access.level) == logging_before
    assert asyncio.all_tasks() == tasks
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
        pass


async def test_the_configured_port_and_knobs_are_used(settings, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    configured = replace(settings, sandbox_port=port, emulate=EmulatorSettings(latency=7.5))
    async with run_sandbox(configured) as sandbox:
        assert sandbox.urls.root == f"http://127.0.0.1:{port}"
        suite = suite_for(configured, sandbox)
        assert {emulator.knobs.latency for emulator in suite.state.emulators.values()} == {7.5}
