"""The MiniMax Hailuo adapter against the MiniMax emulator (httpx.ASGITransport: no sockets)."""

from __future__ import annotations

import json
import time

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from service.media.render import probe_video
from service.providers.base import DispatchRequest, ProviderRejected, ProviderUnavailable
from service.providers.minimax import MiniMaxProvider, challenge_response, minimax_input
from service.sandbox.emulators.minimax import create_app
from tests.contract.helpers import STUB_PNG as PNG
from tests.contract.helpers import (
    asgi_client,
    dispatch_request,
    finish,
    provider_factory,
    wait_until,
)
from tests.contract.provider_contract import ProviderContract, wait_for_state

BASE = "https://api.minimax.io"
KEY = "mm-test-key"
MODEL = "MiniMax-Hailuo-02"
HOOK = "https://gateway.test/hooks/minimax"


class Receiver:
    """Records the callbacks; `mode` says how it answers the challenge."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, object], float]] = []
        self.mode = "echo"  # echo | wrong | slow
        self.app = Starlette(routes=[Route("/hooks/minimax", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        self.calls.append((json.loads(body), time.monotonic()))
        answer = challenge_response(body)
        if answer is None:
            return Response("ok")
        if self.mode == "slow":
            await anyio.sleep(0.5)
        return JSONResponse({"challenge": "nope"} if self.mode == "wrong" else answer)

    def pushes(self) -> list[dict[str, object]]:
        return [body for body, _ in self.calls if "challenge" not in body]

    async def wait(self, pushes: int, within: float = 5.0) -> None:
        await wait_until(lambda: len(self.pushes()) >= pushes, within)


def dispatch(model: str = MODEL, **changes) -> DispatchRequest:
    params = {"seconds": "6", "resolution": "768P"}
    return dispatch_request("hailuo-02", model, params, **changes)


class TestMiniMax(ProviderContract):
    @pytest.fixture
    def receiver(self) -> Receiver:
        return Receiver()

    @pytest.fixture
    async def emulator(self, emulator_knobs, clock, tmp_path, receiver):
        async with asgi_client(receiver.app) as hooks:
            app = create_app(
                emulator_knobs,
                data_dir=tmp_path / "minimax",
                base_url=BASE,
                api_key=KEY,
                clock=clock,
                callback_client=hooks,
                challenge_timeout=0.3,
                fps=4,
            )
            yield app
            await app.state.emulator.aclose()

    @pytest.fixture
    async def make_provider(self, emulator, clock):
        def build(http, timeout, **options):
            settings = {"api_key": KEY, "base_url": BASE, "timeout": timeout, **options}
            return MiniMaxProvider(http, **settings)

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
        return "999999999999999"

    @pytest.fixture
    def tasks(self, emulator):
        return emulator.state.emulator.tasks

    @pytest.fixture
    async def raw(self, emulator):
        async with asgi_client(emulator, headers={"Authorization": f"Bearer {KEY}"}) as client:
            yield client

    finish = staticmethod(finish)

    # --- overridden contract tests -------------------------------------------------------------

    @pytest.mark.parametrize(
        ("kind", "error", "code"),
        [
            ("4xx", ProviderRejected, "insufficient_balance"),
            ("auth", ProviderRejected, "upstream_auth"),
            ("5xx", ProviderUnavailable, "upstream_error"),
            ("429", ProviderUnavailable, "rate_limited"),
            ("http429", ProviderUnavailable, "rate_limited"),
            ("http5xx", ProviderUnavailable, "upstream_error"),
        ],
    )
    async def test_upstream_errors_map_to_the_error_tree(
        self, provider, request_for, model, emulator_knobs, kind, error, code
    ):
        """Overridden: MiniMax's own errors are HTTP 200 + base_resp (1002 has no Retry-After);
        only a real HTTP 429 from its edge carries one."""
        emulator_knobs.error_rate, emulator_knobs.error_kinds = 1.0, (kind,)
        with pytest.raises(error) as raised:
            await provider.submit(request_for(model))
        assert raised.value.code == code
        if error is ProviderUnavailable:
            expected = emulator_knobs.retry_after if kind == "http429" else None
            assert raised.value.retry_after == expected

    async def test_cancel_ends_the_job_canceled(self, provider, request_for, model, clock):
        """Overridden: MiniMax has no cancel; it is a documented no-op and the task runs on."""
        submission = await provider.submit(request_for(model))
        await provider.cancel(submission.upstream_id)
        clock.advance(60.0)
        done = await wait_for_state(provider, submission.upstream_id, {"completed"})
        assert done.raw_status == "Success"

    # --- the video API -------------------------------------------------------------------------

    async def test_submit_maps_our_parameters(self, provider, tasks, clock, tmp_path):
        params = {"seconds": "10", "size": "1280x720", "prompt_optimizer": False}
        inputs = {"image": {"url": "https://img.example/cat.png"}}
        submission, done = await self.finish(
            provider, clock, dispatch(params=params, inputs=inputs, callback_url=HOOK)
        )
        assert tasks[submission.upstream_id].input == {
            "model": MODEL,
            "prompt": "a red fox in snow",
            "duration": 10,
            "resolution": "768P",
            "prompt_optimizer": False,
            "first_frame_image": "https://img.example/cat.png",
            "callback_url": HOOK,
        }
        assert (done.extra["video_width"], done.extra["video_height"]) == (1366, 768)
        info = probe_video(await provider.download(submission.upstream_id, tmp_path / "v.mp4"))
        assert (info.width, info.height, info.duration) == (86, 48, 10.0)

    def test_image_bytes_become_a_data_uri_and_sha256_only_is_refused(self):
        body = minimax_input(dispatch(inputs={"image": {"data": PNG}, "last_frame": {"data": PNG}}))
        assert body["first_frame_image"] == f"data:image/png;base64,{PNG}"
        assert body["last_frame_image"].startswith("data:image/png;base64,")
        with pytest.raises(ProviderRejected) as raised:
            minimax_input(dispatch(inputs={"image": {"sha256": "ab" * 32}}))
        assert raised.value.code == "image_upload_unsupported"
        assert minimax_input(dispatch(params={"resolution": "1080p"}))["resolution"] == "1080P"

    @pytest.mark.parametrize(
        ("model", "params", "inputs", "prompt"),
        [
            (MODEL, {"seconds": "10", "resolution": "1080P"}, {}, "a fox"),  # 1080P is 6 s only
            (MODEL, {"seconds": "6", "resolution": "512P"}, {}, "a fox"),  # 512P needs an image
            ("MiniMax-Hailuo-2.3-Fast", {}, {}, "a fox"),  # image-to-video only
            ("MiniMax-Hailuo-2.3", {"seconds": "8"}, {}, "a fox"),
            ("MiniMax-Hailuo-2.3", {}, {"last_frame": {"url": "https://i.example/a.png"}}, "x"),
            (MODEL, {}, {}, "x" * 2001),
            ("Hailuo-99", {}, {}, "a fox"),
        ],
    )
    async def test_invalid_params_are_2013_rejected(
        self, provider, raw, tasks, model, params, inputs, prompt
    ):
        request = dispatch(model, params=params, inputs=inputs, prompt=prompt)
        with pytest.raises(ProviderRejected) as raised:
            await provider.submit(request)
        assert raised.value.code == "invalid_params"
        answer = await raw.post(f"{BASE}/v1/video_generation", json=minimax_input(request))
        assert answer.status_code == 200
        assert answer.json()["base_resp"]["status_code"] == 2013
        assert not tasks

    async def test_the_1080p_and_fast_rules_accept_what_minimax_does(self, provider, clock):
        image = {"image": {"url": "https://img.example/cat.png"}}
        fast = dispatch("MiniMax-Hailuo-2.3-Fast", inputs=image, params={"seconds": "10"})
        assert (await self.finish(provider, clock, fast))[1].extra["video_height"] == 768
        hd = dispatch("MiniMax-Hailuo-2.3", params={"seconds": "6", "size": "1920x1080"})
        assert (await self.finish(provider, clock, hd))[1].extra["video_width"] == 1920

    @pytest.mark.parametrize(("key", "code"), [("", 1004), ("wrong", 2049)])
    async def test_missing_or_wrong_keys(self, make_provider, emulator, raw, key, code):
        provider = make_provider(httpx.ASGITransport(app=emulator), 1.0, api_key=key)
        with pytest.raises(ProviderRejected) as raised:
            await provider.submit(dispatch())
        assert raised.value.code == "upstream_auth"
        headers = {"Authorization": f"Bearer {key}" if key else ""}
        answer = await raw.post(f"{BASE}/v1/video_generation", json={}, headers=headers)
        assert (answer.status_code, answer.json()["base_resp"]["status_code"]) == (200, code)

    async def test_query_walks_the_statuses_and_files_retrieve_serves_the_mp4(
        self, raw, clock, emulator_knobs, tmp_path
    ):
        submitted = (
            await raw.post(f"{BASE}/v1/video_generation", json={"model": MODEL, "prompt": "a fox"})
        ).json()
        assert submitted["task_id"].isdigit()
        assert submitted["base_resp"] == {"status_code": 0, "status_msg": "success"}
        query = {"task_id": submitted["task_id"]}
        seen = []
        for share in (0.0, 0.15, 0.5, 0.5):
            clock.advance(emulator_knobs.latency * share)
            await anyio.sleep(0.3)
            seen.append((await raw.get(f"{BASE}/v1/query/video_generation", params=query)).json())
        assert [s["status"] for s in seen] == ["Preparing", "Queueing", "Processing", "Success"]
        done = seen[-1]
        assert (done["video_width"], done["video_height"], done["file_id"].isdigit()) == (
            1366,
            768,
            True,
        )
        found = await raw.get(f"{BASE}/v1/files/retrieve", params={"file_id": done["file_id"]})
        file = found.json()["file"]
        assert found.json()["base_resp"]["status_code"] == 0
        assert str(file["file_id"]) == done["file_id"]
        assert {"bytes", "filename", "download_url", "created_at"} <= file.keys()
        video = await raw.get(file["download_url"], headers={"Authorization": ""})
        assert (video.status_code, video.headers["content-type"]) == (200, "video/mp4")
        assert len(video.content) == file["bytes"]
        (tmp_path / "d.mp4").write_bytes(video.content)
        assert probe_video(tmp_path / "d.mp4").codec == "h264"
        missing = await raw.get(f"{BASE}/v1/files/retrieve", params={"file_id": "1"})
        assert missing.json()["base_resp"]["status_code"] == 2013

    async def test_a_failed_task_keeps_minimaxs_reason(
        self, provider, clock, emulator_knobs, tmp_path
    ):
        emulator_knobs.fail_rate = 1.0
        submission, failed = await self.finish(provider, clock, dispatch(), state="failed")
        assert failed.raw_status == "Fail"
        assert failed.error_code in ("sensitive_output", "upstream_error")
        assert failed.extra["base_resp"]["status_code"] in (1027, 1000)
        with pytest.raises(ProviderRejected):
            await provider.download(submission.upstream_id, tmp_path / "never.mp4")

    @pytest.mark.parametrize(
        ("code", "error", "name"),
        [
            (1000, ProviderUnavailable, "upstream_error"),
            (1001, ProviderUnavailable, "upstream_timeout"),
            (1002, ProviderUnavailable, "rate_limited"),
            (1004, ProviderRejected, "upstream_auth"),
            (1008, ProviderRejected, "insufficient_balance"),
            (1026, ProviderRejected, "sensitive_input"),
            (2013, ProviderRejected, "invalid_params"),
            (4242, ProviderRejected, "minimax_4242"),
        ],
    )
    async def test_base_resp_codes_map_to_the_error_tree(self, make_provider, code, error, name):
        body = {"task_id": "", "base_resp": {"status_code": code, "status_msg": "nope"}}
        provider = make_provider(httpx.MockTransport(lambda r: httpx.Response(200, json=body)), 1)
        with pytest.raises(error) as raised:
            await provider.submit(dispatch())
        assert raised.value.code == name
        assert "nope" in str(raised.value)

    async def test_the_download_url_never_gets_the_key(self, make_provider, tmp_path):
        seen: list[tuple[str, str | None]] = []

        def answer(request: httpx.Request) -> httpx.Response:
            seen.append((request.url.path, request.headers.get("authorization")))
            ok = {"status_code": 0, "status_msg": "success"}
            if request.url.path == "/v1/query/video_generation":
                return httpx.Response(
                    200, json={"task_id": "1", "status": "Success", "file_id": "7", "base_resp": ok}
                )
            if request.url.path == "/v1/files/retrieve":
                file = {"file_id": 7, "download_url": "https://cdn.example/v.mp4?sig=1"}
                return httpx.Response(200, json={"file": file, "base_resp": ok})
            return httpx.Response(200, content=b"mp4 bytes")

        provider = make_provider(httpx.MockTransport(answer), 1.0)
        assert (await provider.download("1", tmp_path / "v.mp4")).read_bytes() == b"mp4 bytes"
        assert seen[-1] == ("/v.mp4", None)
        assert all(auth == f"Bearer {KEY}" for _, auth in seen[:-1])

    # --- callbacks -----------------------------------------------------------------------------

    async def test_the_challenge_comes_first_then_unsigned_pushes_as_hints(
        self, provider, emulator, receiver, clock
    ):
        submission, done = await self.finish(provider, clock, dispatch(callback_url=HOOK))
        await receiver.wait(2)
        first = receiver.calls[0][0]
        assert list(first) == ["challenge"]
        assert emulator.state.emulator.callbacks.challenges[0][2] is True
        pushes = receiver.pushes()
        assert [p["status"] for p in pushes] == ["Processing", "Success"]
        assert set(pushes[-1]) == {"task_id", "status", "file_id", "base_resp"}
        hint = provider.parse_webhook({}, json.dumps(pushes[-1]).encode())
        assert (hint.state, hint.output_url, hint.extra["hint"]) == ("completed", None, True)
        assert hint.extra["task_id"] == submission.upstream_id
        assert hint.extra["file_id"] == done.extra["file_id"]
        with pytest.raises(ProviderRejected) as raised:
            provider.parse_webhook({}, json.dumps(first).encode())
        assert raised.value.code == "challenge"
        assert provider.challenge_response(json.dumps(first).encode()) == first
        assert provider.challenge_response(b'{"task_id": "1"}') is None
        assert challenge_response(b"not json") is None

    @pytest.mark.parametrize("mode", ["wrong", "slow"])
    async def test_a_failed_handshake_drops_the_callback(
        self, provider, emulator, receiver, clock, mode
    ):
        receiver.mode = mode
        await self.finish(provider, clock, dispatch(callback_url=HOOK))
        await anyio.sleep(0.6)
        assert [list(body) for body, _ in receiver.calls] == [["challenge"]]
        assert emulator.state.emulator.callbacks.challenges[0][2] is False

    async def test_a_fail_push_maps_to_failed(self, provider, receiver, clock, emulator_knobs):
        emulator_knobs.fail_rate = 1.0
        _, polled = await self.finish(provider, clock, dispatch(callback_url=HOOK), "failed")
        await receiver.wait(1)
        pushed = provider.parse_webhook({}, json.dumps(receiver.pushes()[-1]).encode())
        assert (pushed.state, pushed.error_code) == ("failed", polled.error_code)

    @pytest.mark.parametrize("body", [b"[]", b"{}", b'{"task_id": "1", "status": "Done"}'])
    async def test_malformed_pushes_are_rejected(self, provider, body):
        with pytest.raises(ProviderRejected):
            provider.parse_webhook({}, body)

    async def test_callback_knobs(self, provider, receiver, clock, emulator_knobs):
        emulator_knobs.webhook_loss = 1.0
        await self.finish(provider, clock, dispatch(callback_url=HOOK))
        await anyio.sleep(0.2)
        assert receiver.pushes() == [] and len(receiver.calls) == 1  # the challenge still ran
        emulator_knobs.webhook_loss, emulator_knobs.webhook_duplicate = 0.0, 1.0
        await self.finish(provider, clock, dispatch(callback_url=HOOK))
        await receiver.wait(4)
        await anyio.sleep(0.05)
        assert [p["status"] for p in receiver.pushes()] == ["Processing"] * 2 + ["Success"] * 2

    async def test_callback_delay(self, provider, receiver, clock, emulator_knobs):
        emulator_knobs.webhook_delay = 0.3
        await self.finish(provider, clock, dispatch(callback_url=HOOK))
        done_at = time.monotonic()
        await receiver.wait(2)
        assert receiver.calls[-1][1] - done_at >= 0.25

    async def test_callback_reorder_lets_success_overtake_processing(
        self, provider, receiver, clock, emulator_knobs
    ):
        emulator_knobs.webhook_reorder = 1.0
        submission = await provider.submit(dispatch(callback_url=HOOK))
        clock.advance(emulator_knobs.latency * 0.5)
        await wait_for_state(provider, submission.upstream_id, {"in_progress"})
        await anyio.sleep(0.1)
        assert receiver.pushes() == []  # Processing is held back
        clock.advance(emulator_knobs.latency)
        await wait_for_state(provider, submission.upstream_id, {"completed"})
        await receiver.wait(2, within=0.8)  # well before the hold would have expired
        assert [p["status"] for p in receiver.pushes()] == ["Success", "Processing"]
