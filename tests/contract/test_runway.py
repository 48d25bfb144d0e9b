"""The Runway adapter against the Runway emulator (httpx.ASGITransport, no sockets), plus
fidelity: the official `runwayml` SDK driving the emulator on a real uvicorn on 127.0.0.1.
"""

from __future__ import annotations

import base64
import random
import time
import uuid
from dataclasses import replace
from pathlib import Path

import anyio
import httpx
import pytest
import runwayml
from runwayml.lib import polling

from service.media.render import probe_video
from service.providers.base import DispatchRequest, ProviderRejected
from service.providers.runway import RunwayProvider
from service.sandbox.emulators.knobs import Knobs
from service.sandbox.emulators.runway import create_app, tiny_size
from tests.contract.helpers import (
    dispatch_request,
    finish,
    live_server,
    png,
    png_input,
    provider_factory,
)
from tests.contract.provider_contract import ProviderContract, wait_for_state

ROOT = "https://api.dev.runwayml.com"
KEY = "key_" + "0" * 128
HEADERS = {"Authorization": f"Bearer {KEY}", "X-Runway-Version": "2024-11-06"}


def dispatch(model: str = "gen4_turbo", **changes) -> DispatchRequest:
    params = {"seconds": "5", "size": "1280x720"}
    return dispatch_request("runway-gen4-turbo", model, params, {"image": png_input()}, **changes)


def data_uri() -> str:
    return "data:image/png;base64," + base64.b64encode(png()).decode()


