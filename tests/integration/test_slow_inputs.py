"""A slow-drip `image_url` (200, then a byte at a time, forever) against the local renderer on
a real store: the fetch has an overall deadline, a cancel or a shutdown lets go of it at once,
and the render slot it held goes to the next job. Each test would hang without the fix; the
`asyncio.timeout` guards turn a hang into a failure."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from events.job import Job
from service.providers import http as shared
from service.providers.base import ProviderRejected
from service.providers.local import LocalProvider
from service.runtime import build_tracking, close_view
from service.storage.store import Storage
from service.videos.signals import Signals
from service.workers.dispatcher import dispatch_request
from service.workers.mirror import OutputMirror
from tests.drip_server import drip_server
from tests.helpers import SUBMISSION

pytestmark = pytest.mark.anyio
TINY_JOB = {**SUBMISSION, "params": {"seconds": "1", "size": "160x90", "fps": 24}}
GUARD = 20.0  # seconds: far beyond any deadline below, far below the drip's forever


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def local_provider(gateway, tmp_path, http, **options) -> LocalProvider:
    storage = Storage(tmp_path / "files")
    return LocalProvider(Signals(gateway).apply, gateway.find_job, storage, http, **options)


def dispatched(gateway, image_url: str | None = None, tenant: str = "acme") -> Job:
    inputs = {"image": {"url": image_url}} if image_url else {}
    job, _ = gateway.submit(
        **{**TINY_JOB, "tenant": tenant, "inputs": inputs}, idempotency_key=None
    )
    return gateway.record_dispatch(job.id, "local", f"local_{job.id.hex}")


async def finished(gateway, job_id) -> Job:
    while True:
        job = gateway.find_job(job_id)
        if job is not None and job.is_terminal:
            return job
        await asyncio.sleep(0.02)


async def rendering(gateway, job_id) -> None:
    while gateway.find_job(job_id).progress == 0:  # noqa: ASYNC110 (the store has no event)
        await asyncio.sleep(0.02)


async def test_a_slow_drip_image_fails_the_job_at_the_fetch_deadline(gateway, tmp_path):
    with drip_server(every=0.05) as host:
        job = dispatched(gateway, host.url)
        async with httpx.AsyncClient() as http, asyncio.timeout(GUARD):
            provider = local_provider(gateway, tmp_path, http, fetch_timeout=0.5)
            provider.start(dispatch_request(job))
            failed = await finished(gateway, job.id)
            await provider.close()
        await asyncio.to_thread(host.wait_all_closed)
    assert failed.status == "failed"
    assert failed.error is not None and failed.error["code"] == "input_fetch_timeout"
    assert "image_url" in failed.error["message"] and "0.5 s" in failed.error["message"]


async def test_an_image_over_the_byte_limit_fails_the_job(gateway, tmp_path):
    with drip_server(every=0.0) as host:  # as fast as it goes: the limit stops it, not time
        job = dispatched(gateway, host.url)
        async with httpx.AsyncClient() as http, asyncio.timeout(GUARD):
            provider = local_provider(gateway, tmp_path, http, fetch_max_bytes=1000)
            provider.start(dispatch_request(job))
            failed = await finished(gateway, job.id)
            await provider.close()
    assert failed.error is not None and failed.error["code"] == "image_unavailable"
    assert "image_url is larger than 1000 bytes" in failed.error["message"]


async def test_canceling_a_job_whose_image_is_being_fetched_frees_its_slot(gateway, tmp_path):
    """One slot: the drip holds it; canceling that job lets the queued job render."""
    with drip_server() as host:
        slow, quick = dispatched(gateway, host.url), dispatched(gateway, tenant="other")
        async with httpx.AsyncClient() as http, asyncio.timeout(GUARD):
            provider = local_provider(gateway, tmp_path, http, concurrency=1, fetch_timeout=600)
            provider.start(dispatch_request(slow))
            await asyncio.to_thread(host.wait_opened)
            provider.start(dispatch_request(quick))
            gateway.update_job(slow.id, lambda j: j.cancel("api"))  # as the API does
            assert (await finished(gateway, quick.id)).status == "completed"
            await provider.close()
        await asyncio.to_thread(host.wait_all_closed)
    assert gateway.find_job(slow.id).status == "canceled"


async def test_canceling_a_rendering_job_frees_its_slot(gateway, tmp_path):
    """A long render (slow frames) is stopped by a cancel; the queued job then renders."""
    long_job = {**TINY_JOB, "params": {"seconds": "20", "size": "160x90", "fps": 24}}
    job, _ = gateway.submit(**long_job, idempotency_key=None)
    slow = gateway.record_dispatch(job.id, "local", f"local_{job.id.hex}")
    quick = dispatched(gateway, tenant="other")
    async with httpx.AsyncClient() as http, asyncio.timeout(GUARD):
        provider = local_provider(gateway, tmp_path, http, concurrency=1, frame_delay=0.05)
        provider.start(dispatch_request(slow))
        await rendering(gateway, slow.id)
        provider.start(dispatch_request(quick))
        gateway.update_job(slow.id, lambda j: j.cancel("api"))
        assert (await finished(gateway, quick.id)).status == "completed"
        await provider.close()
    assert gateway.find_job(slow.id).status == "canceled"


async def test_closing_the_provider_lets_go_of_a_slow_fetch_and_the_job_stays_unfinished(
    gateway, tmp_path
):
    """Shutdown (SIGTERM, losing the lead) must not wait for the image host: the fetch is
    abandoned and the job left dispatched, for the next leader to resume."""
    with drip_server() as host:
        job = dispatched(gateway, host.url)
        queued = dispatched(gateway, tenant="other")
        async with httpx.AsyncClient() as http, asyncio.timeout(GUARD):
            provider = local_provider(gateway, tmp_path, http, concurrency=1, fetch_timeout=600)
            provider.start(dispatch_request(job))
            provider.start(dispatch_request(queued))
            await asyncio.to_thread(host.wait_opened)
            await provider.close()
        await asyncio.to_thread(host.wait_all_closed)
    for unfinished in (job, queued):
        assert not gateway.find_job(unfinished.id).is_terminal
        assert [type(e).__name__ for e in gateway.history(unfinished.id)] == [
            "Submitted",
            "Dispatched",
        ]


class DripOutputs:
    """A hand-written upstream whose finished videos sit at a slow URL."""

    name = "dripper"

    def __init__(self, http: httpx.AsyncClient, url: str) -> None:
        self.http, self.url = http, url

    async def download(self, upstream_id: str, dest):
        refused = http_error_for("dripper")
        return await shared.stream_to_file(
            self.http, self.url, dest, deadline=30.0, who="dripper", refused=refused
        )


def http_error_for(who: str):
    return lambda response: ProviderRejected(f"{who} answered HTTP {response.status_code}")


async def test_the_mirror_gives_up_a_slow_drip_output_at_its_deadline(gateway, settings, tmp_path):
    job = dispatched(gateway)
    gateway.update_job(job.id, lambda j: j.complete({"url": "https://up/v.mp4"}, "poll"))
    tracking = build_tracking(settings, "mirror")
    with drip_server() as host:
        async with httpx.AsyncClient() as http, asyncio.timeout(GUARD):
            upstream = DripOutputs(http, host.url)
            storage = Storage(tmp_path / "files")
            mirror = OutputMirror(
                gateway,
                tracking,
                {"local": upstream},
                storage,
                attempts=2,
                retry_base=0.01,
                download_timeout=0.3,
            )
            await mirror.mirror(job.id)
        await asyncio.to_thread(host.wait_all_closed)
    close_view(tracking)
    assert host.opened == 2  # each attempt gave up at the deadline
    assert not gateway.find_job(job.id).output_stored
    assert not list((tmp_path / "files").rglob("*.part")) and not list(tmp_path.rglob("*.download"))


async def test_an_output_past_the_byte_limit_is_refused(tmp_path):
    with drip_server(every=0.0) as host:
        async with httpx.AsyncClient() as http, asyncio.timeout(GUARD):
            chunks = (
                await http.send(http.build_request("GET", host.url), stream=True)
            ).aiter_bytes()
            with pytest.raises(ProviderRejected, match="larger than 100 bytes") as refused:
                async for _ in shared.limited(chunks, "dripper", max_bytes=100):
                    pass
    assert refused.value.code == "output_too_large"
