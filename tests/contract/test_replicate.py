"""The Replicate adapter against the Replicate emulator (through httpx.ASGITransport: no
sockets), and replicate-python itself against the emulator."""

from __future__ import annotations

import json
import time

import anyio
import httpx
import pytest

from service.media.render import probe_video
from service.providers.base import DispatchRequest, ProviderRejected, ProviderUnavailable
from service.providers.replicate import ReplicateProvider, log_progress
from service.sandbox.emulators.knobs import Knobs
from service.sandbox.emulators.replicate import create_app, version_of
from service.webhooks.signing import SecretDeriver
from tests.contract.helpers import (
    WEBHOOK_ATTACKS,
    Receiver,
    asgi_client,
    attack_webhook,
    dispatch_request,
    finish,
    provider_factory,
)
from tests.contract.provider_contract import ProviderContract, wait_for_state

HOST = "https://api.replicate.com"
MODEL = "kwaivgi/kling-v2.1"
HOOK = "https://gateway.test/hooks/replicate"
SECRET = SecretDeriver("test-server-secret").secret("replicate", 0)


def dispatch(model: str = MODEL, **changes) -> DispatchRequest:
    return dispatch_request("kling-2.1", model, {"seconds": "2", "size": "1280x720"}, **changes)


class TestReplicate(ProviderContract):
    @pytest.fixture
    def receiver(self) -> Receiver:
        return Receiver("/hooks/replicate")

    @pytest.fixture
    async def emulator(self, emulator_knobs, clock, tmp_path, receiver):
        async with asgi_client(receiver.app) as hooks:
            app = create_app(
                emulator_knobs,
                data_dir=tmp_path / "replicate",
                base_url=HOST,
                webhook_secret=SECRET,
                clock=clock,
                webhook_client=hooks,
                webhook_retry_delays=(0.05, 0.05),
                wait_bound=1.0,
            )
            yield app
            await app.state.emulator.aclose()

    @pytest.fixture
    async def make_provider(self, emulator, clock):
        def build(http, timeout, **options):
            settings = dict(token="r8_test", base_url=f"{HOST}/v1", clock=clock)
            return ReplicateProvider(http, timeout=timeout, **{**settings, **options})

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
        return "q" * 26

    @pytest.fixture
    def predictions(self, emulator):
        return emulator.state.emulator.predictions

    @pytest.fixture
    async def raw(self, emulator):
        headers = {"Authorization": "Bearer r8_test"}
        async with asgi_client(emulator, base_url=f"{HOST}/v1", headers=headers) as client:
            yield client

    finish = staticmethod(finish)

    # --- the predictions protocol ---------------------------------------------------------

    async def test_submit_maps_parameters_and_the_prediction_object(
        self, provider, predictions, raw, clock, tmp_path
    ):
        params = {"seconds": "3", "size": "720x1280", "seed": 7, "negative_prompt": "blur"}
        submission, done = await self.finish(provider, clock, dispatch(params=params))
        p = predictions[submission.upstream_id]
        assert (p.model, p.version) == (MODEL, version_of(MODEL))
        assert p.input == {
            "prompt": "a red fox in snow",
            "duration": 3,
            "aspect_ratio": "9:16",
            "seed": 7,
            "negative_prompt": "blur",
        }
        body = (await raw.get(f"/predictions/{p.id}")).json()
        assert body["status"] == done.raw_status == "succeeded"
        assert body["output"] == done.output_url == f"{HOST}/files/{p.id}.mp4"
        assert body["urls"]["get"] == f"{HOST}/v1/predictions/{p.id}"
        assert body["created_at"] < body["started_at"] < body["completed_at"]
        assert body["metrics"]["predict_time"] > 0
        assert "100%|" in body["logs"]
        info = probe_video(await provider.download(p.id, tmp_path / "v.mp4"))
        assert (info.width, info.height, info.duration) == (90, 160, 3.0)

    async def test_a_pinned_version_goes_through_post_predictions(self, provider, raw, clock):
        pinned = f"{MODEL}:{version_of(MODEL)}"
        _, done = await self.finish(provider, clock, dispatch(pinned))
        assert (done.extra["model"], done.extra["version"]) == (MODEL, version_of(MODEL))
        with pytest.raises(ProviderRejected) as raised:
            await provider.submit(dispatch(f"{MODEL}:{'0' * 64}"))
        assert raised.value.code == "upstream_422"
        with pytest.raises(ProviderRejected):
            await provider.submit(dispatch("not a model"))

    async def test_invalid_input_is_refused_at_create(self, raw, predictions):
        answer = await raw.post(f"/models/{MODEL}/predictions", json={"input": {"duration": 99}})
        assert answer.status_code == 422
        fields = [f["field"] for f in answer.json()["invalid_fields"]]
        assert fields == ["prompt", "duration"]
        assert {"title", "detail", "status"} <= answer.json().keys()
        assert not predictions

    async def test_calls_without_a_token_get_replicates_401(self, emulator):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator)) as anonymous:
            answer = await anonymous.get(f"{HOST}/v1/predictions/{'q' * 26}")
        assert answer.status_code == 401
        assert answer.json()["status"] == 401
        assert answer.json()["title"] == "Unauthenticated"

    async def test_prefer_wait_blocks_until_done_up_to_the_bound(self, raw, emulator_knobs):
        body = {"input": {"prompt": "a fox", "duration": 1}}
        started = time.monotonic()
        answer = await raw.post(
            f"/models/{MODEL}/predictions", json=body, headers={"Prefer": "wait=5"}
        )
        assert answer.status_code == 201
        assert answer.json()["status"] == "starting"  # the fake clock never moved
        assert 0.9 <= time.monotonic() - started < 2.0  # wait=5, but the bound is 1 s

    async def test_progress_comes_from_the_logs(self, provider, clock, emulator_knobs):
        submission = await provider.submit(dispatch())
        clock.advance(emulator_knobs.latency * 0.625)  # halfway through `processing`
        running = await wait_for_state(provider, submission.upstream_id, {"in_progress"})
        assert running.raw_status == "processing"
        assert 45 <= running.progress <= 55
        assert log_progress(" 10%|█    | 5/50\n 40%|████ | 20/50 [00:02<00:03]\n") == 40
        assert log_progress("Loading weights\n") is None
        assert log_progress(" 100%|██████████| 50/50\n") == 99

    async def test_cancel_after_completion_leaves_it_succeeded(self, provider, clock):
        submission, _ = await self.finish(provider, clock, dispatch())
        await provider.cancel(submission.upstream_id)
        assert (await provider.status(submission.upstream_id)).state == "completed"

    async def test_aborted_maps_to_failed_keeping_the_raw_status(self, make_provider):
        body = {"id": "abc", "status": "aborted", "error": None, "logs": ""}
        broken = make_provider(httpx.MockTransport(lambda r: httpx.Response(200, json=body)), 1.0)
        status = await broken.status("abc")
        assert (status.state, status.raw_status) == ("failed", "aborted")

    # --- webhooks ---------------------------------------------------------------------------

    async def test_the_webhook_verifies_and_maps_the_prediction(
        self, provider, make_provider, emulator, receiver, clock
    ):
        _, done = await self.finish(provider, clock, dispatch(callback_url=HOOK))
        await receiver.wait(2)  # start, completed
        pushed = [json.loads(body)["status"] for _, body, _ in receiver.calls]
        assert pushed == ["processing", "succeeded"]
        headers, body, _ = receiver.calls[-1]
        fresh = make_provider(httpx.ASGITransport(app=emulator), 1.0)
        with pytest.raises(ProviderUnavailable):
            fresh.parse_webhook(headers, body)  # sync: needs the secret first
        status = await fresh.verify_webhook(headers, body)
        assert fresh.webhook_secret == SECRET
        assert (status.state, status.raw_status, status.output_url) == (
            "completed",
            "succeeded",
            done.output_url,
        )
        assert status == done

    @pytest.mark.parametrize("attack", WEBHOOK_ATTACKS)
    async def test_bad_webhooks_are_rejected(self, provider, receiver, clock, attack):
        provider.webhook_secret = SECRET
        await self.finish(provider, clock, dispatch(callback_url=HOOK))
        await receiver.wait(2)
        headers, body, _ = receiver.calls[-1]
        tamper = (b'"succeeded"', b'"failed"')
        body, expected = attack_webhook(attack, headers, body, clock, "replicate", tamper)
        with pytest.raises(ProviderRejected) as raised:
            provider.parse_webhook(headers, body)
        assert raised.value.code == expected

    async def test_the_events_filter_selects_webhooks(self, raw, receiver, clock, emulator_knobs):
        body = {
            "input": {"prompt": "a fox", "duration": 1},
            "webhook": HOOK,
            "webhook_events_filter": ["logs", "completed"],
        }
        await raw.post(f"/models/{MODEL}/predictions", json=body)
        for _ in range(4):  # four steps of 0.05 s: the 0.5 s throttle is on the emulated clock
            clock.advance(0.05)
            await anyio.sleep(0.08)
        clock.advance(1.0)
        await receiver.wait(2)
        await anyio.sleep(0.1)
        pushed = [json.loads(b) for _, b, _ in receiver.calls]
        assert pushed[-1]["status"] == "succeeded"
        assert {p["status"] for p in pushed[:-1]} == {"processing"}
        assert all(p["logs"] for p in pushed)

    async def test_a_failed_terminal_delivery_is_retried_freshly_signed(
        self, provider, receiver, clock
    ):
        provider.webhook_secret = SECRET
        receiver.fail = 2  # the `start` event (never retried) and the first terminal attempt
        await self.finish(provider, clock, dispatch(callback_url=HOOK))
        await receiver.wait(2)
        clock.advance(5)
        await receiver.wait(3)
        (_, _, _), (first, body, _), (second, again, _) = receiver.calls
        assert body == again
        assert first["webhook-id"] == second["webhook-id"]
        assert int(second["webhook-timestamp"]) - int(first["webhook-timestamp"]) == 5
        assert provider.parse_webhook(second, again).state == "completed"

    @pytest.mark.parametrize("knob", ["webhook_loss", "webhook_duplicate", "webhook_delay"])
    async def test_webhook_knobs(self, provider, receiver, clock, emulator_knobs, knob):
        setattr(emulator_knobs, knob, 0.3 if knob == "webhook_delay" else 1.0)
        submission = await provider.submit(dispatch(callback_url=HOOK))
        await anyio.sleep(0.05)
        began = time.monotonic()
        clock.advance(60.0)
        await wait_for_state(provider, submission.upstream_id, {"completed"})
        if knob == "webhook_loss":
            await anyio.sleep(0.2)
            assert receiver.calls == []
        elif knob == "webhook_duplicate":
            await receiver.wait(4)
            assert receiver.calls[0][:2] == receiver.calls[1][:2]
        else:
            await receiver.wait(1)
            assert receiver.calls[0][2] - began >= 0.25

    async def test_webhook_reorder_lets_a_later_one_overtake(
        self, provider, receiver, clock, emulator_knobs, raw
    ):
        emulator_knobs.webhook_reorder = 1.0
        body = {
            "input": {"prompt": "a fox", "duration": 1},
            "webhook": HOOK,
            "webhook_events_filter": ["completed"],
        }
        first = (await raw.post(f"/models/{MODEL}/predictions", json=body)).json()["id"]
        clock.advance(0.1)
        second = (await raw.post(f"/models/{MODEL}/predictions", json=body)).json()["id"]
        clock.advance(0.11)
        await wait_for_state(provider, first, {"completed"})
        await anyio.sleep(0.05)
        assert receiver.calls == []
        clock.advance(0.1)
        await wait_for_state(provider, second, {"completed"})
        await receiver.wait(2, within=0.8)
        assert [json.loads(b)["id"] for _, b, _ in receiver.calls] == [second, first]


