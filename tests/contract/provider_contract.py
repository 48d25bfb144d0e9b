"""The contract every upstream adapter must keep against its emulator.

Subclass `ProviderContract` in a `test_<provider>.py` and override the fixtures:

- `emulator(emulator_knobs, clock, tmp_path)` → the emulator's ASGI app (close it on teardown);
- `make_provider(emulator, clock)` → `factory(transport, timeout)` building the adapter over
  any httpx transport (the contract points it at the emulator, or at a broken mock);
- `request_for` → `factory(model)` building a `DispatchRequest`, and `model`;
- `unknown_upstream_id` → a well-formed id the upstream has never issued.

`emulator_knobs` (latency 0.2 s on the injected `clock`) and `provider` have defaults. The
emulator and the adapter share the fake `clock`: tests move time with `clock.advance()`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any
from uuid import uuid4

import anyio
import httpx
import pytest

from service.media.render import probe_video
from service.providers.base import (
    DispatchRequest,
    Provider,
    ProviderRejected,
    ProviderUnavailable,
    UpstreamStatus,
)
from service.sandbox.emulators.knobs import Knobs

LATENCY = 0.2
TERMINAL = {"completed", "failed", "canceled"}


class FakeClock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def wait_for_state(
    provider: Provider, upstream_id: str, states: Iterable[str], within: float = 10.0
) -> UpstreamStatus:
    """Poll until the job reaches one of `states` (real seconds; the emulator renders)."""
    wanted, deadline = set(states), time.monotonic() + within
    while True:
        status = await provider.status(upstream_id)
        if status.state in wanted:
            return status
        assert status.state not in TERMINAL, f"ended {status.state}, wanted {wanted}: {status}"
        assert time.monotonic() < deadline, f"still {status.state} after {within} s"
        await anyio.sleep(0.01)


def attempted(request: DispatchRequest, provider: str) -> DispatchRequest:
    """`request` as the dispatcher sends it: under an attempt id, with a callback URL."""
    callback = request.callback_url or f"https://gateway.test/hooks/{provider}/token"
    return replace(request, attempt_id=uuid4().hex, callback_url=callback)


class ProviderContract:
    pytestmark = pytest.mark.anyio
    # What a just-submitted job's status is (Veo cannot tell queued from running).
    fresh_state = "queued"

    @pytest.fixture
    def anyio_backend(self) -> str:
        return "asyncio"

    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock()

    @pytest.fixture
    def emulator_knobs(self) -> Knobs:
        return Knobs(latency=LATENCY, rng=random.Random(7))

    @pytest.fixture
    def emulator(self, emulator_knobs: Knobs, clock: FakeClock, tmp_path: Path) -> Any:
        raise NotImplementedError("override: the emulator's ASGI app")

    @pytest.fixture
    def make_provider(self, emulator: Any, clock: FakeClock) -> Callable[..., Provider]:
        raise NotImplementedError("override: (transport, timeout) -> adapter")

    @pytest.fixture
    def model(self) -> str:
        raise NotImplementedError("override: an upstream model id")

    @pytest.fixture
    def request_for(self) -> Callable[[str], DispatchRequest]:
        raise NotImplementedError("override: model -> DispatchRequest")

    @pytest.fixture
    def unknown_upstream_id(self) -> str:
        raise NotImplementedError("override: a well-formed id the upstream never issued")

    @pytest.fixture
    def provider(self, make_provider: Callable[..., Provider], emulator: Any) -> Provider:
        return make_provider(httpx.ASGITransport(app=emulator), 1.0)

    async def test_find_names_the_job_an_earlier_submit_created(self, provider, request_for, model):
        """What reconciles a submit whose answer was lost (a crash before `Dispatched`)."""
        if not provider.finds:
            pytest.skip(f"{provider.name} has no way to look a job up by what we sent")
        request = attempted(request_for(model), provider.name)
        assert await provider.find(request) is None  # nothing submitted yet
        submission = await provider.submit(request)
        assert await provider.find(request) == submission
        another = attempted(replace(request_for(model), job_id=uuid4()), provider.name)
        assert await provider.find(another) is None

    async def test_a_deduping_provider_renders_a_resubmitted_attempt_once(
        self, provider, request_for, model
    ):
        if not provider.dedupes:
            pytest.skip(f"{provider.name} takes no client-chosen id")
        request = attempted(request_for(model), provider.name)
        assert await provider.submit(request) == await provider.submit(request)

    async def test_happy_path_completes_within_the_latency_and_downloads_an_mp4(
        self, provider, request_for, model, clock, emulator_knobs, tmp_path
    ):
        submission = await provider.submit(request_for(model))
        assert (await provider.status(submission.upstream_id)).state == self.fresh_state
        clock.advance(emulator_knobs.latency * 0.5)
        await anyio.sleep(0.3)  # the render is done by now: only the clock holds the job back
        middle = await provider.status(submission.upstream_id)
        assert middle.state in ("queued", "in_progress")
        clock.advance(emulator_knobs.latency * 0.5 + 1e-3)  # + float rounding at 1.7e9
        done = await wait_for_state(provider, submission.upstream_id, {"completed"})
        assert done.output_url
        video = await provider.download(submission.upstream_id, tmp_path / "out.mp4")
        info = probe_video(video)
        assert info.codec == "h264"
        assert info.frames > 0
        assert info.width > 0
        assert info.height > 0

    async def test_a_failing_job_ends_failed_with_a_reason(
        self, provider, request_for, model, clock, emulator_knobs
    ):
        emulator_knobs.fail_rate = 1.0
        submission = await provider.submit(request_for(model))
        clock.advance(emulator_knobs.latency)
        failed = await wait_for_state(provider, submission.upstream_id, {"failed"})
        assert failed.error_code
        assert failed.error_message

    async def test_a_stalled_job_never_finishes(
        self, provider, request_for, model, clock, emulator_knobs
    ):
        emulator_knobs.stall_rate = 1.0
        submission = await provider.submit(request_for(model))
        clock.advance(emulator_knobs.latency * 1000)
        await anyio.sleep(0.05)
        status = await provider.status(submission.upstream_id)
        assert status.state in ("queued", "in_progress"), status

    @pytest.mark.parametrize(
        ("kind", "error"),
        [("4xx", ProviderRejected), ("5xx", ProviderUnavailable), ("429", ProviderUnavailable)],
    )
    async def test_upstream_errors_map_to_the_error_tree(
        self, provider, request_for, model, emulator_knobs, kind, error
    ):
        emulator_knobs.error_rate, emulator_knobs.error_kinds = 1.0, (kind,)
        with pytest.raises(error) as raised:
            await provider.submit(request_for(model))
        if kind == "429":
            assert raised.value.retry_after == emulator_knobs.retry_after

    async def test_errors_on_status_calls_are_retryable(
        self, provider, request_for, model, emulator_knobs
    ):
        submission = await provider.submit(request_for(model))
        emulator_knobs.error_rate, emulator_knobs.error_kinds = 1.0, ("5xx",)
        with pytest.raises(ProviderUnavailable):
            await provider.status(submission.upstream_id)

    async def test_a_hanging_upstream_times_out_as_unavailable(
        self, make_provider, emulator, request_for, model, emulator_knobs
    ):
        provider = make_provider(httpx.ASGITransport(app=emulator), 0.2)
        emulator_knobs.error_rate, emulator_knobs.error_kinds = 1.0, ("timeout",)
        started = time.monotonic()
        with pytest.raises(ProviderUnavailable):
            await provider.submit(request_for(model))
        assert time.monotonic() - started < 2.0

    @pytest.mark.parametrize("body", [b"<html>bad gateway</html>", b'{"unexpected": true}', b"[]"])
    async def test_malformed_bodies_are_unavailable(
        self, provider, make_provider, request_for, model, body
    ):
        submission = await provider.submit(request_for(model))  # a real id, for status()
        broken = make_provider(
            httpx.MockTransport(lambda request: httpx.Response(200, content=body)), 1.0
        )
        with pytest.raises(ProviderUnavailable):
            await broken.submit(request_for(model))
        with pytest.raises(ProviderUnavailable):
            await broken.status(submission.upstream_id)

    async def test_an_unknown_job_is_rejected(self, provider, unknown_upstream_id):
        with pytest.raises(ProviderRejected):
            await provider.status(unknown_upstream_id)

    async def test_cancel_ends_the_job_canceled(
        self, provider, request_for, model, clock, emulator_knobs
    ):
        emulator_knobs.latency = 60.0
        submission = await provider.submit(request_for(model))
        await provider.cancel(submission.upstream_id)
        clock.advance(1.0)
        canceled = await wait_for_state(provider, submission.upstream_id, {"canceled"})
        assert canceled.state == "canceled"
