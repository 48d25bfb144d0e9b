"""The Seedance adapter against the Seedance (Ark) emulator (httpx.ASGITransport, no sockets)."""

from __future__ import annotations

import json
from dataclasses import replace

import httpx
import pytest

from service.media.render import probe_video
from service.providers.base import DispatchRequest, ProviderRejected
from service.providers.seedance import SeedanceProvider
from service.sandbox.emulators.seedance import create_app, tiny_size
from service.sandbox.emulators.seedance_rules import parse_flags
from tests.contract.helpers import dispatch_request, finish, png, png_input, provider_factory
from tests.contract.provider_contract import ProviderContract, wait_for_state

ROOT = "https://ark.ap-southeast.bytepluses.com"
KEY = "ark-" + "0" * 32
MODEL = "seedance-1-0-pro-250528"


def dispatch(model: str = MODEL, **changes) -> DispatchRequest:
    params = {"seconds": 5, "aspect_ratio": "16:9"}
    return dispatch_request("seedance-pro", model, params, {"image": png_input()}, **changes)


class TestSeedance(ProviderContract):
    @pytest.fixture
    def emulator(self, emulator_knobs, clock, tmp_path):
        return create_app(
            emulator_knobs,
            data_dir=tmp_path / "seedance",
            base_url=ROOT,
            clock=clock,
            api_keys={KEY},
            hang_seconds=5.0,
        )

    @pytest.fixture
    def state(self, emulator):
        return emulator.state.emulator

    @pytest.fixture
    async def make_provider(self, emulator, clock):
        def build(http, timeout, **options):
            options = {"api_key": KEY, "base_url": f"{ROOT}/api/v3", **options}
            return SeedanceProvider(http, timeout=timeout, **options)

        async with provider_factory(build) as factory:
            yield factory

    @pytest.fixture
    def model(self) -> str:
        return MODEL

    @pytest.fixture
    def request_for(self):
        return dispatch

    @pytest.fixture
    def unknown_upstream_id(self) -> str:
        return "cgt-20250101000000-abcde"

    finish = staticmethod(finish)

    async def test_parameters_map_onto_ark_fields(self, provider, state, clock, tmp_path):
        params = {"seconds": 10, "aspect_ratio": "9:16", "resolution": "480p", "seed": 7}
        submission, done = await self.finish(provider, clock, dispatch(params=params))
        task = state.tasks[submission.upstream_id].request
        assert (task.ratio, task.duration, task.resolution, task.seed, task.flags) == (
            "9:16",
            10,
            "480p",
            7,
            {},
        )
        assert task.images == (("first_frame", png(), None),)
        assert done.extra["seed"] == 7 and done.extra["usage"]["total_tokens"] > 0
        info = probe_video(await provider.download(submission.upstream_id, tmp_path / "v.mp4"))
        assert (info.width, info.height, info.duration) == (*tiny_size("9:16"), 10.0)

    async def test_text_flags_mode_sends_parameters_in_the_prompt(
        self, make_provider, emulator, state
    ):
        provider = make_provider(httpx.ASGITransport(app=emulator), 1.0, text_flags=True)
        params = {"seconds": 10, "aspect_ratio": "1:1", "seed": 3, "camera_fixed": True}
        submission = await provider.submit(dispatch(params=params, inputs={}))
        task = state.tasks[submission.upstream_id].request
        assert (task.prompt, task.ratio, task.duration, task.seed, task.camera_fixed) == (
            "a red fox in snow",
            "1:1",
            10,
            3,
            True,
        )

    def test_flag_parsing(self):
        prompt, flags = parse_flags(
            "a fox --rs 480p --ratio 16:9 --dur 10 --seed 42 --cf true --unknown x"
        )
        assert prompt == "a fox --unknown x"
        assert flags == {
            "resolution": "480p",
            "ratio": "16:9",
            "duration": "10",
            "seed": "42",
            "camera_fixed": "true",
        }

    async def test_flags_are_weak_and_top_level_fields_win(self, emulator):
        body = {
            "model": MODEL,
            "ratio": "4:3",
            "content": [{"type": "text", "text": "a fox --ratio 1:1 --dur 99"}],
        }
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=emulator), base_url=ROOT
        ) as http:
            headers = {"Authorization": f"Bearer {KEY}"}
            answer = await http.post(
                "/api/v3/contents/generations/tasks", json=body, headers=headers
            )
            task = emulator.state.emulator.tasks[answer.json()["id"]].request
            assert (task.ratio, task.duration) == ("4:3", 5)  # the bad --dur falls back
            strict = await http.post(
                "/api/v3/contents/generations/tasks", json=body | {"duration": 99}, headers=headers
            )
            assert strict.status_code == 400
            assert strict.json()["error"]["param"] == "duration"
            assert set(strict.json()["error"]) == {"code", "message", "param", "type"}
            anonymous = await http.get("/api/v3/contents/generations/tasks/cgt-x")
            assert anonymous.json()["error"]["code"] == "AuthenticationError"

    @pytest.mark.parametrize(
        ("changes", "code"),
        [
            ({"params": {"seconds": 13}}, "invalid_request"),
            ({"params": {"aspect_ratio": "2:1"}}, "invalid_request"),
            ({"upstream_model": "seedance-1-0-lite-t2v-250428"}, "invalid_request"),
            ({"upstream_model": "seedance-9"}, "not_found"),
        ],
    )
    async def test_the_emulator_refuses_what_ark_would(self, provider, changes, code):
        with pytest.raises(ProviderRejected) as raised:
            await provider.submit(replace(dispatch(), **changes))
        assert raised.value.code == code

    async def test_bad_keys_are_upstream_auth(self, make_provider, emulator):
        provider = make_provider(httpx.ASGITransport(app=emulator), 1.0, api_key="wrong")
        with pytest.raises(ProviderRejected) as raised:
            await provider.submit(dispatch())
        assert raised.value.code == "upstream_auth"

    async def test_moderation_failures_are_content_filtered(self, provider, state, clock):
        state.safety_rate = 1.0
        _, failed = await self.finish(provider, clock, dispatch(), state="failed")
        assert failed.error_code == "content_filtered"
        assert failed.extra["failure_code"] == "OutputVideoSensitiveContentDetected"

    async def test_running_tasks_cannot_be_cancelled_and_done_ones_are_deleted(
        self, provider, state, clock, emulator_knobs
    ):
        submission = await provider.submit(dispatch())
        clock.advance(emulator_knobs.latency * 0.5)
        running = await provider.status(submission.upstream_id)
        assert (running.state, running.raw_status) == ("in_progress", "running")
        with pytest.raises(ProviderRejected) as raised:
            await provider.cancel(submission.upstream_id)
        assert raised.value.code == "not_cancellable"
        clock.advance(60.0)
        await wait_for_state(provider, submission.upstream_id, {"completed"})
        await provider.cancel(submission.upstream_id)
        assert submission.upstream_id not in state.tasks
        await provider.cancel(submission.upstream_id)  # already gone: fine

    async def test_tasks_expire_after_seven_days(self, provider, clock):
        submission = await provider.submit(dispatch())
        clock.advance(8 * 24 * 3600)
        expired = await provider.status(submission.upstream_id)
        assert (expired.state, expired.raw_status, expired.error_code) == (
            "failed",
            "expired",
            "expired",
        )

    async def test_callbacks_are_unverified_hints(self, provider):
        body = {"id": "cgt-1", "status": "succeeded", "content": {"video_url": "https://v/x"}}
        hint = provider.parse_webhook({}, json.dumps(body).encode())
        assert (hint.state, hint.output_url, hint.extra["verified"]) == (
            "completed",
            "https://v/x",
            False,
        )
        with pytest.raises(ProviderRejected):
            provider.parse_webhook({}, b"not json")

    async def test_download_sends_no_key_to_the_video_host(self, make_provider, tmp_path):
        seen: list[tuple[str, str | None]] = []
        task = {"id": "cgt-1", "status": "succeeded", "content": {"video_url": "https://cdn.x/v"}}

        def answer(request: httpx.Request) -> httpx.Response:
            seen.append((request.url.host, request.headers.get("authorization")))
            if request.url.host == "cdn.x":
                return httpx.Response(200, content=b"mp4")
            return httpx.Response(200, json=task)

        provider = make_provider(httpx.MockTransport(answer), 1.0)
        assert (await provider.download("cgt-1", tmp_path / "d.mp4")).read_bytes() == b"mp4"
        assert seen == [("ark.ap-southeast.bytepluses.com", f"Bearer {KEY}"), ("cdn.x", None)]

    async def test_unmappable_requests_are_refused_before_any_call(self, provider, state):
        with pytest.raises(ProviderRejected, match="whole seconds"):
            await provider.submit(dispatch(params={"seconds": "4.5"}))
        with pytest.raises(ProviderRejected, match="base64"):
            await provider.submit(dispatch(inputs={"image": {"data": "not base64!"}}))
        assert not state.tasks
