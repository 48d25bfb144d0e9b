"""The Sora adapter against the Sora emulator (through httpx.ASGITransport: no sockets), and
the official openai SDK against the emulator."""

from __future__ import annotations

import base64
import io
import json
import time
import warnings

import anyio
import httpx
import pytest
from PIL import Image

from service.media.render import probe_video
from service.providers.base import DispatchRequest, ProviderRejected, ProviderUnavailable
from service.providers.sora import SoraProvider
from service.sandbox.emulators.knobs import Knobs
from service.sandbox.emulators.sora import create_app
from service.webhooks.signing import SecretDeriver
from tests.contract.helpers import (
    WEBHOOK_ATTACKS,
    Receiver,
    asgi_client,
    attack_webhook,
    dispatch_request,
    finish,
    png,
    provider_factory,
)
from tests.contract.provider_contract import ProviderContract

BASE = "https://api.openai.com/v1"
HOOK = "https://gateway.test/hooks/sora"
SECRET = SecretDeriver("test-server-secret").secret("sora", 0)


def dispatch(model: str = "sora-2", **changes) -> DispatchRequest:
    return dispatch_request("sora-2", model, {"seconds": "4", "size": "1280x720"}, **changes)


class TestSora(ProviderContract):
    @pytest.fixture
    def receiver(self) -> Receiver:
        return Receiver("/hooks/sora")

    @pytest.fixture
    async def emulator(self, emulator_knobs, clock, tmp_path, receiver):
        async with asgi_client(receiver.app) as hooks:
            app = create_app(
                emulator_knobs,
                data_dir=tmp_path / "sora",
                webhook_url=HOOK,
                webhook_secret=SECRET,
                clock=clock,
                webhook_client=hooks,
                webhook_retry_delays=(0.05, 0.05),
            )
            yield app
            await app.state.emulator.aclose()

    @pytest.fixture
    async def make_provider(self, emulator, clock):
        def build(http, timeout, **options):
            settings = dict(api_key="sk-test", base_url=BASE, clock=clock, webhook_secret=SECRET)
            return SoraProvider(http, timeout=timeout, **{**settings, **options})

        async with provider_factory(build) as factory:
            yield factory

    @pytest.fixture
    def model(self) -> str:
        return "sora-2"

    @pytest.fixture
    def request_for(self):
        return dispatch

    @pytest.fixture
    def unknown_upstream_id(self) -> str:
        return "video_" + "0" * 48

    @pytest.fixture
    async def raw(self, emulator):
        headers = {"Authorization": "Bearer sk-test"}
        async with asgi_client(emulator, base_url=BASE, headers=headers) as client:
            yield client

    finish = staticmethod(finish)

    async def test_submit_maps_parameters_and_an_image_and_downloads(
        self, provider, emulator, raw, clock, tmp_path
    ):
        image = {"data": base64.b64encode(png(300, 200)).decode()}
        request = dispatch(
            "sora-2-pro", params={"seconds": 7, "size": "1024x1792"}, inputs={"image": image}
        )
        submission, done = await self.finish(provider, clock, request)
        video = emulator.state.emulator.videos[submission.upstream_id]
        assert (video.model, video.seconds, video.size) == ("sora-2-pro", "8", "1024x1792")
        assert Image.open(io.BytesIO(video.image)).size == (1024, 1792)
        assert done.output_url == f"{BASE}/videos/{video.id}/content"
        info = probe_video(await provider.download(video.id, tmp_path / "v.mp4"))
        assert (info.width, info.height, info.duration) == (128, 224, 8.0)
        thumb = await raw.get(f"/videos/{video.id}/content", params={"variant": "thumbnail"})
        assert thumb.headers["content-type"] == "image/jpeg"
        assert Image.open(io.BytesIO(thumb.content)).size == (128, 224)
        with pytest.raises(ProviderRejected) as raised:
            await provider.submit(dispatch(inputs={"image": {"url": "https://x.test/a.png"}}))
        assert raised.value.code == "image_url_unsupported"

    async def test_sizes_map_down_for_sora_2_and_invalid_fields_get_openais_400(
        self, provider, emulator, raw
    ):
        sub = await provider.submit(dispatch(params={"size": "1792x1024", "seconds": "12"}))
        video = emulator.state.emulator.videos[sub.upstream_id]
        assert (video.size, video.seconds) == ("1280x720", "12")
        cases = [
            ({"prompt": "x", "size": "1792x1024"}, "size"),
            ({"prompt": "x", "seconds": "5"}, "seconds"),
            ({"prompt": "x", "model": "sora-9"}, "model"),
            ({}, "prompt"),
        ]
        for body, param in cases:
            answer = await raw.post("/videos", json=body)
            assert answer.status_code == 400
            assert answer.json()["error"]["param"] == param
        files = {"input_reference": ("a.png", png(10, 10), "image/png")}
        answer = await raw.post("/videos", data={"prompt": "x"}, files=files)
        assert answer.json()["error"]["param"] == "input_reference"

    async def test_poll_header_progress_list_and_401(self, provider, raw, emulator, clock):
        first = (await provider.submit(dispatch())).upstream_id
        second = (await provider.submit(dispatch())).upstream_id
        clock.advance(0.2 * 0.625)
        answer = await raw.get(f"/videos/{first}")
        assert answer.headers["openai-poll-after-ms"] == "2000"
        assert answer.json()["status"] == "in_progress"
        assert 45 <= answer.json()["progress"] <= 55
        page = (await raw.get("/videos", params={"limit": 1})).json()
        assert ([v["id"] for v in page["data"]], page["has_more"]) == ([second], True)
        rest = (await raw.get("/videos", params={"after": page["last_id"]})).json()
        assert [v["id"] for v in rest["data"]] == [first]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator)) as anonymous:
            refused = await anonymous.get(f"{BASE}/videos/{first}")
        assert refused.status_code == 401
        assert refused.json()["error"]["type"] == "invalid_request_error"

    async def test_cancel_deletes_the_video(self, provider, make_provider, emulator, raw):
        video_id = (await provider.submit(dispatch())).upstream_id
        await provider.cancel(video_id)
        assert (await raw.get(f"/videos/{video_id}")).status_code == 404
        other = make_provider(httpx.ASGITransport(app=emulator), 1.0)
        with pytest.raises(ProviderRejected):
            await other.status(video_id)  # it did not delete it: an unknown job

    # --- webhooks ---------------------------------------------------------------------------

    @pytest.mark.parametrize("outcome", ["completed", "failed"])
    async def test_the_webhook_verifies_into_a_hint(
        self, provider, receiver, clock, emulator_knobs, outcome
    ):
        emulator_knobs.fail_rate = 1.0 if outcome == "failed" else 0.0
        submission, _ = await self.finish(provider, clock, dispatch(), outcome)
        await receiver.wait(1)
        headers, body, _ = receiver.calls[0]
        event = json.loads(body)
        assert event["id"].startswith("evt_") and event["object"] == "event"
        assert event["type"] == f"video.{outcome}"
        assert event["data"] == {"id": submission.upstream_id}
        hint = provider.parse_webhook(headers, body)
        assert hint.state == outcome
        assert hint.extra["video_id"] == submission.upstream_id

    @pytest.mark.parametrize("attack", WEBHOOK_ATTACKS)
    async def test_bad_webhooks_are_rejected(self, provider, receiver, clock, attack):
        await self.finish(provider, clock, dispatch())
        await receiver.wait(1)
        headers, body, _ = receiver.calls[0]
        tamper = (b"video.completed", b"video.failed")
        body, expected = attack_webhook(attack, headers, body, clock, "sora", tamper)
        with pytest.raises(ProviderRejected) as raised:
            provider.parse_webhook(headers, body)
        assert raised.value.code == expected

    async def test_no_secret_means_unverifiable(self, make_provider, emulator):
        unkeyed = make_provider(httpx.ASGITransport(app=emulator), 1.0, webhook_secret=None)
        with pytest.raises(ProviderUnavailable):
            unkeyed.parse_webhook({}, b"{}")


