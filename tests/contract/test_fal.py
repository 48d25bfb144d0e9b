"""The fal.ai adapter against the fal.ai emulator (through httpx.ASGITransport: no sockets)."""

from __future__ import annotations

import hashlib
import json
import time
import uuid

import anyio
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from service.media.render import probe_video
from service.providers.base import DispatchRequest, ProviderRejected, ProviderUnavailable
from service.providers.fal import FalProvider, app_id
from service.sandbox.emulators.fal import create_app, public_jwks
from service.sandbox.emulators.knobs import Knobs
from tests.contract.helpers import Receiver, asgi_client, dispatch_request, finish, provider_factory
from tests.contract.provider_contract import FakeClock, ProviderContract, wait_for_state

BASE = "https://queue.fal.run"
JWKS = f"{BASE}/.well-known/jwks.json"
USER = "user-123"
T2V = "fal-ai/kling-video/v2.5-turbo/pro/text-to-video"
I2V = "fal-ai/kling-video/v2.1/standard/image-to-video"
HOOK = "https://gateway.test/hooks/fal"


def dispatch(model: str = T2V, **changes) -> DispatchRequest:
    return dispatch_request("kling-2.5", model, {"seconds": "2", "size": "1280x720"}, **changes)


class TestFal(ProviderContract):
    @pytest.fixture
    def receiver(self) -> Receiver:
        return Receiver("/hooks/fal")

    @pytest.fixture
    async def emulator(self, emulator_knobs, clock, tmp_path, receiver):
        async with asgi_client(receiver.app) as hooks:
            app = create_app(
                emulator_knobs,
                data_dir=tmp_path / "fal",
                base_url=BASE,
                user_id=USER,
                clock=clock,
                webhook_client=hooks,
                webhook_retry_delays=(0.05, 0.05),
            )
            yield app
            await app.state.emulator.aclose()

    @pytest.fixture
    async def make_provider(self, emulator, clock):
        def build(http, timeout, **options):
            settings = dict(key="test-key", user_id=USER, jwks_url=JWKS, clock=clock)
            return FalProvider(http, timeout=timeout, **{**settings, **options})

        async with provider_factory(build) as factory:
            yield factory

    @pytest.fixture
    def model(self) -> str:
        return T2V

    @pytest.fixture
    def request_for(self):
        return dispatch

    @pytest.fixture
    def unknown_upstream_id(self) -> str:
        return f"fal-ai/kling-video:{uuid.uuid4()}"

    @pytest.fixture
    def jobs(self, emulator):
        return emulator.state.emulator.jobs

    @pytest.fixture
    async def raw(self, emulator):
        async with asgi_client(emulator, headers={"Authorization": "Key k"}) as client:
            yield client

    finish = staticmethod(finish)

    # --- the queue protocol ---------------------------------------------------------------

    async def test_submit_maps_our_parameters_to_fal_input(self, provider, jobs, tmp_path, clock):
        params = {"seconds": "5", "size": "720x1280", "seed": 7, "negative_prompt": "blur"}
        request = dispatch(params=params, callback_url=HOOK)
        submission, done = await self.finish(provider, clock, request)
        app, _, rid = submission.upstream_id.rpartition(":")
        assert app == "fal-ai/kling-video"
        assert jobs[rid].webhook == HOOK
        assert jobs[rid].input == {
            "prompt": "a red fox in snow",
            "duration": "5",
            "aspect_ratio": "9:16",
            "seed": 7,
            "negative_prompt": "blur",
        }
        assert done.extra["seed"] == 7
        assert done.extra["video"]["content_type"] == "video/mp4"
        info = probe_video(await provider.download(submission.upstream_id, tmp_path / "v.mp4"))
        assert (info.width, info.height, info.duration) == (90, 160, 5.0)

    async def test_image_to_video_takes_the_image_url(self, provider, jobs, clock):
        image = {"image": {"url": "https://img.example/cat.png"}}
        submission, _ = await self.finish(provider, clock, dispatch(I2V, inputs=image))
        assert (
            jobs[submission.upstream_id.split(":")[1]].input["image_url"] == image["image"]["url"]
        )

    async def test_uploaded_images_are_refused_before_any_call(self, provider, jobs):
        with pytest.raises(ProviderRejected, match="image_url") as raised:
            await provider.submit(dispatch(I2V, inputs={"image": {"sha256": "ab" * 32}}))
        assert raised.value.code == "image_upload_unsupported"
        assert not jobs

    async def test_invalid_input_fails_like_a_fal_model(self, provider, raw, clock):
        submission, failed = await self.finish(provider, clock, dispatch(I2V), state="failed")
        assert (failed.error_code, failed.error_message) == ("missing", "Field required")
        app, _, rid = submission.upstream_id.rpartition(":")
        result = await raw.get(f"{BASE}/{app}/requests/{rid}")
        assert result.status_code == 422
        assert result.json()["detail"][0]["loc"] == ["body", "image_url"]

    async def test_urls_drop_the_model_subpath(self, raw, clock):
        submitted = (await raw.post(f"{BASE}/{T2V}", json={"prompt": "a fox"})).json()
        rid, base = submitted["request_id"], f"{BASE}/fal-ai/kling-video/requests"
        assert uuid.UUID(rid)
        assert submitted["response_url"] == f"{base}/{rid}"
        assert submitted["status_url"] == f"{base}/{rid}/status"
        assert submitted["cancel_url"] == f"{base}/{rid}/cancel"
        assert (submitted["status"], submitted["queue_position"]) == ("IN_QUEUE", 0)
        assert (await raw.get(f"{BASE}/{T2V}/requests/{rid}/status")).status_code == 404
        queued = await raw.get(submitted["status_url"])
        assert (queued.status_code, queued.json()["status"]) == (202, "IN_QUEUE")
        early = await raw.get(submitted["response_url"])
        assert (early.status_code, early.json()) == (
            400,
            {"detail": "Request is still in progress"},
        )
        assert app_id(T2V) == "fal-ai/kling-video"
        assert app_id("workflows/acme/pipeline/run") == "workflows/acme/pipeline"

    async def test_calls_without_a_key_get_fals_401(self, emulator):
        transport = httpx.ASGITransport(app=emulator)
        async with httpx.AsyncClient(transport=transport) as anonymous:
            response = await anonymous.post(f"{BASE}/{T2V}", json={"prompt": "a fox"})
        assert response.status_code == 401
        assert "detail" in response.json()

    async def test_progress_comes_from_the_logs(self, provider, clock, emulator_knobs):
        submission = await provider.submit(dispatch())
        clock.advance(emulator_knobs.latency * 0.6)
        running = await wait_for_state(provider, submission.upstream_id, {"in_progress"})
        assert running.raw_status == "IN_PROGRESS"
        assert 55 <= running.progress <= 65

    async def test_cancel_after_completion_is_rejected(self, provider, clock):
        submission, _ = await self.finish(provider, clock, dispatch())
        with pytest.raises(ProviderRejected) as raised:
            await provider.cancel(submission.upstream_id)
        assert raised.value.code == "already_completed"

    async def test_a_canceled_job_reports_client_cancelled(self, provider, raw):
        submission = await provider.submit(dispatch())
        app, _, rid = submission.upstream_id.rpartition(":")
        canceled = await raw.put(f"{BASE}/{app}/requests/{rid}/cancel")
        assert (canceled.status_code, canceled.json()) == (
            202,
            {"status": "CANCELLATION_REQUESTED"},
        )
        status = await provider.status(submission.upstream_id)
        assert (status.state, status.raw_status, status.error_code) == (
            "canceled",
            "COMPLETED",
            "client_cancelled",
        )

    # --- webhooks ---------------------------------------------------------------------------

    async def test_the_webhook_verifies_and_maps_the_result(
        self, provider, make_provider, emulator, receiver, clock
    ):
        _, done = await self.finish(provider, clock, dispatch(callback_url=HOOK))
        await receiver.wait(1)
        headers, body, _ = receiver.calls[0]
        fresh = make_provider(httpx.ASGITransport(app=emulator), 1.0)
        with pytest.raises(ProviderUnavailable):
            fresh.parse_webhook(headers, body)  # sync: needs the keys first
        status = await provider.verify_webhook(headers, body)
        assert (status.state, status.raw_status, status.output_url) == (
            "completed",
            "OK",
            done.output_url,
        )
        assert status.extra["request_id"] == done.extra["request_id"]
        await fresh.refresh_keys()
        assert fresh.parse_webhook(headers, body) == status

    @pytest.mark.parametrize("attack", ["forged", "wrong_user", "stale", "tampered", "unsigned"])
    async def test_bad_webhooks_are_rejected(
        self, provider, make_provider, emulator, receiver, clock, attack
    ):
        await self.finish(provider, clock, dispatch(callback_url=HOOK))
        await receiver.wait(1)
        headers, body, _ = receiver.calls[0]
        if attack == "forged":
            digest = hashlib.sha256(body).hexdigest()
            parts = [headers[f"x-fal-webhook-{n}"] for n in ("request-id", "user-id", "timestamp")]
            message = "\n".join([*parts, digest]).encode()
            headers["x-fal-webhook-signature"] = Ed25519PrivateKey.generate().sign(message).hex()
        elif attack == "wrong_user":
            provider = make_provider(httpx.ASGITransport(app=emulator), 1.0, user_id="another")
        elif attack == "stale":
            clock.advance(301)
        elif attack == "tampered":
            body = body.replace(b'"OK"', b'"ERROR"')
        else:
            del headers["x-fal-webhook-signature"]
        expected = {"wrong_user": "wrong_user", "stale": "stale"}.get(attack, "invalid_signature")
        with pytest.raises(ProviderRejected) as raised:
            await provider.verify_webhook(headers, body)
        assert raised.value.code == expected

    @pytest.mark.parametrize(("knob", "state"), [("fail", "failed"), ("cancel", "canceled")])
    async def test_error_webhooks_map_to_failed_or_canceled(
        self, provider, receiver, clock, emulator_knobs, knob, state
    ):
        emulator_knobs.fail_rate = 1.0 if knob == "fail" else 0.0
        submission = await provider.submit(dispatch(callback_url=HOOK))
        if knob == "cancel":
            await provider.cancel(submission.upstream_id)
        clock.advance(60.0)
        polled = await wait_for_state(provider, submission.upstream_id, {state})
        await receiver.wait(1)
        pushed = await provider.verify_webhook(*receiver.calls[0][:2])
        assert (pushed.state, pushed.raw_status) == (state, "ERROR")
        assert pushed.error_code == polled.error_code

    async def test_webhook_loss(self, provider, receiver, clock, emulator_knobs):
        emulator_knobs.webhook_loss = 1.0
        await self.finish(provider, clock, dispatch(callback_url=HOOK))
        await anyio.sleep(0.2)
        assert receiver.calls == []

    async def test_webhook_duplicate_sends_two_identical(
        self, provider, receiver, clock, emulator_knobs
    ):
        emulator_knobs.webhook_duplicate = 1.0
        await self.finish(provider, clock, dispatch(callback_url=HOOK))
        await receiver.wait(2)
        await anyio.sleep(0.05)
        assert len(receiver.calls) == 2
        assert receiver.calls[0][:2] == receiver.calls[1][:2]

    async def test_webhook_delay(self, provider, receiver, clock, emulator_knobs):
        emulator_knobs.webhook_delay = 0.3
        await self.finish(provider, clock, dispatch(callback_url=HOOK))
        completed_at = time.monotonic()
        await receiver.wait(1)
        assert receiver.calls[0][2] - completed_at >= 0.25

    async def test_webhook_reorder_lets_a_later_one_overtake(
        self, provider, receiver, clock, emulator_knobs
    ):
        emulator_knobs.webhook_reorder = 1.0
        first = await provider.submit(dispatch(callback_url=HOOK))
        clock.advance(0.1)
        second = await provider.submit(dispatch(callback_url=HOOK))
        clock.advance(0.11)  # the first is done at 0.2 s, the second at 0.3 s
        await wait_for_state(provider, first.upstream_id, {"completed"})
        await anyio.sleep(0.05)  # the first webhook is now held back
        assert receiver.calls == []
        clock.advance(0.1)
        await wait_for_state(provider, second.upstream_id, {"completed"})
        await receiver.wait(2, within=0.8)  # well before the hold would have expired
        order = [json.loads(body)["request_id"] for _, body, _ in receiver.calls]
        assert order == [second.upstream_id.split(":")[1], first.upstream_id.split(":")[1]]

    async def test_a_failed_delivery_is_retried_freshly_signed(self, provider, receiver, clock):
        receiver.fail = 1
        await self.finish(provider, clock, dispatch(callback_url=HOOK))
        await receiver.wait(1)
        clock.advance(5)
        await receiver.wait(2)
        (first, body, _), (second, again, _) = receiver.calls
        assert body == again
        assert int(second["x-fal-webhook-timestamp"]) - int(first["x-fal-webhook-timestamp"]) == 5
        assert (await provider.verify_webhook(second, again)).state == "completed"


