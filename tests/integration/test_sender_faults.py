"""The webhook sender against a misbehaving receiver, on a fake clock (both stores).

Each test builds the parts by hand (gateway, deliveries view and projection, a `Sender` with
an injected clock and no jitter) and drives `sender.run_once()` itself: the whole retry
schedule, days of it, runs in well under a second per test. The receiver is real (uvicorn
on 127.0.0.1), so every fault is a real HTTP exchange, or a real lack of one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any
from uuid import UUID

import pytest
from standardwebhooks import Webhook

from events.app import Gateway
from events.endpoint import WebhookEndpoint
from projections.deliveries.postgres import PostgresDeliveriesView
from projections.deliveries.projection import DeliveriesProjection
from projections.deliveries.sqlite import SQLiteDeliveriesView
from projections.deliveries.store import SQLDeliveriesView
from projections.deliveries.view import DeliveryRow
from projections.follower import Follower
from service.persistence.stores import build_gateway, build_view
from service.runtime import close_view
from service.webhooks.policy import DISABLE_AFTER, TERMINAL_DELAYS
from service.webhooks.sender import Sender
from service.webhooks.signing import SecretDeriver, endpoint_scope, tenant_scope
from service.webhooks.ssrf import Network, guarded_client, parse_networks
from tests.helpers import SUBMISSION
from tests.webhook_receiver import Receiver, Request

LOOPBACK = parse_networks("127.0.0.0/8")
TIMEOUT = 0.5  # the sender's request timeout in these tests (real seconds)
TENANT = SUBMISSION["tenant"]
EPSILON = 0.001

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeClock:
    """The sender's wall clock: moves only when the test says so."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class World:
    gateway: Gateway
    view: SQLDeliveriesView
    follower: Follower
    deriver: SecretDeriver
    receiver: Receiver
    clock: FakeClock

    def endpoint(self, path: str = "/hook", events: tuple[str, ...] = ("failed",)) -> UUID:
        endpoint = self.gateway.register_endpoint(
            tenant=TENANT,
            url=self.receiver.url + path,
            events=list(events),
            description="",
            enabled=True,
        )
        self.follower.run_once()
        return endpoint.id

    def failed_job(self, webhook: dict[str, Any] | None = None) -> list[DeliveryRow]:
        """A job that failed; returns the deliveries the projection queued for it."""
        job, _ = self.gateway.submit(**{**SUBMISSION, "webhook": webhook, "idempotency_key": None})
        self.gateway.record_failure(job.id, "render_failed", "it broke", "test")
        self.follower.run_once()
        return self.view.deliveries_of_job(job.id.hex)

    def completed_job(self) -> list[DeliveryRow]:
        job, _ = self.gateway.submit(**SUBMISSION, idempotency_key=None)
        output = {"url": f"/v1/videos/video_{job.id.hex}/content", "bytes": 3, "sha256": "abc"}
        self.gateway.record_stored_completion(job.id, output, "test")
        self.follower.run_once()
        return self.view.deliveries_of_job(job.id.hex)

    def row(self, delivery: DeliveryRow) -> DeliveryRow:
        found = self.view.get_delivery(delivery.delivery_id)
        assert found is not None
        return found

    def endpoint_secret(self, endpoint_id: UUID, generation: int) -> str:
        return self.deriver.secret(endpoint_scope(endpoint_id.hex), generation)

    def disabled_events(self, endpoint_id: UUID) -> list[WebhookEndpoint.Disabled]:
        events = self.gateway.events.get(endpoint_id)
        return [e for e in events if isinstance(e, WebhookEndpoint.Disabled)]


@pytest.fixture
def world(settings) -> Iterator[World]:
    gateway = build_gateway(settings)
    view = build_view(settings, "deliveries", SQLiteDeliveriesView, PostgresDeliveriesView)
    follower = Follower(gateway, DeliveriesProjection(view=view))
    try:
        with Receiver() as receiver:
            # Deliveries are due from their event's (real) time: start the clock after it.
            yield World(
                gateway, view, follower, SecretDeriver("test-secret"), receiver, FakeClock(0.0)
            )
    finally:
        close_view(view)
        gateway.close()


