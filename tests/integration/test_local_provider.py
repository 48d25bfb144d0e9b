"""The built-in `local` provider and the dispatcher against a real store: a job's history
never shows progress (or completion) before `Dispatched`, however fast the render and slow
the dispatcher; a dispatcher that no longer leads submits nothing."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest

from events.job import Job
from service.providers.local import LocalProvider
from service.runtime import build_dispatch_tracking, close_view
from service.storage.store import Storage
from service.videos.signals import Signals
from service.workers.dispatcher import Dispatcher, LeadershipLost, dispatch_request
from tests.helpers import SUBMISSION

pytestmark = pytest.mark.anyio
TINY_JOB = {**SUBMISSION, "params": {"seconds": "1", "size": "160x90", "fps": 24}}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def local_provider(gateway, tmp_path, http, **options) -> LocalProvider:
    """The renderer reporting through the path webhooks and polls take."""
    storage = Storage(tmp_path / "files")
    return LocalProvider(Signals(gateway).apply, gateway.find_job, storage, http, **options)


async def finished(gateway, job_id) -> Job:
    async with asyncio.timeout(30):
        while True:
            job = gateway.find_job(job_id)
            if job is not None and job.is_terminal:
                return job
            await asyncio.sleep(0.02)


async def test_a_render_waits_for_its_dispatch_to_be_recorded(gateway, tmp_path):
    job, _ = gateway.submit(**TINY_JOB, idempotency_key=None)
    async with httpx.AsyncClient() as http:
        provider = local_provider(gateway, tmp_path, http)
        submission = await provider.submit(dispatch_request(job, None))
        await asyncio.sleep(0.5)  # a 1 s 160x90 render takes less than this
        assert [type(e).__name__ for e in gateway.history(job.id)] == ["Submitted"]
        gateway.record_dispatch(job.id, "local", submission.upstream_id)  # the dispatcher, late
        done = await finished(gateway, job.id)
        await provider.close()
    types = [type(e).__name__ for e in gateway.history(job.id)]
    assert done.status == "completed"
    assert types[:2] == ["Submitted", "Dispatched"] and types[-2:] == ["Completed", "OutputStored"]


async def test_a_render_whose_dispatch_is_never_recorded_goes_ahead(gateway, tmp_path):
    job, _ = gateway.submit(**TINY_JOB, idempotency_key=None)
    async with httpx.AsyncClient() as http:
        provider = local_provider(gateway, tmp_path, http, dispatch_wait=0.2)
        await provider.submit(dispatch_request(job, None))
        assert (await finished(gateway, job.id)).status == "completed"
        await provider.close()


async def test_a_dispatcher_that_no_longer_leads_submits_nothing(gateway, settings, tmp_path):
    """`may_dispatch` (the worker's `LeaderLock.still_held`) is asked before each submit; a
    refusal leaves the job and the dispatcher's position for the next leader."""
    job, _ = gateway.submit(**TINY_JOB, idempotency_key=None)
    tracking = build_dispatch_tracking(settings)
    leading = False
    async with httpx.AsyncClient() as http:
        provider = local_provider(gateway, tmp_path, http)
        dispatcher = Dispatcher(
            gateway, tracking, {"local": provider}, may_dispatch=lambda: leading
        )
        with pytest.raises(LeadershipLost):
            await dispatcher.run_once()
        assert [type(e).__name__ for e in gateway.history(job.id)] == ["Submitted"]
        assert tracking.max_tracking_id(gateway.name) is None
        leading = True
        assert await dispatcher.run_once() == 1
        assert (await finished(gateway, job.id)).status == "completed"
        await provider.close()
    close_view(tracking)


async def test_the_renderer_reports_its_statuses_and_appends_nothing_itself(gateway, tmp_path):
    """Progress, then the completion with the stored output, go through `report` (the
    path webhooks and polls take); the renderer itself never writes to the store."""
    job, _ = gateway.submit(**TINY_JOB, idempotency_key=None)
    gateway.record_dispatch(job.id, "local", f"local_{job.id.hex}")
    reported: list = []
    completed = threading.Event()

    def report(job_id, status, source):  # called from the render's threads
        reported.append((job_id, status, source))
        if status.state == "completed":
            completed.set()
        return gateway.find_job(job_id), False

    async with httpx.AsyncClient() as http:
        storage = Storage(tmp_path / "files")
        provider = LocalProvider(report, gateway.find_job, storage, http)
        await provider.submit(dispatch_request(job, None))
        assert await asyncio.to_thread(completed.wait, 30)
        await provider.close()
    assert [type(e).__name__ for e in gateway.history(job.id)] == ["Submitted", "Dispatched"]
    states = [status.state for _, status, _ in reported]
    assert set(states[:-1]) == {"in_progress"} and states[-1] == "completed"
    assert {job_id for job_id, _, _ in reported} == {job.id}
    assert {source for _, _, source in reported} == {"local"}
    done = reported[-1][1]
    assert done.stored_output["url"] == f"/v1/videos/video_{job.id.hex}/content"
    assert done.stored_output["bytes"] > 0 and len(done.stored_output["sha256"]) == 64