class TestJwksCache:
    pytestmark = pytest.mark.anyio

    @pytest.fixture
    def anyio_backend(self) -> str:
        return "asyncio"

    async def test_keys_are_cached_refetched_on_rotation_and_after_a_day(self):
        old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
        served, fetches = [old], []

        def jwks(request: httpx.Request) -> httpx.Response:
            fetches.append(request.url)
            return httpx.Response(200, json=public_jwks(*served))

        clock = FakeClock()
        async with httpx.AsyncClient(transport=httpx.MockTransport(jwks)) as http:
            provider = FalProvider(http, key="k", user_id=USER, jwks_url=JWKS, clock=clock)

            def webhook(key: Ed25519PrivateKey) -> tuple[dict[str, str], bytes]:
                video = {"url": "https://v3.fal.media/files/x/output.mp4"}
                body = json.dumps({"request_id": "r1", "status": "OK", "payload": {"video": video}})
                stamp = str(int(clock()))
                digest = hashlib.sha256(body.encode()).hexdigest()
                message = "\n".join(["r1", USER, stamp, digest])
                signature = key.sign(message.encode()).hex()
                names = ("Request-Id", "User-Id", "Timestamp", "Signature")
                values = ("r1", USER, stamp, signature)
                headers = {f"X-Fal-Webhook-{n}": v for n, v in zip(names, values, strict=True)}
                return headers, body.encode()

            assert (await provider.verify_webhook(*webhook(old))).state == "completed"
            assert (await provider.verify_webhook(*webhook(old))).state == "completed"
            assert len(fetches) == 1  # cached
            served[:] = [new]  # fal rotates its key
            assert (await provider.verify_webhook(*webhook(new))).state == "completed"
            assert len(fetches) == 2  # an unknown signature refetched once
            with pytest.raises(ProviderRejected):
                await provider.verify_webhook(*webhook(old))  # a forgery, as far as we know
            assert len(fetches) == 2  # at most one refetch a minute
            clock.advance(61)
            for _ in range(2):
                with pytest.raises(ProviderRejected):
                    await provider.verify_webhook(*webhook(old))
            assert len(fetches) == 3
            clock.advance(24 * 3600 + 1)
            assert (await provider.verify_webhook(*webhook(new))).state == "completed"
            assert len(fetches) == 4  # older than 24 h: fetched again


