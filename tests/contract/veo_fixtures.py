"""What the Veo test modules share: constants, request builders, and `VeoContract`, the
provider contract plus the checks both Veo adapters (Gemini API, Vertex AI) must pass.

A plain module, not a conftest: only the Veo tests import it. `VeoContract` is not named
`Test…`, so pytest collects it only through its subclasses in test_veo_gemini.py and
test_veo_vertex.py (adapters over httpx.ASGITransport against the emulator, no sockets).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from service.media.render import probe_video
from service.providers.base import DispatchRequest, ProviderRejected, ProviderUnavailable
from service.sandbox.emulators.veo import create_app
from tests.contract.helpers import dispatch_request, finish, png, png_input, provider_factory
from tests.contract.provider_contract import ProviderContract, wait_for_state

GEMINI = "https://generativelanguage.googleapis.com"
VERTEX = "https://us-central1-aiplatform.googleapis.com"
KEY, TOKEN = "AIza-test-key", "ya29.test-token"
MODEL = "veo-3.1-fast-generate-preview"
VERTEX_SCOPE = "projects/proj/locations/us-central1/publishers/google/models"


def dispatch(model: str = MODEL, **changes) -> DispatchRequest:
    params = {"seconds": "4", "size": "1280x720"}
    return dispatch_request("veo-3.1-fast", model, params, **changes)


class VeoContract(ProviderContract):
    """What both Veo variants share on top of the provider contract."""

    base_url = GEMINI
    fresh_state = "in_progress"

    @pytest.fixture
    def emulator(self, emulator_knobs, clock, tmp_path):
        return create_app(
            emulator_knobs,
            data_dir=tmp_path / "veo",
            base_url=self.base_url,
            clock=clock,
            api_keys={KEY},
            access_tokens={TOKEN},
        )

    @pytest.fixture
    def state(self, emulator):
        return emulator.state.emulator

    @pytest.fixture
    async def make_provider(self, emulator, clock):
        def build(http, timeout, **options):
            return self.build(http, timeout=timeout, **options)

        async with provider_factory(build) as factory:
            yield factory

    def build(self, http, **options):
        raise NotImplementedError

    @pytest.fixture
    def model(self) -> str:
        return MODEL

    @pytest.fixture
    def request_for(self):
        return dispatch

    finish = staticmethod(finish)

    # Veo has no cancel on either API: the contract's "ends canceled" cannot hold.
    async def test_cancel_ends_the_job_canceled(self, provider, request_for, model, clock):
        """Overridden: cancel is a documented no-op and the job runs on to completion."""
        submission = await provider.submit(request_for(model))
        await provider.cancel(submission.upstream_id)
        clock.advance(60.0)
        done = await wait_for_state(provider, submission.upstream_id, {"completed"})
        assert done.raw_status == "done"

    async def test_not_done_is_running_without_progress(self, provider, clock):
        """Veo cannot tell queued from running, and gives no percent: the poller guesses."""
        submission = await provider.submit(dispatch())
        status = await provider.status(submission.upstream_id)
        running = ("in_progress", "running", None)
        assert (status.state, status.raw_status, status.progress) == running

    async def test_safety_filtered_operations_fail_as_content_filtered(
        self, provider, state, clock
    ):
        state.safety_filter_rate = 1.0
        submission, failed = await self.finish(provider, clock, dispatch(), state="failed")
        assert failed.error_code == "content_filtered"
        assert "Responsible AI" in failed.error_message
        assert failed.extra["rai_media_filtered_count"] == 1
        with pytest.raises(ProviderRejected):
            await provider.download(submission.upstream_id, Path("/nonexistent/never.mp4"))

    async def test_a_bad_duration_is_rejected_naming_the_field(self, provider):
        with pytest.raises(ProviderRejected, match="durationSeconds") as raised:
            await provider.submit(dispatch(params={"seconds": "5", "size": "1280x720"}))
        assert raised.value.code == "invalid_request"

    async def test_parameters_map_onto_veo(self, provider, state, clock):
        params = {"seconds": 6, "size": "720x1280", "negative_prompt": "blur", "seed": 7}
        submission, _ = await self.finish(provider, clock, dispatch(params=params))
        request = state.operations[submission.upstream_id].request
        assert (request.seconds, request.aspect_ratio, request.samples) == (6, "9:16", 1)
        assert request.negative_prompt == "blur"

    @pytest.mark.parametrize(
        ("params", "match"),
        [
            ({"seconds": "4.5"}, "whole seconds"),
            ({"size": "720x720"}, "square"),
            ({"size": "big"}, "WIDTHxHEIGHT"),
        ],
    )
    async def test_unmappable_parameters_are_refused_before_any_call(
        self, provider, state, params, match
    ):
        with pytest.raises(ProviderRejected, match=match):
            await provider.submit(dispatch(params=params))
        assert not state.operations

    async def test_image_bytes_go_inline(self, provider, state, clock, tmp_path):
        image = png()
        inputs = {"image": png_input()}
        submission, _ = await self.finish(provider, clock, dispatch(inputs=inputs))
        assert state.operations[submission.upstream_id].request.image == image
        info = probe_video(await provider.download(submission.upstream_id, tmp_path / "i.mp4"))
        assert (info.width, info.height, info.duration) == (64, 36, 4.0)

    async def test_image_urls_are_refused_before_any_call(self, provider, state):
        inputs = {"image": {"url": "https://img.example/cat.png"}}
        with pytest.raises(ProviderRejected, match="data") as raised:
            await provider.submit(dispatch(inputs=inputs))
        assert raised.value.code == "invalid_input"
        assert not state.operations

    async def test_stored_images_are_read_through_read_input(self, make_provider, emulator, state):
        image, asked = png(), []
        provider = make_provider(
            httpx.ASGITransport(app=emulator),
            1.0,
            read_input=lambda digest: asked.append(digest) or image,
        )
        inputs = {"image": {"sha256": "ab" * 32, "content_type": "image/png"}}
        submission = await provider.submit(dispatch(inputs=inputs))
        assert asked == ["ab" * 32]
        assert state.operations[submission.upstream_id].request.image == image

    async def test_webhooks_are_refused(self, provider):
        with pytest.raises(ProviderRejected, match="no webhooks"):
            provider.parse_webhook({}, b"{}")

    async def test_503_retry_after_and_timeouts_are_unavailable(self, make_provider):
        def answer(request: httpx.Request) -> httpx.Response:
            raise httpx.ReadTimeout("slow", request=request)

        provider = make_provider(httpx.MockTransport(answer), 1.0)
        with pytest.raises(ProviderUnavailable) as raised:
            await provider.submit(dispatch())
        assert raised.value.code == "upstream_timeout"  # sent: it may have created a job

        def never_sent(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectTimeout("slow", request=request)

        provider = make_provider(httpx.MockTransport(never_sent), 1.0)
        with pytest.raises(ProviderUnavailable) as raised:
            await provider.submit(dispatch())
        assert raised.value.code == "unreachable"  # nothing can have been created
        body = {"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}
        headers = {"Retry-After": "7"}
        provider = make_provider(
            httpx.MockTransport(lambda r: httpx.Response(503, json=body, headers=headers)), 1.0
        )
        with pytest.raises(ProviderUnavailable, match="overloaded") as raised:
            await provider.submit(dispatch())
        assert raised.value.retry_after == 7.0
        retry = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"}
        body = {"error": {"code": 429, "message": "quota", "details": [retry]}}
        provider = make_provider(httpx.MockTransport(lambda r: httpx.Response(429, json=body)), 1.0)
        with pytest.raises(ProviderUnavailable) as raised:
            await provider.status(f"models/{MODEL}/operations/abc")
        assert (raised.value.code, raised.value.retry_after) == ("rate_limited", 37.0)
