"""The Kling adapter against the Kling emulator (httpx.ASGITransport: no sockets)."""

from __future__ import annotations

import json

import anyio
import httpx
import jwt
import pytest

from service.media.render import probe_video
from service.providers.base import DispatchRequest, ProviderRejected, ProviderUnavailable
from service.providers.kling import KlingProvider, kling_input
from service.sandbox.emulators.kling import create_app
from tests.contract.helpers import STUB_PNG as PNG
from tests.contract.helpers import (
    Receiver,
    asgi_client,
    dispatch_request,
    finish,
    provider_factory,
)
from tests.contract.provider_contract import ProviderContract, wait_for_state

BASE = "https://api-singapore.klingai.com"
AK, SK = "ak-test", "sk-test-secret-0123456789abcdef0123"
MODEL = "kling-v2-5-turbo"
HOOK = "https://gateway.test/hooks/kling"


def dispatch(model: str = MODEL, **changes) -> DispatchRequest:
    return dispatch_request("kling-2.5-turbo", model, {"seconds": "5"}, **changes)


def token(now: float, secret: str = SK, **claims) -> str:
    payload = {"iss": AK, "exp": int(now) + 1800, "nbf": int(now) - 5, **claims}
    return jwt.encode(payload, secret, algorithm="HS256")


