"""The dispatcher fetches the image URLs an upstream won't fetch itself, in the background:
the upstream gets the image in its own form (here inline, as Veo and Sora take it), a slow
image host holds up no other job, and an image that can't be had fails its job with a code."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

import httpx
import pytest

from service.providers.base import Adapter, DispatchRequest, Submission
from service.providers.image_fetch import ImageFetcher, UrlInputs
from service.runtime import build_dispatch_tracking, close_view
from service.storage.store import Storage
from service.workers.dispatcher import Dispatcher
from tests.contract.helpers import wait_until
from tests.drip_server import drip_server
from tests.helpers import SUBMISSION
from tests.image_host import image_host, png

pytestmark = pytest.mark.anyio
PNG = png(32, 18)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class InlineUpstream(Adapter):
    """Takes images only inline (no URL fetching), and records what it was sent."""

    name: str = "inline"
    sent: dict[str, DispatchRequest] = field(default_factory=dict)

    def takes_image_url(self, url: str) -> bool:
        return False

    async def submit(self, request: DispatchRequest) -> Submission:
        self.sent[request.job_id.hex] = request
        return Submission(upstream_id=f"up-{request.job_id.hex}")


@pytest.fixture
async def dispatcher(gateway, settings, tmp_path):
    tracking = build_dispatch_tracking(settings)
    storage = Storage(tmp_path / "storage")
    http = httpx.AsyncClient()  # the tests' hosts are on loopback: no guard needed here
    url_inputs = UrlInputs(ImageFetcher(http, timeout=1.0), storage.save_input)
    upstream = InlineUpstream()
    running = Dispatcher(
        gateway,
        tracking,
        {"inline": upstream},
        read_input=storage.read_input,
        url_inputs=url_inputs,
    )
    yield running, upstream
    await running.stop()
    await http.aclose()
    close_view(tracking)


def submit(gateway, url: str | None = None):
    inputs = {"image": {"url": url}} if url else {}
    job, _ = gateway.submit(
        **{**SUBMISSION, "provider": "inline", "inputs": inputs}, idempotency_key=None
    )
    return job


async def test_the_upstream_gets_the_fetched_image_inline_and_the_job_keeps_the_url(
    gateway, dispatcher
):
    running, upstream = dispatcher
    with image_host(PNG) as host:
        job = submit(gateway, host.url("first.png"))
        await running.dispatch(job.id)
        await wait_until(lambda: gateway.find_job(job.id).is_dispatched, within=30)
    image = upstream.sent[job.id.hex].inputs["image"]
    assert base64.b64decode(image["data"]) == PNG and image["content_type"] == "image/png"
    assert image["fetched_from"] == host.url("first.png")
    assert gateway.find_job(job.id).inputs == {"image": {"url": host.url("first.png")}}


async def test_a_slow_image_host_holds_up_no_other_job_and_fails_its_own(gateway, dispatcher):
    running, upstream = dispatcher
    with drip_server(every=0.2) as slow:
        stuck = submit(gateway, slow.url)
        await running.dispatch(stuck.id)  # returns at once: the fetch runs in the background
        quick = submit(gateway)
        await running.dispatch(quick.id)
        assert quick.id.hex in upstream.sent and stuck.id.hex not in upstream.sent
        await running.dispatch(stuck.id)  # a sweep meanwhile submits nothing twice
        await wait_until(lambda: gateway.find_job(stuck.id).is_terminal, within=30)
    failed = gateway.find_job(stuck.id)
    assert failed.status == "failed" and stuck.id.hex not in upstream.sent
    assert failed.error["code"] == "input_fetch_timeout"
    assert "image_url did not download within 1 s" in failed.error["message"]


async def test_an_image_url_that_is_no_image_fails_its_job_as_invalid_image(gateway, dispatcher):
    running, _ = dispatcher
    with image_host(b"<html>not an image</html>") as host:
        job = submit(gateway, host.url("page.html"))
        await running.dispatch(job.id)
        await wait_until(lambda: gateway.find_job(job.id).is_terminal, within=30)
    assert gateway.find_job(job.id).error["code"] == "invalid_image"