@asynccontextmanager
async def sender_for(
    world: World, allowed: tuple[Network, ...] = LOOPBACK, jitter: float = 0.5
) -> AsyncIterator[Sender]:
    async with guarded_client(allowed) as http:
        yield Sender(
            world.view,
            world.gateway,
            world.deriver,
            http,
            clock=world.clock,
            rng=lambda: jitter,  # 0.5: no jitter, the delays are exactly the schedule's
            timeout=TIMEOUT,
        )


def start_clock(world: World) -> float:
    world.clock.now = float(int(time.time()) + 2)  # whole seconds: timestamps are exact
    return world.clock.now


async def nothing_due_until(world: World, sender: Sender, at: float) -> None:
    """Just before `at`, a pass sends nothing; the clock is left at `at`."""
    seen = len(world.receiver.received())
    world.clock.now = at - EPSILON
    assert await sender.run_once() == 0
    assert len(world.receiver.received()) == seen
    world.clock.now = at


def verify_by_hand(secret: str, request: Request) -> list[bool]:
    """Which of the request's `v1` signatures HMAC-SHA256 with `secret` reproduces."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    headers = request.headers
    content = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + request.body
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    return [
        hmac.compare_digest(expected, entry.removeprefix("v1,"))
        for entry in headers["webhook-signature"].split(" ")
    ]


# each fault: what the attempt records and when the delivery is tried again

RETRYABLE = {
    # name: (script the receiver at t0, status code, error (prefix), delay to the next attempt)
    "500": (lambda r, t0: r.respond(500), 500, "HTTP 500", TERMINAL_DELAYS[0]),
    "429 Retry-After": (
        lambda r, t0: r.respond(429, headers={"Retry-After": "120"}),
        429,
        "HTTP 429",
        120.0,
    ),
    "429 Retry-After date": (  # an HTTP date, read against the sender's clock
        lambda r, t0: r.respond(429, headers={"Retry-After": formatdate(t0 + 90, usegmt=True)}),
        429,
        "HTTP 429",
        90.0,
    ),
    "429 Retry-After too long": (  # honoured up to twice the scheduled delay
        lambda r, t0: r.respond(429, headers={"Retry-After": "86400"}),
        429,
        "HTTP 429",
        120.0,
    ),
    "503 Retry-After": (
        lambda r, t0: r.respond(503, headers={"Retry-After": "8"}),
        503,
        "HTTP 503",
        8.0,
    ),
    "308": (
        lambda r, t0: r.respond(308, headers={"Location": r.url + "/moved"}),
        308,
        "HTTP 308: redirects are not followed",
        TERMINAL_DELAYS[0],
    ),
    "slow": (lambda r, t0: r.slow(30 * TIMEOUT), None, f"no answer within {TIMEOUT:g} s", 60.0),
    "reset": (lambda r, t0: r.reset(), None, "", TERMINAL_DELAYS[0]),
}


@pytest.mark.parametrize("fault", list(RETRYABLE))
async def test_a_retryable_fault_is_recorded_and_retried_on_schedule(world, fault):
    script, status_code, error, delay = RETRYABLE[fault]
    endpoint_id = world.endpoint()
    (delivery,) = world.failed_job()
    t0 = start_clock(world)
    script(world.receiver, t0)
    async with sender_for(world) as sender:
        assert await sender.run_once() == 1
        (attempt,) = world.view.attempts_of([delivery.delivery_id])
        assert attempt.status_code == status_code
        assert attempt.error is not None and attempt.error.startswith(error)
        assert attempt.attempted_at == t0 and attempt.trigger == "scheduled"
        if fault == "reset":
            assert attempt.error.split(":")[0] in ("ReadError", "RemoteProtocolError")
        if fault == "slow":
            assert attempt.latency_ms >= TIMEOUT * 1000 * 0.9
        row = world.row(delivery)
        assert (row.status, row.attempts, row.lease_token) == ("pending", 1, None)
        assert (row.last_status_code, row.last_error) == (status_code, attempt.error)
        assert row.next_attempt_at == pytest.approx(t0 + delay)
        assert world.view.get_endpoint(endpoint_id.hex).failing_since == t0

        await nothing_due_until(world, sender, t0 + delay)
        assert await sender.run_once() == 1  # the receiver answers 200 this time

    row = world.row(delivery)
    assert (row.status, row.attempts, row.last_status_code) == ("succeeded", 2, 200)
    assert world.view.get_endpoint(endpoint_id.hex).failing_since is None
    first, second = world.receiver.received()
    assert {first.path, second.path} == {"/hook"}  # a 308's Location is never requested
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.msg_id
    assert first.headers["webhook-timestamp"] == str(int(t0))
    assert second.headers["webhook-timestamp"] == str(int(t0 + delay))
    assert first.body == second.body == delivery.payload.encode()


@pytest.mark.parametrize(
    ("fault", "jitter", "delay"),
    [
        ("500", 0.0, 0.8 * TERMINAL_DELAYS[0]),
        ("500", 1.0, 1.2 * TERMINAL_DELAYS[0]),
        ("429 Retry-After", 0.0, 120.0),  # never sooner than the receiver asked
        ("429 Retry-After", 1.0, 144.0),
        ("slow", 0.0, 60.0),  # never sooner than a minute after a timeout
        ("slow", 1.0, 72.0),
    ],
)
async def test_jitter_is_twenty_percent_but_never_undercuts_a_floor(world, fault, jitter, delay):
    script = RETRYABLE[fault][0]
    world.endpoint()
    (delivery,) = world.failed_job()
    t0 = start_clock(world)
    script(world.receiver, t0)
    async with sender_for(world, jitter=jitter) as sender:
        assert await sender.run_once() == 1
        assert world.row(delivery).next_attempt_at == pytest.approx(t0 + delay)
        await nothing_due_until(world, sender, t0 + delay)
        assert await sender.run_once() == 1


async def test_a_308_is_not_followed(world):
    world.endpoint()
    (delivery,) = world.failed_job()
    start_clock(world)
    world.receiver.respond(308, headers={"Location": world.receiver.url + "/moved"})
    async with sender_for(world) as sender:
        assert await sender.run_once() == 1
    assert [r.path for r in world.receiver.received()] == ["/hook"]
    assert world.row(delivery).status == "pending"


async def test_a_410_abandons_the_delivery_and_disables_the_endpoint_with_an_event(world):
    endpoint_id = world.endpoint()
    (delivery,) = world.failed_job()
    t0 = start_clock(world)
    world.receiver.respond(410)
    async with sender_for(world) as sender:
        assert await sender.run_once() == 1
        (attempt,) = world.view.attempts_of([delivery.delivery_id])
        assert (attempt.status_code, attempt.error) == (410, "HTTP 410")
        row = world.row(delivery)
        assert (row.status, row.attempts, row.last_status_code) == ("abandoned", 1, 410)

        endpoint = world.gateway.repository.get(endpoint_id)
        assert endpoint.enabled is False
        assert endpoint.disabled_reason == "the endpoint answered 410 Gone"
        (disabled,) = world.disabled_events(endpoint_id)
        assert disabled.by == "sender"

        world.follower.run_once()  # the view learns it: no new deliveries, nothing resent
        assert world.view.get_endpoint(endpoint_id.hex).enabled is False
        assert world.failed_job() == []
        world.clock.now = t0 + 30 * 24 * 3600
        assert await sender.run_once() == 0
    assert len(world.receiver.received()) == 1


async def test_a_destination_the_ssrf_guard_refuses_is_abandoned_unsent(world):
    endpoint_id = world.endpoint()
    (delivery,) = world.failed_job()
    t0 = start_clock(world)
    async with sender_for(world, allowed=()) as sender:  # loopback is not allow-listed
        assert await sender.run_once() == 1
        (attempt,) = world.view.attempts_of([delivery.delivery_id])
        assert attempt.status_code is None
        assert attempt.error is not None and attempt.error.startswith("refusing to connect")
        row = world.row(delivery)
        assert (row.status, row.attempts, row.last_error) == ("abandoned", 1, attempt.error)
        world.clock.now = t0 + 30 * 24 * 3600
        assert await sender.run_once() == 0
    assert world.receiver.received() == []
    assert world.gateway.repository.get(endpoint_id).enabled is True


async def test_the_terminal_schedule_runs_to_exhaustion_then_fails(world):
    endpoint_id = world.endpoint()
    (delivery,) = world.failed_job()
    t0 = start_clock(world)
    world.receiver.respond(500, times=len(TERMINAL_DELAYS) + 1)
    expected_at = [t0]
    for delay in TERMINAL_DELAYS:
        expected_at.append(expected_at[-1] + delay)
    async with sender_for(world) as sender:
        for number, at in enumerate(expected_at):
            if number:
                await nothing_due_until(world, sender, at)
            assert await sender.run_once() == 1
            row = world.row(delivery)
            assert row.attempts == number + 1
            if number < len(TERMINAL_DELAYS):
                assert row.status == "pending"
                assert row.next_attempt_at == pytest.approx(expected_at[number + 1])
        assert row.status == "failed" and row.last_status_code == 500
        world.clock.now += 30 * 24 * 3600
        assert await sender.run_once() == 0

    attempts = world.view.attempts_of([delivery.delivery_id])
    assert [a.attempted_at for a in attempts] == pytest.approx(expected_at)
    assert len(expected_at) == 8
    requests = world.receiver.received()
    assert len(requests) == 8
    assert {r.headers["webhook-id"] for r in requests} == {delivery.msg_id}
    assert [r.headers["webhook-timestamp"] for r in requests] == [str(int(t)) for t in expected_at]
    # 27.6 hours of failures is not yet 5 days: the endpoint stays enabled
    assert world.gateway.repository.get(endpoint_id).enabled is True
    assert world.view.get_endpoint(endpoint_id.hex).failing_since == t0


async def test_an_endpoint_failing_for_five_days_is_disabled_with_an_event(world):
    endpoint_id = world.endpoint()
    (first,) = world.failed_job()
    t0 = start_clock(world)
    world.receiver.respond(500, times=10)
    async with sender_for(world) as sender:
        assert await sender.run_once() == 1
        # almost five days later a new job's delivery fails too, as does the first's retry
        world.clock.now = t0 + DISABLE_AFTER - 3
        (second,) = world.failed_job()
        assert await sender.run_once() == 2
        assert world.gateway.repository.get(endpoint_id).enabled is True
        assert world.disabled_events(endpoint_id) == []
        # the second's retry, five days and 2 s after the first failure, disables it
        world.clock.now = world.row(second).next_attempt_at
        assert world.clock.now == t0 + DISABLE_AFTER + 2
        assert await sender.run_once() == 1
        endpoint = world.gateway.repository.get(endpoint_id)
        assert endpoint.enabled is False
        assert endpoint.disabled_reason == "every delivery failed for 5 days"
        (disabled,) = world.disabled_events(endpoint_id)
        assert disabled.by == "sender"

        world.follower.run_once()  # waiting deliveries of a disabled endpoint are abandoned
        for delivery in (first, second):
            row = world.row(delivery)
            assert (row.status, row.last_error) == ("abandoned", "endpoint disabled")
        world.clock.now += 30 * 24 * 3600
        assert await sender.run_once() == 0
    assert len(world.receiver.received()) == 4


async def test_a_success_resets_failing_since(world):
    endpoint_id = world.endpoint()
    (first,) = world.failed_job()
    t0 = start_clock(world)
    world.receiver.respond(500)
    async with sender_for(world) as sender:
        assert await sender.run_once() == 1
        assert world.view.get_endpoint(endpoint_id.hex).failing_since == t0
        world.clock.now = t0 + TERMINAL_DELAYS[0]
        assert await sender.run_once() == 1  # 200
        assert world.view.get_endpoint(endpoint_id.hex).failing_since is None

        # failing again more than five days after the first failure: a fresh start
        world.clock.now = later = t0 + DISABLE_AFTER + 60
        (second,) = world.failed_job()
        world.receiver.respond(500, times=2)
        assert await sender.run_once() == 1
        assert world.view.get_endpoint(endpoint_id.hex).failing_since == later
        world.clock.now = world.row(second).next_attempt_at
        assert await sender.run_once() == 1
    assert world.gateway.repository.get(endpoint_id).enabled is True
    assert world.disabled_events(endpoint_id) == []
    assert world.row(first).status == "succeeded"
    assert world.row(second).status == "pending"


async def test_after_rotation_both_secrets_sign_until_the_grace_period_ends(world):
    endpoint_id = world.endpoint()
    old, new = world.endpoint_secret(endpoint_id, 1), world.endpoint_secret(endpoint_id, 2)
    (first,) = world.failed_job()
    t0 = start_clock(world)
    grace_ends = t0 + 3600
    world.receiver.respond(500)
    async with sender_for(world) as sender:
        assert await sender.run_once() == 1  # before the rotation: the old secret alone
        world.gateway.update_endpoint(endpoint_id, lambda e: e.rotate_secret(grace_ends))
        world.follower.run_once()
        world.clock.now = t0 + TERMINAL_DELAYS[0]
        assert await sender.run_once() == 1  # the retry, within the grace period: both
        world.clock.now = grace_ends - 1
        (second,) = world.failed_job()
        assert await sender.run_once() == 1  # still both, one second before the end
        world.clock.now = grace_ends
        (third,) = world.failed_job()
        assert await sender.run_once() == 1  # the new secret alone

    before, retry, last_within, after = world.receiver.received()
    assert verify_by_hand(old, before) == [True]
    assert verify_by_hand(new, before) == [False]
    for request in (retry, last_within):
        assert sorted(verify_by_hand(old, request)) == [False, True]
        assert sorted(verify_by_hand(new, request)) == [False, True]
    assert verify_by_hand(new, after) == [True]
    assert verify_by_hand(old, after) == [False]
    # the library agrees (these timestamps are within its five minutes of the real time)
    for secret in (old, new):
        assert Webhook(secret).verify(retry.body, retry.headers)["type"] == "video.failed"
    # a retry is the same message: same id and body, a new timestamp
    assert before.headers["webhook-id"] == retry.headers["webhook-id"] == first.msg_id
    assert before.body == retry.body
    assert before.headers["webhook-timestamp"] != retry.headers["webhook-timestamp"]
    assert len({r.headers["webhook-id"] for r in (retry, last_within, after)}) == 3
    assert {second.msg_id, third.msg_id} == {
        last_within.headers["webhook-id"],
        after.headers["webhook-id"],
    }


async def test_a_per_job_webhook_url_is_signed_with_the_tenants_default_secret(world):
    hook = {"url": world.receiver.url + "/job", "events": ["completed", "failed"]}
    (delivery,) = world.failed_job(webhook=hook)
    assert delivery.endpoint_id is None
    start_clock(world)
    async with sender_for(world) as sender:
        assert await sender.run_once() == 1
    (request,) = world.receiver.received()
    assert request.path == "/job"
    secret = world.deriver.secret(tenant_scope(TENANT), 1)
    assert verify_by_hand(secret, request) == [True]
    body = Webhook(secret).verify(request.body, request.headers)
    assert body["type"] == "video.failed" and body["error"]["code"] == "render_failed"
    assert request.headers["content-type"] == "application/json"
    assert world.row(delivery).status == "succeeded"


async def test_a_lease_left_by_a_crashed_sender_is_claimed_again_once_it_expires(world):
    world.endpoint()
    (delivery,) = world.failed_job()
    t0 = start_clock(world)
    # a sender that claimed the delivery and then died, before sending anything
    (claimed,) = world.view.claim(t0, 60.0, 16, "crashed")
    async with sender_for(world) as sender:
        assert await sender.run_once() == 0
        world.clock.now = t0 + 60.0 - EPSILON
        assert await sender.run_once() == 0
        world.clock.now = t0 + 60.0 + EPSILON
        assert await sender.run_once() == 1
    row = world.row(delivery)
    assert (row.status, row.attempts) == ("succeeded", 1)
    (request,) = world.receiver.received()
    assert request.headers["webhook-id"] == claimed.msg_id


async def test_a_completed_jobs_payload_links_to_its_output(world):
    world.endpoint(events=("completed",))
    (delivery,) = world.completed_job()
    start_clock(world)
    async with sender_for(world) as sender:
        assert await sender.run_once() == 1
    (request,) = world.receiver.received()
    assert request.body == delivery.payload.encode()
    body = json.loads(request.body)
    assert body["type"] == "video.completed" and body["status"] == "completed"
    assert body["progress"] == 100
    assert body["output_url"].endswith(f"/v1/videos/{body['video_id']}/content")