class TestSoraSdkFidelity:
    """openai-python pointed at the emulator (base_url + an ASGI transport); above the
    transport everything is the SDK's own code. The webhook check uses the real clock."""

    pytestmark = pytest.mark.anyio

    @pytest.fixture
    def anyio_backend(self) -> str:
        return "asyncio"

    async def test_create_retrieve_download_and_unwrap(self, tmp_path):
        openai = pytest.importorskip("openai")
        receiver = Receiver("/hooks/sora")
        hooks = asgi_client(receiver.app)
        app = create_app(
            Knobs(latency=0.3),
            data_dir=tmp_path,
            webhook_url=HOOK,
            webhook_secret=SECRET,
            webhook_client=hooks,
        )
        transport = asgi_client(app)
        client = openai.AsyncOpenAI(api_key="sk-test", base_url=BASE, http_client=transport)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                video = await client.videos.create(prompt="a fox", model="sora-2", seconds="4")
                assert (video.status, video.size, video.seconds) == ("queued", "720x1280", "4")
                deadline = time.monotonic() + 10
                while video.status in ("queued", "in_progress"):
                    assert time.monotonic() < deadline
                    await anyio.sleep(0.05)
                    video = await client.videos.retrieve(video.id)
                assert (video.status, video.progress) == ("completed", 100)
                content = await client.videos.download_content(video.id)
                (tmp_path / "o.mp4").write_bytes(content.content)
                with pytest.raises(openai.BadRequestError):
                    await client.videos.create(prompt="a fox", size="1792x1024")
                await receiver.wait(1)
                headers, body, _ = receiver.calls[0]
                event = client.webhooks.unwrap(body, headers, secret=SECRET)
                assert event.type == "video.completed"
                assert event.data.id == video.id
                with pytest.raises(openai.InvalidWebhookSignatureError):
                    client.webhooks.unwrap(body + b" ", headers, secret=SECRET)
            info = probe_video(tmp_path / "o.mp4")
            assert (info.codec, info.width, info.height) == ("h264", 90, 160)
        finally:
            await client.close()
            await app.state.emulator.aclose()
            await hooks.aclose()
