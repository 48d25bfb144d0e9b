"""The console in a real Chromium against a real sandbox gateway (uvicorn on 127.0.0.1).

Every wait is on a condition of the page (`expect`, `wait_for_function`) or of the webhook
receiver, with generous deadlines; screenshots go to `artifacts` (tests/browser/artifacts/,
or VIDGATE_TEST_ARTIFACTS).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from events.apikey import DEFAULT_SCOPES
from service.app import create_app
from service.runtime import issue_key
from service.settings import EmulatorSettings, Settings
from tests.conftest import ADMIN_KEY
from tests.e2e.api import TINY, client, completed, wait_for
from tests.e2e.server import serve_in_thread
from tests.webhook_receiver import Receiver

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.browser,
    pytest.mark.parametrize("store", ["sqlite"], indirect=True),
]

WAIT = 60_000  # ms: a generous deadline for any page condition (a shared 2-core machine)
SLOW_JOB = {**TINY, "seconds": "2"}  # ~5 s with the frame delay below: seen while it runs
FRAME_DELAY = 0.1


@pytest.fixture
def artifacts() -> Path:
    default = Path(__file__).parent / "artifacts"
    folder = Path(os.environ.get("VIDGATE_TEST_ARTIFACTS") or default)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class Gateway:
    url: str
    app: Any

    def new_key(self, tenant: str, scopes: tuple[str, ...] = DEFAULT_SCOPES) -> str:
        """A key of any tenant, issued in-process (the console issues keys of its own)."""
        key: str = issue_key(self.app.state.runtime, tenant, scopes)
        return key


@pytest.fixture
def gateway(settings: Settings) -> Iterator[Gateway]:
    """A sandbox gateway (emulators in-process) with quick wakes and a slowed renderer."""
    apps = []

    def build(base: str) -> Any:
        changed = replace(
            settings,
            sandbox=True,
            public_url=base,
            watch_interval=0.05,
            local_frame_delay=FRAME_DELAY,
            emulate=EmulatorSettings(latency=1.0),
        )
        apps.append(create_app(changed))
        return apps[-1]

    with serve_in_thread(build) as url:
        yield Gateway(url, apps[0])


def expect() -> Any:
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=WAIT)
    return playwright_expect


@pytest.fixture
def signed_in(browser: Any, gateway: Gateway) -> Iterator[Callable[[str], Any]]:
    """`signed_in(key)`: a page of a fresh browser context (its own cookies), signed in with
    `key`. The contexts close before the gateway stops (an open event stream would hold
    the server's graceful shutdown)."""
    contexts: list[Any] = []

    def sign_in(key: str) -> Any:
        contexts.append(browser.new_context())
        page = contexts[-1].new_page()
        page.set_default_timeout(WAIT)
        page.goto(f"{gateway.url}/console/sign-in")
        page.fill("input[name=api_key]", key)
        page.click("button[type=submit]")
        expect()(page).to_have_url(f"{gateway.url}/console/jobs")
        return page

    yield sign_in
    for context in contexts:
        context.close()


def timeline_types(page: Any) -> list[str]:
    types: list[str] = page.locator("[data-timeline] tr").evaluate_all(
        "rows => rows.map(r => r.dataset.type)"
    )
    return types


def only_loopback(page: Any, url: str, elsewhere: list[str]) -> None:
    """Refuse (and record) any request to another host: the console works offline."""
    ours = urlsplit(url).netloc

    def route(request_route: Any) -> Any:
        if urlsplit(request_route.request.url).netloc == ours:
            return request_route.continue_()
        elsewhere.append(request_route.request.url)
        return request_route.abort()

    page.route("**/*", route)


def test_a_job_goes_live_to_completed_and_its_video_plays(signed_in, gateway, artifacts):
    url, elsewhere = gateway.url, list[str]()
    page = signed_in(ADMIN_KEY)
    only_loopback(page, url, elsewhere)
    page.evaluate("window.notReloaded = true")
    with client(url) as http:
        video = http.post("/v1/videos", json=SLOW_JOB).json()  # the list is already open
        row = page.locator(f"tr[data-video-id='{video['id']}']")
        expect()(row).to_be_visible()
        page.screenshot(path=str(artifacts / "console-jobs-running.png"), full_page=True)
        expect()(row.locator("[data-status]")).to_have_text("completed")
    assert page.evaluate("window.notReloaded") is True  # the row changed in place
    page.screenshot(path=str(artifacts / "console-jobs-completed.png"), full_page=True)

    # A job submitted from the page's form; its page follows it to the end.
    page.click("[data-submit-panel] summary")
    page.fill("[data-submit-form] input[name=prompt]", "a lighthouse at dusk")
    page.fill("[data-submit-form] input[name=seconds]", "2")
    page.fill("[data-submit-form] input[name=size]", "160x90")
    page.click("[data-submit-form] button[type=submit]")
    expect()(page).to_have_url(re.compile(r"/console/jobs\?created=video_"))
    created = page.url.split("created=")[1]
    page.click(f"tr[data-video-id='{created}'] a")
    expect()(page).to_have_url(f"{url}/console/jobs/{created}")
    page.evaluate("window.notReloaded = true")
    at_first = timeline_types(page)
    timeline = page.locator("[data-timeline] tr[data-type='Completed']")
    expect()(timeline).to_have_count(1)
    expect()(page.locator("[data-job-status] [data-status]")).to_have_text("completed")
    # A function, not an expression: the console's CSP forbids the eval() of a string.
    page.wait_for_function("() => document.querySelector('[data-video]').readyState >= 2")
    expect()(page.locator("[data-thumbnail]")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True
    types = timeline_types(page)
    assert types[0] == "Submitted" and "OutputStored" in types
    assert types[: len(at_first)] == at_first  # rows were added, none replaced
    if "OutputStored" not in at_first:  # the page opened mid-render (~5 s): it grew live
        assert len(types) > len(at_first)
    page.screenshot(path=str(artifacts / "console-job.png"), full_page=True)

    page.click("nav a[href='/console/analytics']")
    bars = page.locator("[data-chart] svg rect")
    page.wait_for_function("() => document.querySelectorAll('[data-chart] svg rect').length > 0")
    assert bars.first.bounding_box()["height"] > 0
    page.screenshot(path=str(artifacts / "console-analytics.png"), full_page=True)
    assert elsewhere == []


def test_a_webhook_delivery_is_redelivered_from_the_console(signed_in, gateway, artifacts):
    url = gateway.url
    page = signed_in(ADMIN_KEY)
    with Receiver() as receiver:
        page.click("nav a[href='/console/webhooks']")
        page.click("summary:has-text('Add an endpoint')")
        page.fill("[data-endpoint-form] input[name=url]", f"{receiver.url}/hooks")
        page.uncheck("[data-endpoint-form] input[value=progress]")
        page.click("[data-endpoint-form] button[type=submit]")
        expect()(page.locator("[data-secret]")).to_have_text(re.compile(r"^whsec_"))
        with client(url) as http:
            video = http.post("/v1/videos", json=TINY).json()
            wait_for(http, video["id"], completed)
        first = receiver.wait_for(lambda requests: requests, timeout=60)[0]
        endpoint = page.locator("a[href^='/console/webhooks/we_']").first.inner_text()
        with client(url) as http:  # sent and recorded: a redeliver now isn't "in flight"
            wait_delivered(http, endpoint)
        page.click("text=Done")
        delivery = page.locator("[data-deliveries] tr[data-delivery-id]").first
        expect()(delivery).to_be_visible()
        delivery.locator("[data-redeliver]").click()
        again = receiver.wait_for(lambda requests: requests[1:], timeout=60)[0]
        assert again.headers["webhook-id"] == first.headers["webhook-id"]
        assert json.loads(again.body)["video_id"] == video["id"]
        page.reload()
        expect()(page.locator("[data-attempt-count]").first).to_have_text("2")
        page.screenshot(path=str(artifacts / "console-webhook.png"), full_page=True)


def wait_delivered(http: Any, endpoint: str) -> None:
    deadline = time.monotonic() + 60
    path = f"/v1/webhook_endpoints/{endpoint}/deliveries"
    while [d["status"] for d in http.get(path).json()["data"]] != ["succeeded"]:
        assert time.monotonic() < deadline, json.dumps(http.get(path).json())
        time.sleep(0.05)


def test_keys_are_created_and_revoked_and_a_read_only_key_has_no_write_controls(
    signed_in, gateway, artifacts
):
    url = gateway.url
    admin = signed_in(ADMIN_KEY)
    with client(url) as http:
        video = http.post("/v1/videos", json=TINY).json()
        wait_for(http, video["id"], completed)
    admin.click("nav a[href='/console/keys']")
    for scope in ("videos:write", "webhooks:write"):
        admin.uncheck(f"[data-key-form] input[value='{scope}']")
    admin.click("[data-key-form] button[type=submit]")
    new_key = admin.locator("[data-new-key]").inner_text()
    assert new_key.startswith("vg_")
    admin.screenshot(path=str(artifacts / "console-key-created.png"), full_page=True)

    reader = signed_in(new_key)
    expect()(reader.locator(f"tr[data-video-id='{video['id']}']")).to_be_visible()
    for path in ("/console/jobs", f"/console/jobs/{video['id']}", "/console/webhooks"):
        reader.goto(f"{url}{path}")
        for control in (
            "[data-submit-form]",
            "[data-cancel]",
            "[data-delete]",
            "[data-redeliver]",
            "[data-endpoint-form]",
            "nav a[href='/console/keys']",
        ):
            expect()(reader.locator(control)).to_have_count(0)
    reader.screenshot(path=str(artifacts / "console-read-only.png"), full_page=True)

    admin.click("text=Done")
    row = admin.locator(f"tr[data-hint='vg_…{new_key[-4:]}']")
    row.locator("[data-revoke]").click()
    expect()(row.locator("[data-key-state]")).to_have_text("revoked")
    reader.goto(f"{url}/console/jobs")
    expect()(reader).to_have_url(f"{url}/console/sign-in")  # its session ended


def test_a_second_tenant_sees_none_of_the_first_tenants_jobs(signed_in, gateway, artifacts):
    url = gateway.url
    with client(url) as http:
        theirs = http.post("/v1/videos", json=TINY).json()["id"]
        wait_for(http, theirs, completed)
        admin = signed_in(ADMIN_KEY)
        expect()(admin.locator(f"tr[data-video-id='{theirs}']")).to_be_visible()
        other = signed_in(gateway.new_key("acme"))
        expect()(other.locator("[data-tenant]")).to_have_text("acme")
        expect()(other.locator("[data-empty]")).to_be_visible()
        # A job of the first tenant while both lists are open: its events reach the first
        # tenant's page (the same feed read wakes both streams) and never the second's.
        later = http.post("/v1/videos", json=TINY).json()["id"]
        row = admin.locator(f"tr[data-video-id='{later}'] [data-status]")
        expect()(row).to_have_text("completed")
    expect()(other.locator("tr[data-video-id]")).to_have_count(0)
    other.screenshot(path=str(artifacts / "console-other-tenant.png"), full_page=True)
    answer = other.goto(f"{url}/console/jobs/{theirs}")  # a guessed (here: known) id
    assert answer is not None and answer.status == 404
    assert theirs not in other.content() or "no video with id" in other.content()