class TestRunway(ProviderContract):
    @pytest.fixture
    def emulator(self, emulator_knobs, clock, tmp_path):
        return create_app(
            emulator_knobs,
            data_dir=tmp_path / "runway",
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
            options = {"api_key": KEY, "base_url": f"{ROOT}/v1", **options}
            return RunwayProvider(http, timeout=timeout, **options)

        async with provider_factory(build) as factory:
            yield factory

    @pytest.fixture
    def model(self) -> str:
        return "gen4_turbo"

    @pytest.fixture
    def request_for(self):
        return dispatch

    @pytest.fixture
    def unknown_upstream_id(self) -> str:
        return str(uuid.uuid4())

    finish = staticmethod(finish)

    async def test_running_reports_progress_as_a_percent(self, provider, clock, emulator_knobs):
        submission = await provider.submit(dispatch())
        queued = await provider.status(submission.upstream_id)
        assert (queued.state, queued.raw_status, queued.progress) == ("queued", "PENDING", None)
        clock.advance(emulator_knobs.latency * 0.55)
        running = await provider.status(submission.upstream_id)
        assert (running.state, running.raw_status) == ("in_progress", "RUNNING")
        assert running.progress == 50

    async def test_throttled_tasks_are_queued(self, provider, state):
        state.throttle_rate = 1.0
        status = await provider.status((await provider.submit(dispatch())).upstream_id)
        assert (status.state, status.raw_status) == ("queued", "THROTTLED")

    async def test_moderation_failures_are_content_filtered(self, provider, state, clock):
        state.safety_rate = 1.0
        submission, failed = await self.finish(provider, clock, dispatch(), state="failed")
        assert failed.error_code == "content_filtered"
        assert failed.extra["failure_code"] == "SAFETY.INPUT.TEXT"
        with pytest.raises(ProviderRejected):
            await provider.download(submission.upstream_id, Path("/nonexistent/never.mp4"))

    async def test_parameters_map_onto_runway(self, provider, state, clock, tmp_path):
        params = {"seconds": 10, "size": "720x1280", "seed": 7}
        submission, _ = await self.finish(provider, clock, dispatch(params=params))
        request = state.tasks[submission.upstream_id].request
        assert (request.endpoint, request.ratio, request.seconds, request.seed) == (
            "image_to_video",
            "720:1280",
            10,
            7,
        )
        assert request.image == png()
        info = probe_video(await provider.download(submission.upstream_id, tmp_path / "v.mp4"))
        assert (info.width, info.height, info.duration) == (*tiny_size("720:1280"), 10.0)

    async def test_text_only_requests_go_to_text_to_video(self, provider, state, clock):
        request = dispatch("gen4.5", inputs={}, params={"seconds": 4, "aspect_ratio": "9:16"})
        submission, _ = await self.finish(provider, clock, request)
        task = state.tasks[submission.upstream_id].request
        assert (task.endpoint, task.model, task.ratio, task.seconds) == (
            "text_to_video",
            "gen4.5",
            "720:1280",
            4,
        )

    async def test_image_urls_pass_through(self, provider, state):
        inputs = {"image": {"url": "https://img.example/cat.png"}}
        submission = await provider.submit(dispatch(inputs=inputs))
        assert state.tasks[submission.upstream_id].request.image_url == inputs["image"]["url"]

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"params": {"seconds": 7}}, "duration"),
            ({"params": {"size": "1920x1080"}}, "ratio"),
            ({"prompt": "x" * 1001}, "promptText"),
            # bytes that are no image (an IP-hosted URL, also refused, is never sent: the
            # dispatcher fetches what `takes_image_url` declines)
            (
                {"inputs": {"image": {"data": "bm90IGFuIGltYWdl", "content_type": "image/png"}}},
                "promptImage",
            ),
            ({"upstream_model": "gen3a_turbo"}, "model"),
        ],
    )
    async def test_the_emulator_refuses_what_the_model_would(self, provider, changes, field):
        with pytest.raises(ProviderRejected, match=field) as raised:
            await provider.submit(replace(dispatch(), **changes))
        assert raised.value.code == "invalid_request"

    @pytest.mark.parametrize(
        ("params", "inputs", "match"),
        [
            ({"seconds": "4.5"}, None, "whole seconds"),
            ({"size": "big"}, None, "WIDTHxHEIGHT"),
            ({"aspect_ratio": "1:1"}, None, "aspect_ratio"),
            ({}, {"image": {"url": "http://img.example/cat.png"}}, "https"),
            ({}, {"image": {"data": "not base64!"}}, "base64"),
        ],
    )
    async def test_unmappable_requests_are_refused_before_any_call(
        self, provider, state, params, inputs, match
    ):
        request = dispatch(params=params) if inputs is None else dispatch(inputs=inputs)
        with pytest.raises(ProviderRejected, match=match):
            await provider.submit(request)
        assert not state.tasks

    async def test_stored_images_are_read_through_read_input(self, make_provider, emulator, state):
        asked: list[str] = []
        provider = make_provider(
            httpx.ASGITransport(app=emulator),
            1.0,
            read_input=lambda digest: asked.append(digest) or png(),
        )
        inputs = {"image": {"sha256": "ab" * 32}}
        submission = await provider.submit(dispatch(inputs=inputs))
        assert asked == ["ab" * 32]
        assert state.tasks[submission.upstream_id].request.image == png()

    @pytest.mark.parametrize(
        ("options", "code"),
        [
            ({"api_key": "key_wrong"}, "upstream_auth"),
            ({"version": "2023-01-01"}, "invalid_request"),
        ],
    )
    async def test_bad_keys_and_versions_are_rejected(self, make_provider, emulator, options, code):
        provider = make_provider(httpx.ASGITransport(app=emulator), 1.0, **options)
        with pytest.raises(ProviderRejected) as raised:
            await provider.submit(dispatch())
        assert raised.value.code == code

    async def test_webhooks_are_refused(self, provider):
        with pytest.raises(ProviderRejected, match="no webhooks"):
            provider.parse_webhook({}, b"{}")

    async def test_cancel_after_completion_deletes_and_is_idempotent(self, provider, state, clock):
        submission, _ = await self.finish(provider, clock, dispatch())
        await provider.cancel(submission.upstream_id)
        assert submission.upstream_id not in state.tasks
        await provider.cancel(submission.upstream_id)  # 404: already gone
        with pytest.raises(ProviderRejected) as raised:
            await provider.status(submission.upstream_id)
        assert raised.value.code == "not_found"

    async def test_download_sends_no_key_to_the_output_host(self, make_provider, tmp_path):
        task_id, seen = str(uuid.uuid4()), []
        task = {
            "id": task_id,
            "status": "SUCCEEDED",
            "createdAt": "2025-01-01T00:00:00.000Z",
            "output": ["https://cdn.example/v.mp4?_jwt=x"],
            "cost": {"credits": 25},
        }

        def answer(request: httpx.Request) -> httpx.Response:
            seen.append((request.url.host, request.headers.get("authorization")))
            if request.url.host == "cdn.example":
                return httpx.Response(200, content=b"mp4 bytes")
            return httpx.Response(200, json=task)

        provider = make_provider(httpx.MockTransport(answer), 1.0)
        assert (await provider.download(task_id, tmp_path / "d.mp4")).read_bytes() == b"mp4 bytes"
        assert seen == [("api.dev.runwayml.com", f"Bearer {KEY}"), ("cdn.example", None)]

    async def test_the_emulator_speaks_runways_errors(self, emulator):
        transport = httpx.ASGITransport(app=emulator)
        async with httpx.AsyncClient(transport=transport, base_url=ROOT) as http:
            body = {"model": "gen4_turbo", "promptImage": data_uri(), "ratio": "1280:720"}
            missing = await http.post(
                "/v1/image_to_video", json=body, headers={"Authorization": f"Bearer {KEY}"}
            )
            assert missing.status_code == 400
            assert "X-Runway-Version" in missing.json()["error"]
            anonymous = await http.get(f"/v1/tasks/{uuid.uuid4()}")
            assert (anonymous.status_code, list(anonymous.json())) == (401, ["error"])
            bad = await http.post(
                "/v1/image_to_video", json=body | {"ratio": "1:1"}, headers=HEADERS
            )
            assert bad.status_code == 400
            assert bad.json()["issues"][0]["path"] == ["ratio"]
            task_id = (await http.post("/v1/image_to_video", json=body, headers=HEADERS)).json()
            emulator.state.emulator.clock = lambda: time.time() + 60
            done = (await http.get(f"/v1/tasks/{task_id['id']}", headers=HEADERS)).json()
            url = done["output"][0]
            assert (await http.get(url.split("?")[0] + "?_jwt=forged")).status_code == 403
            video = await http.get(url)
            assert (video.status_code, video.headers["content-type"]) == (200, "video/mp4")