class TestKling(ProviderContract):
    @pytest.fixture
    def receiver(self) -> Receiver:
        return Receiver("/hooks/kling", state_field="task_status")

    @pytest.fixture
    async def emulator(self, emulator_knobs, clock, tmp_path, receiver):
        async with asgi_client(receiver.app) as hooks:
            app = create_app(
                emulator_knobs,
                data_dir=tmp_path / "kling",
                base_url=BASE,
                access_key=AK,
                secret_key=SK,
                clock=clock,
                callback_client=hooks,
                fps=4,
            )
            yield app
            await app.state.emulator.aclose()

    @pytest.fixture
    async def make_provider(self, emulator, clock):
        def build(http, timeout, **options):
            settings = {
                "access_key": AK,
                "secret_key": SK,
                "base_url": BASE,
                "timeout": timeout,
                "clock": clock,
                **options,
            }
            return KlingProvider(http, **settings)

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
        return "text2video:999999999999999"

    @pytest.fixture
    def tasks(self, emulator):
        return emulator.state.emulator.tasks

    @pytest.fixture
    async def raw(self, emulator):
        async with asgi_client(emulator) as client:
            yield client

    finish = staticmethod(finish)

    # --- overridden contract tests -------------------------------------------------------------

    @pytest.mark.parametrize(
        ("kind", "error", "code"),
        [
            ("4xx", ProviderRejected, "insufficient_balance"),  # HTTP 429 + 1102: permanent
            ("auth", ProviderRejected, "upstream_auth"),
            ("policy", ProviderRejected, "sensitive_content"),
            ("5xx", ProviderUnavailable, "upstream_error"),
            ("busy", ProviderUnavailable, "upstream_unavailable"),
            ("429", ProviderUnavailable, "rate_limited"),
            ("http5xx", ProviderUnavailable, "upstream_error"),
        ],
    )
    async def test_upstream_errors_map_to_the_error_tree(
        self, provider, request_for, model, emulator_knobs, kind, error, code
    ):
        """Overridden: Kling's business code decides, not the HTTP status alone."""
        emulator_knobs.error_rate, emulator_knobs.error_kinds = 1.0, (kind,)
        with pytest.raises(error) as raised:
            await provider.submit(request_for(model))
        assert raised.value.code == code
        if kind == "429":
            assert raised.value.retry_after == emulator_knobs.retry_after

    async def test_cancel_ends_the_job_canceled(self, provider, request_for, model, clock):
        """Overridden: Kling has no cancel; it is a documented no-op and the task runs on."""
        submission = await provider.submit(request_for(model))
        await provider.cancel(submission.upstream_id)
        clock.advance(60.0)
        done = await wait_for_state(provider, submission.upstream_id, {"completed"})
        assert done.raw_status == "succeed"

    # --- the video API -------------------------------------------------------------------------

    async def test_text2video_maps_our_parameters(self, provider, tasks, clock, tmp_path):
        request = dispatch(
            params={
                "seconds": "10",
                "size": "720x1280",
                "negative_prompt": "blur",
                "resolution": "1080p",
            },
            callback_url=HOOK,
        )
        submission, done = await self.finish(provider, clock, request)
        kind, task_id = submission.upstream_id.split(":")
        assert kind == "text2video"
        assert tasks[task_id].input == {
            "model_name": MODEL,
            "prompt": "a red fox in snow",
            "negative_prompt": "blur",
            "mode": "pro",
            "aspect_ratio": "9:16",
            "duration": "10",
            "callback_url": HOOK,
            "external_task_id": request.job_id.hex,
        }
        assert done.extra["external_task_id"] == request.job_id.hex
        assert done.extra["video"]["duration"] == "10"
        info = probe_video(await provider.download(submission.upstream_id, tmp_path / "v.mp4"))
        assert (info.width, info.height, info.duration) == (54, 96, 10.0)

    async def test_an_image_goes_to_image2video_as_bare_base64(self, provider, tasks, clock):
        request = dispatch(
            "kling-v2-1",
            inputs={"image": {"data": PNG}, "last_frame": {"url": "https://i.example/b.png"}},
        )
        submission, _ = await self.finish(provider, clock, request)
        kind, task_id = submission.upstream_id.split(":")
        assert kind == "image2video"
        assert tasks[task_id].input["image"] == PNG
        assert tasks[task_id].input["image_tail"] == "https://i.example/b.png"

    @pytest.mark.parametrize(
        ("model", "params", "inputs"),
        [
            ("kling-v9", {}, {}),
            ("kling-v2-1", {}, {}),  # image-to-video only
            (MODEL, {"seconds": "8"}, {}),
            (MODEL, {"mode": "ultra"}, {}),
            (MODEL, {"cfg_scale": 2}, {}),
            (MODEL, {"audio": True}, {}),  # sound is kling-v2-6 only
        ],
    )
    async def test_invalid_params_are_1201_rejected(
        self, provider, raw, tasks, model, params, inputs, clock
    ):
        request = dispatch(model, params=params, inputs=inputs)
        with pytest.raises(ProviderRejected) as raised:
            await provider.submit(request)
        assert raised.value.code == "invalid_params"
        headers = {"Authorization": f"Bearer {token(clock())}"}
        answer = await raw.post(
            f"{BASE}/v1/videos/text2video", json=kling_input(request), headers=headers
        )
        assert (answer.status_code, answer.json()["code"]) == (400, 1201)
        assert not tasks

    async def test_a_data_uri_image_is_refused(self, raw, clock):
        body = {"model_name": MODEL, "image": f"data:image/png;base64,{PNG}"}
        answer = await raw.post(
            f"{BASE}/v1/videos/image2video",
            json=body,
            headers={"Authorization": f"Bearer {token(clock())}"},
        )
        assert answer.json()["code"] == 1201

    async def test_a_duplicate_external_task_id_is_refused_and_the_adapter_recovers(
        self, provider, raw, tasks, clock
    ):
        request = dispatch()
        first = await provider.submit(request)
        again = await provider.submit(request)  # a retry after a lost answer
        assert again == first
        assert len(tasks) == 1
        answer = await raw.post(
            f"{BASE}/v1/videos/text2video",
            json=kling_input(request),
            headers={"Authorization": f"Bearer {token(clock())}"},
        )
        assert (answer.status_code, answer.json()["code"]) == (400, 1201)
        assert "external_task_id" in answer.json()["message"]
        by_external = await raw.get(
            f"{BASE}/v1/videos/text2video/{request.job_id.hex}",
            headers={"Authorization": f"Bearer {token(clock())}"},
        )
        assert by_external.json()["data"]["task_id"] == first.upstream_id.split(":")[1]

    @pytest.mark.parametrize(
        ("make_header", "code"),
        [
            (lambda now: "", 1001),
            (lambda now: "Bearer not-a-jwt", 1002),
            (lambda now: f"Bearer {token(now, secret='wrong-secret-0123456789abcdef01234')}", 1000),
            (lambda now: f"Bearer {token(now, iss='someone-else')}", 1000),
            (lambda now: f"Bearer {token(now, nbf=int(now) + 60)}", 1003),
            (lambda now: f"Bearer {token(now, exp=int(now) - 1)}", 1004),
        ],
    )
    async def test_the_emulator_checks_the_jwt(self, raw, clock, make_header, code):
        body = {"model_name": MODEL, "prompt": "a fox"}
        answer = await raw.post(
            f"{BASE}/v1/videos/text2video",
            json=body,
            headers={"Authorization": make_header(clock())},
        )
        assert (answer.status_code, answer.json()["code"]) == (401, code)
        assert answer.json()["data"] is None

    async def test_the_adapter_signs_a_fresh_30_minute_jwt(self, make_provider, emulator, clock):
        provider = make_provider(httpx.ASGITransport(app=emulator), 1.0)
        claims = jwt.decode(
            provider.token(),
            SK,
            algorithms=["HS256"],
            options={"verify_exp": False, "verify_nbf": False},
        )
        assert claims == {"iss": AK, "exp": int(clock()) + 1800, "nbf": int(clock()) - 5}
        wrong = make_provider(
            httpx.ASGITransport(app=emulator), 1.0, secret_key="nope-secret-0123456789abcdef012345"
        )
        with pytest.raises(ProviderRejected) as raised:
            await wrong.submit(dispatch())
        assert raised.value.code == "upstream_auth"

    async def test_query_walks_the_statuses_and_serves_the_mp4(
        self, raw, clock, emulator_knobs, tmp_path
    ):
        headers = {"Authorization": f"Bearer {token(clock())}"}
        body = {"model_name": MODEL, "prompt": "a fox"}
        created = (
            await raw.post(f"{BASE}/v1/videos/text2video", headers=headers, json=body)
        ).json()
        assert (created["code"], created["data"]["task_status"]) == (0, "submitted")
        assert {"task_id", "task_info", "created_at", "updated_at"} <= created["data"].keys()
        url = f"{BASE}/v1/videos/text2video/{created['data']['task_id']}"
        seen = []
        for share in (0.0, 0.5, 0.6):
            clock.advance(emulator_knobs.latency * share)
            await anyio.sleep(0.3)
            seen.append((await raw.get(url, headers=headers)).json()["data"])
        assert [s["task_status"] for s in seen] == ["submitted", "processing", "succeed"]
        video = seen[-1]["task_result"]["videos"][0]
        assert video["duration"] == "5"
        answer = await raw.get(video["url"])
        assert (answer.status_code, answer.headers["content-type"]) == (200, "video/mp4")
        (tmp_path / "d.mp4").write_bytes(answer.content)
        assert probe_video(tmp_path / "d.mp4").codec == "h264"
        wrong_kind = await raw.get(url.replace("text2video", "image2video"), headers=headers)
        assert (wrong_kind.status_code, wrong_kind.json()["code"]) == (404, 1203)

    async def test_a_failed_task_keeps_klings_reason(
        self, provider, clock, emulator_knobs, tmp_path
    ):
        emulator_knobs.fail_rate = 1.0
        submission, failed = await self.finish(provider, clock, dispatch(), state="failed")
        assert failed.raw_status == "failed"
        assert (
            failed.error_message and failed.error_message != "Kling reported that the task failed"
        )
        with pytest.raises(ProviderRejected):
            await provider.download(submission.upstream_id, tmp_path / "never.mp4")

    @pytest.mark.parametrize(
        ("status", "code", "error", "name"),
        [
            (401, 1004, ProviderRejected, "upstream_auth"),
            (429, 1101, ProviderRejected, "insufficient_balance"),
            (429, 1303, ProviderUnavailable, "rate_limited"),
            (400, 1300, ProviderRejected, "policy_violation"),
            (503, 5001, ProviderUnavailable, "upstream_unavailable"),
            (504, 5002, ProviderUnavailable, "upstream_timeout"),
            (500, 5099, ProviderUnavailable, "upstream_error"),
            (400, 1999, ProviderRejected, "kling_1999"),
        ],
    )
    async def test_business_codes_map_to_the_error_tree(
        self, make_provider, status, code, error, name
    ):
        body = {"code": code, "message": "nope", "request_id": "r", "data": None}
        answer = httpx.MockTransport(lambda r: httpx.Response(status, json=body))
        with pytest.raises(error) as raised:
            await make_provider(answer, 1.0).submit(dispatch())
        assert raised.value.code == name
        assert "nope" in str(raised.value)

    # --- callbacks -----------------------------------------------------------------------------

    async def test_callbacks_post_the_task_object_per_status_as_hints(
        self, provider, receiver, clock
    ):
        request = dispatch(callback_url=HOOK)
        submission, done = await self.finish(provider, clock, request)
        await receiver.wait(2)
        assert receiver.states() == ["processing", "succeed"]
        last = json.loads(receiver.calls[-1][1])
        assert last["task_id"] == submission.upstream_id.split(":")[1]
        assert last["task_result"]["videos"][0]["url"] == done.output_url
        hint = provider.parse_webhook({}, json.dumps(last).encode())
        assert (hint.state, hint.output_url, hint.extra["hint"]) == ("completed", None, True)
        assert hint.extra["external_task_id"] == request.job_id.hex

    async def test_a_failed_callback_maps_to_failed(
        self, provider, receiver, clock, emulator_knobs
    ):
        emulator_knobs.fail_rate = 1.0
        _, polled = await self.finish(provider, clock, dispatch(callback_url=HOOK), "failed")
        await receiver.wait(2)
        pushed = provider.parse_webhook({}, receiver.calls[-1][1])
        assert (pushed.state, pushed.error_message) == ("failed", polled.error_message)

    @pytest.mark.parametrize("body", [b"[]", b"{}", b'{"task_id": "1", "task_status": "done"}'])
    async def test_malformed_callbacks_are_rejected(self, provider, body):
        with pytest.raises(ProviderRejected):
            provider.parse_webhook({}, body)

    async def test_callback_knobs(self, provider, receiver, clock, emulator_knobs):
        emulator_knobs.webhook_loss = 1.0
        await self.finish(provider, clock, dispatch(callback_url=HOOK))
        await anyio.sleep(0.2)
        assert receiver.calls == []
        emulator_knobs.webhook_loss, emulator_knobs.webhook_duplicate = 0.0, 1.0
        await self.finish(provider, clock, dispatch(callback_url=HOOK))
        await receiver.wait(4)
        assert receiver.states() == ["processing"] * 2 + ["succeed"] * 2
