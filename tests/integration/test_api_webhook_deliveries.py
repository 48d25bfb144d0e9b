"""Over HTTP, against a real receiver on 127.0.0.1: what gets delivered, signed with what,
how deliveries and their attempts show, manual redelivery and recovery, and the SSRF guard.
"""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import pytest
import uvicorn
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from service.app import create_app
from tests.conftest import ADMIN_KEY
from tests.helpers import TINY, event_count, key_for, submit, wait_for, wait_for_status


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def type(self) -> str:
        kind: str = json.loads(self.body)["type"]
        return kind

    def signatures(self) -> list[str]:
        return self.headers["webhook-signature"].split(" ")


@dataclass
class Receiver:
    """Records every POST; a path answers 200 unless told otherwise. One per module."""

    base: str
    answers: dict[str, int] = field(default_factory=dict)
    got: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, answer: int = 200) -> str:
        """A fresh path of this receiver (so tests never see each other's requests)."""
        path = f"/hooks/{uuid.uuid4().hex}"
        self.answers[path] = answer
        return self.base + path

    def answer(self, url: str, status: int) -> None:
        self.answers[url.removeprefix(self.base)] = status

    def at(self, url: str, kind: str | None = None) -> list[Received]:
        path = url.removeprefix(self.base)
        with self.lock:
            return [r for r in self.got if r.path == path and kind in (None, r.type)]

    async def handle(self, request: Request) -> PlainTextResponse:
        received = Received(request.url.path, dict(request.headers), await request.body())
        with self.lock:
            self.got.append(received)
        status = self.answers.get(request.url.path, 404)
        return PlainTextResponse("ok" if status < 400 else "receiver says no", status_code=status)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    found = Receiver(f"http://127.0.0.1:{sock.getsockname()[1]}")
    app = Starlette(routes=[Route("/{path:path}", found.handle, methods=["POST"])])
    config = uvicorn.Config(
        app, lifespan="off", log_level="warning", access_log=False, http="h11", ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=10)
    yield found
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def register(client, url: str, headers=None, **fields) -> dict:
    response = client.post("/v1/webhook_endpoints", json={"url": url, **fields}, headers=headers)
    assert response.status_code == 201, response.text
    endpoint: dict = response.json()
    return endpoint


def deliveries(client, path: str) -> list[dict]:
    response = client.get(path)
    assert response.status_code == 200, response.text
    data: list[dict] = response.json()["data"]
    return data


def completed_delivery(client, path: str, attempts: int = 1) -> dict:
    """The delivery of `video.completed` listed at `path`, once it has `attempts` attempts."""

    def found() -> dict | None:
        done = [d for d in deliveries(client, path) if d["event_type"] == "video.completed"]
        if done and done[0]["attempt_count"] >= attempts:
            assert len(done[0]["attempts"]) == done[0]["attempt_count"]
            return done[0]
        return None

    result: dict = wait_for(found)
    return result


def default_secret(client) -> str:
    key: str = client.get("/v1/webhooks/default/secret").json()["key"]
    return key


# per-job callbacks: webhook_url on POST /v1/videos


def test_a_job_webhook_gets_exactly_the_events_asked_for_signed_with_the_default_secret(
    client, receiver
):
    url = receiver.url()
    video = submit(client, webhook_url=url, webhook_events=["completed"])
    [got] = wait_for(lambda: receiver.at(url))
    payload = Webhook(default_secret(client)).verify(got.body, got.headers)
    assert payload["type"] == "video.completed" and payload["video_id"] == video["id"]
    assert payload["status"] == "completed" and payload["progress"] == 100
    assert payload["output_url"].endswith(f"/v1/videos/{video['id']}/content")
    assert got.headers["webhook-id"].startswith("msg_") and len(got.signatures()) == 1
    done = completed_delivery(client, f"/v1/videos/{video['id']}/deliveries")
    assert done["status"] == "succeeded" and done["endpoint_id"] is None and done["url"] == url
    assert len(deliveries(client, f"/v1/videos/{video['id']}/deliveries")) == 1
    assert len(receiver.at(url)) == 1


BAD_JOB_WEBHOOKS = [
    ({"webhook_events": ["completed"]}, "webhook_events"),
    ({"webhook_url": "", "webhook_events": "completed"}, "webhook_events"),
    ({"webhook_url": "ftp://hooks.example.com/"}, "webhook_url"),
    ({"webhook_url": "http://user:pw@hooks.example.com/"}, "webhook_url"),
    ({"webhook_url": "http://hooks.example.com:99999/"}, "webhook_url"),
    ({"webhook_url": ["https://hooks.example.com/"]}, "webhook_url"),
    ({"webhook_url": "https://hooks.example.com/", "webhook_events": ["done"]}, "webhook_events"),
    (
        {"webhook_url": "https://hooks.example.com/", "webhook_events": "completed,x"},
        "webhook_events",
    ),
]


