"""Webhooks from real `vidgate serve` processes to a real receiver, crashes included.

Everything stays on 127.0.0.1: the receiver (tests/webhook_receiver.py) is allow-listed
through `VIDGATE_ALLOWED_PRIVATE_NETWORKS`, as a local deployment would do.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import statistics
import time
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import replace
from datetime import datetime

import pytest
from standardwebhooks import Webhook

from tests.e2e.api import client, completed, submit_video, wait_for
from tests.e2e.server import run_vidgate, server_env
from tests.webhook_receiver import Receiver, Request

pytestmark = pytest.mark.e2e

PATHS = ("/endpoint", "/job")  # a registered endpoint, and each job's own `webhook_url`
LEASE_SECONDS = 4  # a killed sender's claim lapses this soon (VIDGATE_DELIVERY_LEASE_SECONDS)
ROUNDS = 3


def webhook_settings(settings):
    """The test store's settings, allowing deliveries to the receiver on loopback."""
    return replace(settings, allowed_private_networks="127.0.0.0/8")


def body_of(request: Request) -> dict:
    body: dict = json.loads(request.body)
    return body


def completed_pairs(requests: Iterable[Request]) -> set[tuple[str, str]]:
    """(video id, path) of every `video.completed` delivery received and answered 200."""
    return {
        (body_of(r)["video_id"], r.path)
        for r in requests
        if body_of(r)["type"] == "video.completed" and r.answered == 200
    }


def verify_by_hand(secret: str, request: Request) -> bool:
    """Standard Webhooks in a few lines: HMAC-SHA256 over `id.timestamp.body`, base64."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    headers = request.headers
    content = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + request.body
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(expected, entry.removeprefix("v1,"))
        for entry in headers["webhook-signature"].split(" ")
        if entry.startswith("v1,")
    )


def assert_signed(requests: list[Request], secrets: dict[str, str]) -> None:
    """Each request verifies with its target's secret (library and by hand), not the other."""
    assert requests
    for request in requests:
        secret = secrets[request.path]
        assert Webhook(secret).verify(request.body, request.headers) == body_of(request)
        assert verify_by_hand(secret, request)
        (other,) = set(secrets.values()) - {secret}
        assert not verify_by_hand(other, request)
        assert abs(int(request.headers["webhook-timestamp"]) - request.at) < 60


def assert_one_id_per_event(requests: list[Request]) -> None:
    """Duplicates (and the same event on both targets) share their `webhook-id`, and a
    `webhook-id` always carries the same body to a given target."""
    ids: dict[tuple[str, int], set[str]] = {}
    bodies: dict[tuple[str, str], set[bytes]] = {}
    for request in requests:
        body = body_of(request)
        ids.setdefault((body["video_id"], body["sequence"]), set()).add(
            request.headers["webhook-id"]
        )
        bodies.setdefault((request.headers["webhook-id"], request.path), set()).add(request.body)
    assert all(len(found) == 1 for found in ids.values()), ids
    assert all(len(found) == 1 for found in bodies.values())
    assert len({next(iter(found)) for found in ids.values()}) == len(ids)  # distinct events


def wait_succeeded(http, video_id: str, timeout: float = 15.0) -> list[dict]:
    """The video's two `completed` deliveries, once both are recorded as succeeded (the
    receiver has a request a moment before the sender records its answer)."""
    deadline = time.monotonic() + timeout
    while True:
        listed = http.get(f"/v1/videos/{video_id}/deliveries").json()["data"]
        done = [d for d in listed if d["event_type"] == "video.completed"]
        if [d["status"] for d in done] == ["succeeded", "succeeded"]:
            return done
        if time.monotonic() > deadline:
            raise AssertionError(f"the deliveries of {video_id} did not all succeed: {done}")
        time.sleep(0.05)


def latencies(requests: list[Request]) -> list[float]:
    """Seconds from each event to the first arrival of its delivery, per target."""
    first: dict[tuple[str, str], float] = {}
    for request in requests:
        key = (request.headers["webhook-id"], request.path)
        first[key] = min(first.get(key, request.at), request.at)
    occurred = {
        (r.headers["webhook-id"], r.path): datetime.fromisoformat(body_of(r)["occurred_at"])
        for r in requests
    }
    return [at - occurred[key].timestamp() for key, at in first.items()]


def report_latency(name: str, values: list[float]) -> None:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
    print(
        f"\n{name}: event-to-delivery latency over {len(values)} deliveries: "
        f"median {statistics.median(values) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
        f"max {values[-1] * 1000:.1f} ms"
    )