class TestReplicateSdkFidelity:
    """replicate-python 1.0.x pointed at the emulator (base_url + an ASGI transport); above
    the transport everything is the SDK's own code (its RetryTransport included)."""

    pytestmark = pytest.mark.anyio

    @pytest.fixture
    def anyio_backend(self) -> str:
        return "asyncio"

    @pytest.fixture
    async def sdk(self, tmp_path):
        replicate = pytest.importorskip("replicate")
        receiver = Receiver("/hooks/replicate")
        hooks = asgi_client(receiver.app)
        app = create_app(
            Knobs(latency=0.3),
            data_dir=tmp_path,
            base_url=HOST,
            webhook_secret=SECRET,
            webhook_client=hooks,
        )
        client = replicate.Client(
            api_token="r8_test", base_url=HOST, transport=httpx.ASGITransport(app=app)
        )
        client.poll_interval = 0.02
        yield replicate, client, app, receiver
        await client._async_client.aclose()
        await app.state.emulator.aclose()
        await hooks.aclose()

    async def test_create_wait_reload_and_the_webhook(self, sdk, tmp_path):
        replicate, client, app, receiver = sdk
        prediction = await client.predictions.async_create(
            model=MODEL,
            input={"prompt": "a fox", "duration": 1},
            webhook=HOOK,
            webhook_events_filter=["completed"],
        )
        assert prediction.status == "starting"
        await prediction.async_wait()
        assert prediction.status == "succeeded"
        output = prediction.output
        await prediction.async_reload()
        assert prediction.output == output == f"{HOST}/files/{prediction.id}.mp4"
        assert prediction.urls["get"] == f"{HOST}/v1/predictions/{prediction.id}"
        by_version = await client.predictions.async_create(
            version=version_of(MODEL), input={"prompt": "a fox", "duration": 1}
        )
        assert by_version.model == MODEL
        secret = await client.webhooks.default.async_secret()
        assert secret.key == SECRET
        await receiver.wait(1)
        headers, body, _ = receiver.calls[0]
        assert json.loads(body)["output"] == output
        validate = replicate.webhooks.validate
        assert validate(headers=headers, body=body.decode(), secret=secret, tolerance=300) is None
        with pytest.raises(replicate.webhook.InvalidSignatureError):
            validate(headers=headers, body=body.decode()[:-1] + " }", secret=secret)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as files:
            (tmp_path / "o.mp4").write_bytes((await files.get(output)).content)
        assert probe_video(tmp_path / "o.mp4").codec == "h264"

    async def test_sdk_raises_replicates_errors(self, sdk):
        replicate, client, _, _ = sdk
        with pytest.raises(replicate.exceptions.ReplicateError) as raised:
            await client.predictions.async_create(model=MODEL, input={"duration": 1})
        assert raised.value.status == 422
        assert raised.value.title == "Input validation failed"