def test_a_bad_job_webhook_is_400_naming_the_field_and_appends_nothing(client):
    before = event_count(client)
    for fields, param in BAD_JOB_WEBHOOKS:
        response = client.post("/v1/videos", json={**TINY, **fields})
        assert response.status_code == 400, (fields, response.text)
        assert response.json()["error"]["param"] == param, fields
    assert event_count(client) == before


# registered endpoints


def test_registered_endpoints_get_the_tenants_events_by_their_filter_signed_with_their_secret(
    client, receiver
):
    every, finals, theirs = receiver.url(), receiver.url(), receiver.url()
    everything = register(client, every)
    only_completed = register(client, finals, events=["completed"])
    register(client, theirs, headers=key_for(client, "acme"))
    video = submit(client)
    wait_for(lambda: receiver.at(every, "video.completed") and receiver.at(finals))
    wait_for(lambda: receiver.at(every, "video.progress"))
    tenant_secret = default_secret(client)
    for got in receiver.at(every):
        payload = Webhook(everything["secret"]).verify(got.body, got.headers)
        assert payload["type"] in ("video.progress", "video.completed")
        with pytest.raises(WebhookVerificationError):
            Webhook(tenant_secret).verify(got.body, got.headers)
    [final] = receiver.at(finals)
    assert Webhook(only_completed["secret"]).verify(final.body, final.headers)["type"] == (
        "video.completed"
    )
    listed = deliveries(client, f"/v1/videos/{video['id']}/deliveries")
    assert {d["endpoint_id"] for d in listed} == {everything["id"], only_completed["id"]}
    assert receiver.at(theirs) == []