class TestFalClientFidelity:
    """fal's own SDK, pointed at the emulator: it builds https://queue.fal.run URLs (hosts from
    FAL_QUEUE_RUN_HOST, read at import), so its transport is swapped for the emulator's ASGI
    app rather than its host; everything above the transport is fal-client's code."""

    pytestmark = pytest.mark.anyio

    @pytest.fixture
    def anyio_backend(self) -> str:
        return "asyncio"

    @pytest.fixture
    async def fal(self, monkeypatch, tmp_path):
        fal_client = pytest.importorskip("fal_client")
        from fal_client import client as sdk

        app = create_app(Knobs(latency=0.2), data_dir=tmp_path, base_url=BASE, user_id=USER)
        backup = sdk.AsyncBackupDomainTransport
        asgi = httpx.ASGITransport(app=app)
        monkeypatch.setattr(sdk, "AsyncBackupDomainTransport", lambda: backup(transport=asgi))
        client = fal_client.AsyncClient(key="test-key")
        yield fal_client, client, app
        await (await client._client).aclose()
        await app.state.emulator.aclose()

    async def test_submit_poll_and_result_through_fal_client(self, fal, tmp_path):
        fal_client, client, app = fal
        handle = await client.submit(T2V, {"prompt": "a fox", "duration": "5"}, webhook_url=HOOK)
        assert handle.status_url == f"{BASE}/fal-ai/kling-video/requests/{handle.request_id}/status"
        events = [type(e).__name__ async for e in handle.iter_events(with_logs=True, interval=0.02)]
        assert events[0] == "Queued"
        assert "InProgress" in events
        assert events[-1] == "Completed"
        result = await handle.get()
        assert result["video"]["content_type"] == "video/mp4"
        assert await client.result(T2V, handle.request_id) == result  # its own, sub-path-free URL
        with pytest.raises(fal_client.FalClientHTTPError) as raised:
            await client.cancel(T2V, handle.request_id)
        assert raised.value.status_code == 400
        files = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
        async with files:
            video = await files.get(result["video"]["url"])
        (tmp_path / "out.mp4").write_bytes(video.content)
        assert probe_video(tmp_path / "out.mp4").codec == "h264"

    async def test_fal_client_reads_model_errors(self, fal):
        fal_client, client, _ = fal
        handle = await client.submit(I2V, {"prompt": "a fox"})  # no image_url
        status = [event async for event in handle.iter_events(interval=0.02)][-1]
        assert isinstance(status, fal_client.Completed)
        assert status.error_type == "missing"
        with pytest.raises(fal_client.FalClientHTTPError) as raised:
            await handle.get()
        assert raised.value.status_code == 422
