"""The Luma Dream Machine adapter against the Luma emulator (httpx.ASGITransport: no sockets),
and the official `lumaai` SDK against the emulator."""

from __future__ import annotations

import json
import time
import uuid

import anyio
import httpx
import pytest

from service.media.render import probe_video
from service.providers.base import DispatchRequest, ProviderRejected
from service.providers.luma import LumaProvider, luma_body
from service.sandbox.emulators.knobs import Knobs
from service.sandbox.emulators.luma import API_PREFIX, create_app
from tests.contract.helpers import (
    Receiver,
    asgi_client,
    dispatch_request,
    finish,
    provider_factory,
)
from tests.contract.provider_contract import ProviderContract, wait_for_state

ORIGIN = "https://api.lumalabs.ai"
BASE = ORIGIN + API_PREFIX
HOOK = "https://gateway.test/hooks/luma"


def dispatch(**changes) -> DispatchRequest:
    return dispatch_request("ray-2", "ray-2", {"seconds": "5", "size": "1280x720"}, **changes)


class TestLuma(ProviderContract):
    @pytest.fixture
    def receiver(self) -> Receiver:
        return Receiver("/hooks/luma")

    @pytest.fixture
    async def emulator(self, emulator_knobs, clock, tmp_path, receiver):
        async with asgi_client(receiver.app) as hooks:
            app = create_app(
                emulator_knobs,
                data_dir=tmp_path / "luma",
                base_url=ORIGIN,
                clock=clock,
                webhook_client=hooks,
            )
            yield app
            await app.state.emulator.aclose()

    @pytest.fixture
    async def make_provider(self, emulator, clock):
        def build(http, timeout):
            return LumaProvider(http, api_key="luma-test-key", timeout=timeout)

        async with provider_factory(build) as factory:
            yield factory

    @pytest.fixture
    def model(self) -> str:
        return "ray-2"

    @pytest.fixture
    def request_for(self):
        return lambda model: dispatch(upstream_model=model)

    @pytest.fixture
    def unknown_upstream_id(self) -> str:
        return str(uuid.uuid4())

    @pytest.fixture
    def generations(self, emulator):
        return emulator.state.emulator.generations

    @pytest.fixture
    async def raw(self, emulator):
        async with asgi_client(emulator, headers={"Authorization": "Bearer k"}) as client:
            yield client

    finish = staticmethod(finish)

    # --- the generations protocol -----------------------------------------------------------

    async def test_submit_maps_our_parameters(self, provider, generations, clock, tmp_path):
        params = {"seconds": 9, "size": "720x1280", "loop": True}
        image = {"image": {"url": "https://img.example/cat.png"}}
        request = dispatch(params=params, inputs=image, callback_url=HOOK)
        submission, done = await self.finish(provider, clock, request)
        assert generations[submission.upstream_id].request == {
            "model": "ray-2",
            "prompt": "a red fox in snow",
            "duration": "9s",
            "aspect_ratio": "9:16",
            "resolution": "720p",
            "loop": True,
            "keyframes": {"frame0": {"type": "image", "url": "https://img.example/cat.png"}},
            "callback_url": HOOK,
        }
        assert (done.raw_status, done.progress) == ("completed", 100)
        assert done.extra["generation"]["assets"]["image"].endswith(".jpg")
        info = probe_video(await provider.download(submission.upstream_id, tmp_path / "v.mp4"))
        assert (info.width, info.height, info.duration) == (90, 160, 9.0)

    async def test_a_source_video_goes_to_lumas_modify_call(
        self, provider, generations, clock, tmp_path
    ):
        clip = "https://media.example/source.mp4"
        request = dispatch(inputs={"video": {"url": clip}}, callback_url=HOOK)
        submission, done = await self.finish(provider, clock, request)
        generation = generations[submission.upstream_id]
        assert (generation.kind, generation.request) == (
            "modify_video",
            {
                "model": "ray-2",
                "media": {"url": clip},
                "mode": "flex_1",
                "prompt": "a red fox in snow",
                "callback_url": HOOK,
            },
        )
        assert done.state == "completed"
        assert done.extra["generation"]["generation_type"] == "modify_video"
        info = probe_video(await provider.download(submission.upstream_id, tmp_path / "v.mp4"))
        assert info.codec == "h264"

    @pytest.mark.parametrize(
        ("change", "problem"),
        [
            ({"mode": "wild"}, "mode must be"),
            ({"media": {"url": "source.mp4"}}, "media must be"),
            ({"model": "ray-1-6"}, "model must be"),
            ({"generation_type": "video"}, "generation_type must be"),
        ],
    )
    async def test_a_bad_modify_request_gets_lumas_error_shape(self, raw, change, problem):
        body = {
            "generation_type": "modify_video",
            "model": "ray-2",
            "media": {"url": "https://media.example/a.mp4"},
            "mode": "adhere_1",
        }
        bad = await raw.post(f"{BASE}/generations/video/modify", json=body | change)
        assert bad.status_code == 400 and problem in bad.json()["detail"]

    @pytest.mark.parametrize(
        ("params", "body"),
        [
            (
                {"seconds": "5", "resolution": "1080p", "aspect_ratio": "21:9"},
                {"duration": "5s", "resolution": "1080p", "aspect_ratio": "21:9"},
            ),
            ({"size": "3840x2160"}, {"resolution": "4k", "aspect_ratio": "16:9"}),
            ({"size": "960x540"}, {"resolution": "540p", "aspect_ratio": "16:9"}),
            ({"size": "1024x1024"}, {"resolution": "1080p", "aspect_ratio": "1:1"}),
        ],
    )
    async def test_parameter_mapping(self, params, body):
        mapped = luma_body(dispatch(params=params))
        assert {k: mapped[k] for k in body} == body

    @pytest.mark.parametrize("seconds", ["4", 8, "10", "12"])
    async def test_other_durations_are_refused_with_the_allowed_values(
        self, provider, generations, seconds
    ):
        with pytest.raises(ProviderRejected, match='"5s" \\| "9s"') as raised:
            await provider.submit(dispatch(params={"seconds": seconds}))
        assert raised.value.code == "invalid_duration"
        assert not generations

    async def test_uploaded_images_are_refused_before_any_call(self, provider, generations):
        with pytest.raises(ProviderRejected, match="image_url") as raised:
            await provider.submit(dispatch(inputs={"image": {"sha256": "ab" * 32}}))
        assert raised.value.code == "image_upload_unsupported"
        assert not generations

    async def test_dreaming_is_in_progress_without_a_percentage(
        self, provider, clock, emulator_knobs
    ):
        submission = await provider.submit(dispatch())
        clock.advance(emulator_knobs.latency * 0.5)
        running = await wait_for_state(provider, submission.upstream_id, {"in_progress"})
        assert (running.raw_status, running.progress) == ("dreaming", None)
        assert running.extra["generation"]["id"] == submission.upstream_id

    async def test_invalid_requests_get_lumas_error_shape(self, raw, provider):
        bad = await raw.post(f"{BASE}/generations", json={"model": "ray-9", "prompt": "x"})
        assert bad.status_code == 400
        assert isinstance(bad.json()["detail"], str)
        with pytest.raises(ProviderRejected, match="model must be"):
            await provider.submit(dispatch(upstream_model="ray-9"))

    async def test_calls_without_a_bearer_token_get_401(self, emulator):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator)) as anonymous:
            response = await anonymous.get(f"{BASE}/generations")
        assert response.status_code == 401
        assert "detail" in response.json()

    async def test_list_pages_newest_first(self, raw, provider):
        ids = [(await provider.submit(dispatch())).upstream_id for _ in range(3)]
        page = (await raw.get(f"{BASE}/generations", params={"limit": 2, "offset": 1})).json()
        assert [g["id"] for g in page["generations"]] == ids[::-1][1:3]
        assert (page["count"], page["limit"], page["offset"], page["has_more"]) == (2, 2, 1, False)

    async def test_delete_removes_the_generation(self, provider, make_provider, emulator, raw):
        submission = await provider.submit(dispatch())
        await provider.cancel(submission.upstream_id)
        gone = await raw.get(f"{BASE}/generations/{submission.upstream_id}")
        assert (gone.status_code, gone.json()) == (404, {"detail": "Generation not found"})
        other = make_provider(httpx.ASGITransport(app=emulator), 1.0)  # never deleted it
        with pytest.raises(ProviderRejected):
            await other.status(submission.upstream_id)

    # --- callbacks --------------------------------------------------------------------------

    async def test_a_callback_on_each_state_change(self, provider, receiver, clock):
        submission, done = await self.finish(provider, clock, dispatch(callback_url=HOOK))
        await receiver.wait(2)
        await anyio.sleep(0.05)
        assert receiver.states() == ["dreaming", "completed"]
        headers, body, _ = receiver.calls[-1]
        assert not any("signature" in name for name in headers)  # Luma does not sign
        hint = provider.parse_webhook(headers, body)
        assert (hint.state, hint.output_url, hint.extra["verified"]) == (
            "completed",
            done.output_url,
            False,
        )
        assert json.loads(body)["id"] == submission.upstream_id

    async def test_a_failed_generation_calls_back_failed(
        self, provider, receiver, clock, emulator_knobs
    ):
        emulator_knobs.fail_rate = 1.0
        _, failed = await self.finish(provider, clock, dispatch(callback_url=HOOK), "failed")
        await receiver.wait(2)
        assert receiver.states() == ["dreaming", "failed"]
        hint = provider.parse_webhook(*receiver.calls[-1][:2])
        assert (hint.state, hint.error_message) == ("failed", failed.error_message)

    async def test_a_failing_receiver_is_tried_three_times_100ms_apart(
        self, provider, receiver, clock, emulator_knobs
    ):
        receiver.fail = 99
        submission = await provider.submit(dispatch(callback_url=HOOK))
        clock.advance(emulator_knobs.latency * 0.5)  # → dreaming: one callback
        await wait_for_state(provider, submission.upstream_id, {"in_progress"})
        await receiver.wait(3)
        await anyio.sleep(0.3)
        assert receiver.states() == ["dreaming"] * 3
        gaps = [b[2] - a[2] for a, b in zip(receiver.calls, receiver.calls[1:], strict=False)]
        assert all(0.09 <= gap < 0.3 for gap in gaps)

    @pytest.mark.parametrize("body", [b"not json", b"[]", b'{"id": "x", "state": "melting"}'])
    async def test_malformed_callbacks_are_rejected(self, provider, body):
        with pytest.raises(ProviderRejected):
            provider.parse_webhook({}, body)

    async def test_callback_loss(self, provider, receiver, clock, emulator_knobs):
        emulator_knobs.webhook_loss = 1.0
        await self.finish(provider, clock, dispatch(callback_url=HOOK))
        await anyio.sleep(0.2)
        assert receiver.calls == []

    async def test_callback_duplicates(self, provider, receiver, clock, emulator_knobs):
        emulator_knobs.webhook_duplicate = 1.0
        await self.finish(provider, clock, dispatch(callback_url=HOOK))
        await receiver.wait(4)
        assert receiver.states() == ["dreaming", "dreaming", "completed", "completed"]

    async def test_callback_delay(self, provider, receiver, clock, emulator_knobs):
        emulator_knobs.webhook_delay = 0.3
        submission = await provider.submit(dispatch(callback_url=HOOK))
        clock.advance(emulator_knobs.latency * 0.5)
        await wait_for_state(provider, submission.upstream_id, {"in_progress"})
        changed = time.monotonic()
        await receiver.wait(1)
        assert receiver.calls[0][2] - changed >= 0.25
        assert receiver.states() == ["dreaming"]

    async def test_callback_reorder_lets_a_later_one_overtake(
        self, provider, receiver, clock, emulator_knobs
    ):
        emulator_knobs.webhook_reorder = 1.0
        submission = await provider.submit(dispatch(callback_url=HOOK))
        clock.advance(emulator_knobs.latency * 0.5)
        await wait_for_state(provider, submission.upstream_id, {"in_progress"})
        await anyio.sleep(0.05)  # the dreaming callback is held back
        assert receiver.calls == []
        clock.advance(emulator_knobs.latency)
        await wait_for_state(provider, submission.upstream_id, {"completed"})
        await receiver.wait(2, within=0.8)  # well before the hold would have expired
        assert receiver.states() == ["completed", "dreaming"]


