"""`vidgate emulate`: every upstream emulator in one foreground process on loopback, driven
by the provider adapters pointed at the base URLs it prints (as a gateway configured with
`VIDGATE_<NAME>_BASE_URL` overrides would be)."""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator

import anyio
import httpx
import pytest

from service.media.render import probe_video
from service.providers.registry import build_providers
from service.sandbox.suite import PROVIDERS
from service.settings import ENV_PREFIXES, Settings
from tests.e2e.server import Process, free_port, run_vidgate, server_env
from tests.integration.test_sandbox_suite import ANONYMOUS, complete, refused, t2v

pytestmark = pytest.mark.e2e
LINE = re.compile(r"^(\S+) (http://127\.0\.0\.1:\d+/\S+)$", re.MULTILINE)
# Any credentials will do: the emulators check only that one is there (Kling: a JWT).
CREDENTIALS = {
    "VIDGATE_GEMINI_API_KEY": "any-gemini-key",
    "VIDGATE_VERTEX_API_KEY": "any-vertex-key",
    "VIDGATE_VERTEX_PROJECT": "any-project",
    "VIDGATE_FAL_KEY": "any-fal-key",
    "VIDGATE_FAL_USER_ID": "any-user",
    "VIDGATE_REPLICATE_API_TOKEN": "r8_any",
    "VIDGATE_MINIMAX_API_KEY": "any-minimax-key",
    "VIDGATE_LUMA_API_KEY": "any-luma-key",
    "VIDGATE_RUNWAY_API_KEY": "any-runway-key",
    "VIDGATE_OPENAI_API_KEY": "sk-any",
    "VIDGATE_KLING_ACCESS_KEY": "any-access-key",
    "VIDGATE_KLING_SECRET_KEY": "any-secret-key-long-enough-for-hs256",
    "VIDGATE_ARK_API_KEY": "any-ark-key",
}


def printed_urls(process: Process, within: float = 30.0) -> dict[str, str]:
    """The `<provider> <base url>` lines, once all of them are out."""
    deadline = time.monotonic() + within
    while len(found := LINE.findall(process.output())) < len(PROVIDERS):
        assert process.process.poll() is None, f"emulate exited:\n{process.output()}"
        assert time.monotonic() < deadline, f"no URLs after {within}s:\n{process.output()}"
        time.sleep(0.05)
    return dict(found)


@pytest.fixture(scope="module")
def emulate(tmp_path_factory) -> Iterator[tuple[Process, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("emulate")
    port = free_port()
    env = server_env(Settings(data_dir=tmp), VIDGATE_EMULATE_LATENCY="0.3")
    with run_vidgate(env, tmp / "emulate.log", "emulate", "--port", str(port)) as process:
        yield process, printed_urls(process)


def test_emulate_prints_one_base_url_per_provider(emulate):
    process, urls = emulate
    assert [name for name, _ in LINE.findall(process.output())] == list(PROVIDERS)
    assert len(set(urls.values())) == len(PROVIDERS)
    root = urls["fal"].removesuffix("/fal")
    assert httpx.get(f"{root}/").json() == {"providers": urls}


@pytest.mark.parametrize("name", PROVIDERS)
def test_each_printed_url_refuses_calls_without_credentials(emulate, name):
    _, urls = emulate
    method, path, _ = ANONYMOUS[name]
    response = httpx.request(method, urls[name] + path, json={}, timeout=10)
    assert refused(name, response), (response.status_code, response.text)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_each_adapter_at_its_printed_url_completes_a_job_and_downloads_an_mp4(
    emulate, tmp_path, anyio_backend
):
    _, urls = emulate
    overrides = {f"VIDGATE_{ENV_PREFIXES[name]}_BASE_URL": url for name, url in urls.items()}
    settings = Settings.from_env({**CREDENTIALS, **overrides})
    videos = {}
    async with httpx.AsyncClient(timeout=10) as http:
        providers = build_providers(settings, http, None)
        assert set(providers) == set(PROVIDERS)

        async def run(name: str) -> None:
            videos[name] = await complete(providers[name], t2v(name), tmp_path / f"{name}.mp4")

        async with anyio.create_task_group() as jobs:
            for name in PROVIDERS:
                jobs.start_soon(run, name)
    for name, video in videos.items():
        assert video.read_bytes()[4:8] == b"ftyp", name
        assert probe_video(video).frames > 0, name


def test_emulate_stops_cleanly_on_sigterm(tmp_path):
    env = server_env(Settings(data_dir=tmp_path))
    with run_vidgate(env, tmp_path / "emulate.log", "emulate", "--port", str(free_port())) as p:
        printed_urls(p)
        p.process.send_signal(signal.SIGTERM)
        assert p.process.wait(15) == 0, p.output()
    assert "Application shutdown complete" in p.output()