def test_after_rotation_both_secrets_sign_during_the_grace_period_then_only_the_new_one(
    client, receiver
):
    url = receiver.url()
    endpoint = register(client, url, events=["completed"])
    rotate = f"/v1/webhook_endpoints/{endpoint['id']}/rotate_secret"
    rotated = client.post(rotate, json={"grace_period_seconds": 3600}).json()["secret"]
    submit(client)
    [got] = wait_for(lambda: receiver.at(url))
    assert len(got.signatures()) == 2 and all(s.startswith("v1,") for s in got.signatures())
    Webhook(rotated).verify(got.body, got.headers)
    Webhook(endpoint["secret"]).verify(got.body, got.headers)

    newest = client.post(rotate, json={"grace_period_seconds": 0}).json()["secret"]
    submit(client)
    [_, again] = wait_for(lambda: receiver.at(url)[1:] and receiver.at(url))
    assert len(again.signatures()) == 1
    Webhook(newest).verify(again.body, again.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(rotated).verify(again.body, again.headers)


# visibility, redelivery, recovery


def test_a_failing_receiver_shows_its_attempts_and_the_retry_scheduled(client, receiver):
    url = receiver.url(answer=500)
    endpoint = register(client, url, events=["completed"])
    video = submit(client)
    failed = completed_delivery(client, f"/v1/videos/{video['id']}/deliveries")
    assert failed["status"] == "pending" and failed["endpoint_id"] == endpoint["id"]
    assert failed["attempt_count"] == 1 and failed["last_status_code"] == 500
    assert failed["last_error"] == "HTTP 500" and failed["url"] == url
    [attempt] = failed["attempts"]
    assert attempt["status_code"] == 500 and attempt["response"] == "receiver says no"
    assert attempt["error"] == "HTTP 500" and attempt["trigger"] == "scheduled"
    assert attempt["latency_ms"] >= 0 and failed["next_attempt_at"] > attempt["at"] + 3
    by_endpoint = deliveries(client, f"/v1/webhook_endpoints/{endpoint['id']}/deliveries")
    assert by_endpoint == [failed]


def test_redeliver_brings_a_waiting_retry_forward_and_sends_any_other_once_more(client, receiver):
    url = receiver.url(answer=500)
    register(client, url, events=["completed"])
    listing = f"/v1/videos/{submit(client)['id']}/deliveries"
    delivery_id = completed_delivery(client, listing)["id"]
    redeliver = f"/v1/deliveries/{delivery_id}/redeliver"
    response = client.post(redeliver)
    assert response.status_code == 202, response.text
    assert response.json()["id"] == delivery_id and response.json()["status"] == "pending"
    retried = completed_delivery(client, listing, attempts=2)
    assert retried["status"] == "pending" and retried["attempts"][1]["trigger"] == "scheduled"
    assert retried["next_attempt_at"] > retried["attempts"][1]["at"] + 60  # the schedule goes on

    receiver.answer(url, 200)
    assert client.post(redeliver).status_code == 202
    assert completed_delivery(client, listing, attempts=3)["status"] == "succeeded"
    assert client.post(redeliver).status_code == 202  # a succeeded one: one manual attempt
    again = completed_delivery(client, listing, attempts=4)
    assert again["status"] == "succeeded" and again["next_attempt_at"] is None
    assert [(a["status_code"], a["trigger"]) for a in again["attempts"]] == [
        (500, "scheduled"),
        (500, "scheduled"),
        (200, "scheduled"),
        (200, "manual"),
    ]
    assert len({r.headers["webhook-id"] for r in receiver.at(url)}) == 1  # the same message
    assert len(receiver.at(url)) == 4


def test_another_tenants_delivery_cannot_be_redelivered_or_listed(client, receiver):
    url = receiver.url()
    register(client, url, events=["completed"])
    video = submit(client)
    delivery_id = completed_delivery(client, f"/v1/videos/{video['id']}/deliveries")["id"]
    acme = key_for(client, "acme")
    response = client.post(f"/v1/deliveries/{delivery_id}/redeliver", headers=acme)
    assert response.status_code == 404 and response.json()["error"]["param"] == "delivery_id"
    response = client.get(f"/v1/videos/{video['id']}/deliveries", headers=acme)
    assert response.status_code == 404 and response.json()["error"]["param"] == "video_id"
    assert len(receiver.at(url)) == 1


def test_recover_requeues_what_was_abandoned_in_a_window(client, receiver):
    url = receiver.url(answer=500)
    endpoint = register(client, url, events=["completed"])
    listing = f"/v1/videos/{submit(client)['id']}/deliveries"
    completed_delivery(client, listing)  # failed once, waiting for its retry
    path = f"/v1/webhook_endpoints/{endpoint['id']}"
    assert client.patch(path, json={"enabled": False}).status_code == 200

    def abandoned() -> dict | None:
        delivery = completed_delivery(client, listing)
        return delivery if delivery["status"] == "abandoned" else None

    gone = wait_for(abandoned)
    assert gone["last_error"] == "endpoint disabled"
    refused = client.post(f"{path}/recover")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "endpoint_disabled"
    assert client.post(f"/v1/deliveries/{gone['id']}/redeliver").status_code == 409
    receiver.answer(url, 200)
    assert client.patch(path, json={"enabled": True}).status_code == 200
    past = client.post(f"{path}/recover", json={"since": "2020-01-01T00:00:00Z", "until": 1.6e9})
    assert past.status_code == 200 and past.json()["requeued"] == 0
    response = client.post(f"{path}/recover")
    assert response.status_code == 200, response.text
    assert response.json() == {"object": "recovery", "requeued": 1}
    recovered = completed_delivery(client, listing, attempts=2)
    assert recovered["status"] == "succeeded" and recovered["attempts"][-1]["trigger"] == "manual"
    assert client.post(f"{path}/recover").json()["requeued"] == 0


# SSRF: without the allow-list, loopback is refused when connecting, not when registering


def test_without_the_allow_list_a_loopback_webhook_is_accepted_but_never_reached(
    settings, receiver
):
    app = create_app(replace(settings, allowed_private_networks=""))
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
        endpoint_url, job_url = receiver.url(), receiver.url()
        endpoint = register(client, endpoint_url, events=["completed"])
        video = submit(client, webhook_url=job_url, webhook_events=["completed"])
        wait_for_status(client, video["id"])

        def abandoned() -> list[dict] | None:
            rows = deliveries(client, f"/v1/videos/{video['id']}/deliveries")
            done = len(rows) == 2 and all(d["status"] == "abandoned" for d in rows)
            return rows if done else None

        rows = wait_for(abandoned)
        assert {d["endpoint_id"] for d in rows} == {endpoint["id"], None}
        for row in rows:
            assert "refusing to connect to '127.0.0.1'" in row["last_error"]
            [attempt] = row["attempts"]
            assert attempt["status_code"] is None and attempt["error"] == row["last_error"]
        assert receiver.at(endpoint_url) == [] and receiver.at(job_url) == []