class TestLumaSdkFidelity:
    """The official `lumaai` SDK, unchanged, pointed at the emulator (its httpx client gets
    an ASGI transport; everything above the transport is lumaai's code)."""

    pytestmark = pytest.mark.anyio

    @pytest.fixture
    def anyio_backend(self) -> str:
        return "asyncio"

    @pytest.fixture
    async def sdk(self, tmp_path):
        lumaai = pytest.importorskip("lumaai")
        app = create_app(Knobs(latency=0.3), data_dir=tmp_path, base_url=ORIGIN)
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
        client = lumaai.AsyncLumaAI(auth_token="luma-test-key", base_url=BASE, http_client=http)
        yield lumaai, client, http
        await client.close()
        await app.state.emulator.aclose()

    async def test_create_then_get_until_completed(self, sdk, tmp_path):
        _, client, http = sdk
        keyframes = {"frame0": {"type": "image", "url": "https://img.example/cat.png"}}
        generation = await client.generations.create(
            model="ray-flash-2",
            prompt="a fox",
            aspect_ratio="1:1",
            duration="5s",
            resolution="540p",
            loop=False,
            keyframes=keyframes,
            callback_url=HOOK,
        )
        assert (generation.state, generation.generation_type) == ("queued", "video")
        assert generation.request.keyframes.frame0.url == keyframes["frame0"]["url"]
        seen = set()
        with anyio.fail_after(10):
            while generation.state not in ("completed", "failed"):
                await anyio.sleep(0.02)
                generation = await client.generations.get(generation.id)
                seen.add(generation.state)
        assert generation.state == "completed"
        assert "dreaming" in seen
        assert generation.created_at.tzinfo is not None
        assert generation.model == "ray-flash-2"
        listed = await client.generations.list(limit=5)
        assert [g.id for g in listed.generations] == [generation.id]
        video = await http.get(generation.assets.video)
        (tmp_path / "out.mp4").write_bytes(video.content)
        assert probe_video(tmp_path / "out.mp4").codec == "h264"
        await client.generations.delete(generation.id)

    async def test_modify_a_video_with_the_sdk(self, sdk):
        _, client, _ = sdk
        generation = await client.generations.video.modify(
            generation_type="modify_video",
            media={"url": "https://media.example/source.mp4"},
            mode="reimagine_2",
            model="ray-flash-2",
            prompt="make it snow",
        )
        assert (generation.state, generation.generation_type) == ("queued", "modify_video")
        with anyio.fail_after(10):
            while generation.state not in ("completed", "failed"):
                await anyio.sleep(0.02)
                generation = await client.generations.get(generation.id)
        assert generation.state == "completed" and generation.assets.video

    async def test_sdk_raises_its_errors(self, sdk):
        lumaai, client, _ = sdk
        with pytest.raises(lumaai.NotFoundError):
            await client.generations.get(str(uuid.uuid4()))
        with pytest.raises(lumaai.BadRequestError):
            await client.generations.create(model="ray-2", duration="7s")  # type: ignore[arg-type]
        bad = lumaai.AsyncLumaAI(
            auth_token=" ", base_url=BASE, http_client=client._client, max_retries=0
        )
        with pytest.raises(lumaai.AuthenticationError):
            await bad.generations.list()