def test_every_delivery_verifies_with_the_library_and_by_hand(settings, tmp_path):
    env = server_env(webhook_settings(settings))
    with (
        Receiver() as receiver,
        run_vidgate(env, tmp_path / "server.log") as server,
        client(server.url) as http,
    ):
        created = http.post("/v1/webhook_endpoints", json={"url": receiver.url + "/endpoint"})
        assert created.status_code == 201, created.text
        default = http.get("/v1/webhooks/default/secret").json()["key"]
        secrets = {"/endpoint": created.json()["secret"], "/job": default}
        videos = [submit_video(http, webhook_url=receiver.url + "/job") for _ in range(3)]
        expected = {(video["id"], path) for video in videos for path in PATHS}
        receiver.wait_for(lambda requests: expected <= completed_pairs(requests), timeout=60)
        for video in videos:
            wait_for(http, video["id"], completed)
            done = wait_succeeded(http, video["id"])
            assert {d["endpoint_id"] is None for d in done} == {True, False}

    requests = receiver.received()
    assert {r.path for r in requests} == set(PATHS)
    assert {body_of(r)["type"] for r in requests} <= {"video.progress", "video.completed"}
    assert_signed(requests, secrets)
    assert_one_id_per_event(requests)
    sent = [(r.headers["webhook-id"], r.path) for r in requests]
    assert len(set(sent)) == len(sent)  # without a crash, nothing is sent twice
    report_latency("postgres" if settings.database_url else "sqlite", latencies(requests))


def test_killing_the_server_mid_delivery_loses_nothing_and_duplicates_keep_their_id(
    settings, tmp_path
):
    """A delivery on the wire when its server is SIGKILLed is sent again once its lease
    lapses (`VIDGATE_DELIVERY_LEASE_SECONDS`, passed by the worker as `lease_seconds`)."""
    settings = replace(
        webhook_settings(settings), delivery_lease_seconds=LEASE_SECONDS, local_frame_delay=0.02
    )
    env, log = server_env(settings), tmp_path / "server.log"
    expected: set[tuple[str, str]] = set()
    earlier: set[str] = set()  # videos of the rounds before
    held: list[Request] = []
    with Receiver() as receiver, ExitStack() as stack:
        server = stack.enter_context(run_vidgate(env, log))
        http = stack.enter_context(client(server.url))
        created = http.post("/v1/webhook_endpoints", json={"url": receiver.url + "/endpoint"})
        assert created.status_code == 201, created.text
        secrets = {
            "/endpoint": created.json()["secret"],
            "/job": http.get("/v1/webhooks/default/secret").json()["key"],
        }
        for round_ in range(ROUNDS):
            path, before = PATHS[round_ % 2], frozenset(earlier)
            hold = receiver.hold(
                when=lambda r, path=path, before=before: (
                    r.path == path
                    and body_of(r)["type"] == "video.completed"
                    and body_of(r)["video_id"] not in before
                )
            )
            videos = [submit_video(http, webhook_url=receiver.url + "/job") for _ in range(2)]
            expected |= {(video["id"], p) for video in videos for p in PATHS}
            held.append(hold.wait_arrived(timeout=30))
            server.kill()  # SIGKILL while the receiver has the request and has not answered
            started = time.monotonic()
            server = stack.enter_context(run_vidgate(env, log))  # same data dir, same store
            http = stack.enter_context(client(server.url))
            hold.release()
            receiver.wait_for(
                lambda requests, everything=frozenset(expected): (
                    everything <= completed_pairs(requests)
                ),
                timeout=LEASE_SECONDS + 16,
            )
            print(
                f"\nround {round_}: all delivered {time.monotonic() - started:.2f} s after restart"
            )
            earlier |= {video["id"] for video in videos}

        for video_id in earlier:
            wait_succeeded(http, video_id)

    requests = receiver.received()
    for request in held:  # the interrupted delivery came again after the restart, same id
        again = [
            r
            for r in requests
            if r.path == request.path and r.headers["webhook-id"] == request.headers["webhook-id"]
        ]
        assert len(again) >= 2 and again[0] is request and request.answered is None
        assert again[-1].headers["webhook-timestamp"] != request.headers["webhook-timestamp"]
    assert completed_pairs(requests) == expected
    assert_one_id_per_event(requests)
    assert_signed(requests, secrets)