# --- fidelity: the official runwayml SDK against the emulator on a real socket ---------------


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    knobs = Knobs(latency=0.3, rng=random.Random(3))
    data_dir = tmp_path_factory.mktemp("runway-live")
    with live_server(
        lambda base: create_app(knobs, data_dir=data_dir, base_url=base, api_keys={KEY})
    ) as base:
        yield base, knobs


@pytest.fixture
def fast_polling(monkeypatch):
    monkeypatch.setattr(polling, "POLL_TIME", 0.05)  # the SDK waits 6 s ± 1.5 s between polls
    monkeypatch.setattr(polling, "POLL_JITTER", 0)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_the_async_sdk_creates_waits_and_downloads(live, fast_polling, tmp_path):
    base, _ = live
    async with runwayml.AsyncRunwayML(api_key=KEY, base_url=base, max_retries=0) as client:
        task = await client.image_to_video.create(
            model="gen4_turbo",
            prompt_image=data_uri(),
            ratio="960:960",
            duration=5,
            seed=4,
            prompt_text="a fox",
        )
        done = await task.wait_for_task_output(timeout=10)
        assert done.status == "SUCCEEDED"
        async with httpx.AsyncClient() as http:
            (tmp_path / "sdk.mp4").write_bytes((await http.get(done.output[0])).content)
        info = probe_video(tmp_path / "sdk.mp4")
        assert (info.codec, info.width, info.height, info.duration) == ("h264", 64, 64, 5.0)

        cancelled = await client.text_to_video.create(
            model="veo3.1_fast", prompt_text="a fox", ratio="1280:720", duration=4
        )
        await client.tasks.delete(cancelled.id)
        with pytest.raises(runwayml.TaskFailedError) as raised:  # the async waiter sees it
            await cancelled.wait_for_task_output(timeout=10)
        assert raised.value.task_details.status == "CANCELLED"


def test_the_sync_sdk_polls_and_maps_errors(live, fast_polling):
    base, knobs = live
    with runwayml.RunwayML(api_key=KEY, base_url=base, max_retries=0) as client:
        task = client.text_to_video.create(
            model="gen4.5", prompt_text="a fox", ratio="720:1280", duration=2
        )
        deadline = time.monotonic() + 10  # plain polling: the sync waiter never sees CANCELLED
        seen = set()
        while (current := client.tasks.retrieve(task.id)).status not in ("SUCCEEDED", "FAILED"):
            seen.add(current.status)
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert current.status == "SUCCEEDED" and current.cost.credits > 0
        assert seen <= {"PENDING", "RUNNING"} and current.created_at.year >= 2024
        cancelled = client.text_to_video.create(
            model="gen4.5", prompt_text="a fox", ratio="720:1280", duration=2
        )
        client.tasks.delete(cancelled.id)
        with pytest.raises(runwayml.TaskTimeoutError) as trap:  # 5.24's sync waiter: no CANCELLED
            cancelled.wait_for_task_output(timeout=0.2)
        assert trap.value.task_details.status == "CANCELLED"
        with pytest.raises(runwayml.BadRequestError, match="duration"):
            client.text_to_video.create(
                model="gen4.5", prompt_text="x", ratio="1280:720", duration=11
            )
        with pytest.raises(runwayml.NotFoundError):
            client.tasks.retrieve(str(uuid.uuid4()))
        knobs.error_rate, knobs.error_kinds = 1.0, ("429",)
        try:
            with pytest.raises(runwayml.RateLimitError) as limited:
                client.tasks.retrieve(task.id)
            assert limited.value.response.headers["retry-after"] == str(knobs.retry_after)
        finally:
            knobs.error_rate = 0.0
    wrong = runwayml.RunwayML(api_key="key_wrong", base_url=base, max_retries=0)
    with wrong, pytest.raises(runwayml.AuthenticationError):
        wrong.tasks.retrieve(task.id)


@pytest.mark.anyio
async def test_the_adapter_over_a_real_socket(live, tmp_path):
    base, _ = live
    async with httpx.AsyncClient() as http:
        provider = RunwayProvider(http, api_key=KEY, base_url=f"{base}/v1")
        submission = await provider.submit(dispatch())
        await anyio.sleep(0.35)
        done = await wait_for_state(provider, submission.upstream_id, {"completed"})
        assert done.output_url.startswith(f"{base}/_outputs/")
        info = probe_video(await provider.download(submission.upstream_id, tmp_path / "a.mp4"))
        assert (info.width, info.height) == tiny_size("1280:720")
