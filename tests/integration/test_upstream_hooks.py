"""Upstream webhook receivers: forged, tampered, misdirected and duplicate deliveries.

The app runs in sandbox mode (emulators on loopback) with a long emulated latency, so the
jobs stay in flight while the test posts webhooks at `/hooks/...` itself; whatever is
refused must append nothing to the job's history.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import pytest
from starlette.testclient import TestClient

from events.ids import parse_video_id
from service.app import create_app
from service.providers.callbacks import CallbackTokens
from service.settings import EmulatorSettings, Settings
from service.webhooks.signing import SecretDeriver, sign
from service.workers.dispatcher import dispatch_request
from tests.conftest import ADMIN_KEY


@pytest.fixture
def sandbox(settings: Settings) -> Iterator[tuple[TestClient, Settings]]:
    slow = replace(
        settings,
        sandbox=True,
        emulate=EmulatorSettings(latency=3600.0),  # only the test's webhooks move jobs,
        poll_first=3600.0,  # however slowly a loaded machine runs it
        poll_grace=3600.0,
    )
    app = create_app(slow)
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
        yield client, slow


def dispatched(client: TestClient, model: str) -> dict[str, Any]:
    """A job of `model`, once its dispatch is recorded (its upstream id known)."""
    video = client.post("/v1/videos", json={"model": model, "prompt": "a fox"}).json()
    assert "id" in video, video
    for _ in range(200):
        events = client.get(f"/v1/videos/{video['id']}/events").json()["data"]
        if dispatch := next((e for e in events if e["type"] == "Dispatched"), None):
            return {**video, "upstream_id": dispatch["data"]["upstream_id"]}
        time.sleep(0.05)
    raise AssertionError(f"{video['id']} was never dispatched")


def event_count(client: TestClient, video_id: str) -> int:
    return len(client.get(f"/v1/videos/{video_id}/events").json()["data"])


def tokens(settings: Settings) -> CallbackTokens:
    assert settings.secret_key
    return CallbackTokens([settings.secret_key], settings.base_url)


def job_id(video: dict[str, Any]) -> uuid.UUID:
    found = parse_video_id(video["id"])
    assert found is not None
    return found


def replicate_hook(
    settings: Settings, prediction: dict[str, Any], secret: str | None = None
) -> tuple[bytes, dict[str, str]]:
    """A Standard Webhooks delivery as Replicate signs it (with the sandbox's secret)."""
    secret = secret or SecretDeriver(settings.secret_key or "").secret("sandbox:replicate", 0)
    body = json.dumps(prediction).encode()
    msg_id, stamp = f"msg_{uuid.uuid4().hex}", int(time.time())
    import base64

    key = base64.b64decode(secret.removeprefix("whsec_"))
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(msg_id, stamp, body, [key]),
        "content-type": "application/json",
    }
    return body, headers


def prediction(upstream_id: str, status: str = "processing") -> dict[str, Any]:
    return {
        "id": upstream_id,
        "status": status,
        "logs": "42%|####",
        "output": None,
        "error": None,
        "input": {},
        "urls": {},
    }


REPLICATE_MODEL = "wan-2.5-fast"  # in the catalog, a model only Replicate serves


def test_forged_tokens_append_nothing(sandbox) -> None:  # type: ignore[no-untyped-def]
    client, settings = sandbox
    video = dispatched(client, "hailuo-02")
    before = event_count(client, video["id"])
    real = tokens(settings).token("minimax", job_id(video))
    forged = CallbackTokens(["not-our-secret"], settings.base_url).token("minimax", job_id(video))
    for token in (
        forged,
        real[:-3] + "abc",
        "x" + real,
        tokens(settings).token("luma", job_id(video)),
    ):
        answer = client.post(f"/hooks/minimax/{token}", json={"task_id": "t", "status": "Success"})
        assert answer.status_code == 401, answer.text
    assert event_count(client, video["id"]) == before


def test_an_expired_token_appends_nothing(sandbox) -> None:  # type: ignore[no-untyped-def]
    client, settings = sandbox
    video = dispatched(client, "hailuo-02")
    before = event_count(client, video["id"])
    a_week_ago = CallbackTokens(
        [settings.secret_key or ""], settings.base_url, clock=lambda: time.time() - 7 * 86400
    )
    token = a_week_ago.token("minimax", job_id(video))
    answer = client.post(f"/hooks/minimax/{token}", json={"task_id": "t", "status": "Success"})
    assert answer.status_code == 401 and "expired" in answer.text
    assert event_count(client, video["id"]) == before


def test_a_token_for_no_job_is_not_found(sandbox) -> None:  # type: ignore[no-untyped-def]
    client, settings = sandbox
    token = tokens(settings).token("minimax", uuid.uuid4())
    assert client.post(f"/hooks/minimax/{token}", json={}).status_code == 404


def test_unknown_providers_are_not_found(sandbox) -> None:  # type: ignore[no-untyped-def]
    client, _ = sandbox
    assert client.post("/hooks/nosuch/abc", json={}).status_code == 404


def test_minimax_challenge_is_echoed(sandbox) -> None:  # type: ignore[no-untyped-def]
    client, settings = sandbox
    video = dispatched(client, "hailuo-02")
    token = tokens(settings).token("minimax", job_id(video))
    answer = client.post(f"/hooks/minimax/{token}", json={"challenge": "abc123"})
    assert answer.status_code == 200 and answer.json() == {"challenge": "abc123"}


def test_fal_webhooks_with_bad_signatures_or_users_append_nothing(sandbox) -> None:  # type: ignore[no-untyped-def]
    client, settings = sandbox
    video = dispatched(client, "wan-2.6")
    before = event_count(client, video["id"])
    rid = video["upstream_id"].rpartition(":")[2]
    token = tokens(settings).token("fal", job_id(video))
    body = json.dumps({"request_id": rid, "status": "OK", "payload": {}}).encode()
    for user in ("vidgate-sandbox", "someone-else"):
        headers = {
            "x-fal-webhook-request-id": rid,
            "x-fal-webhook-user-id": user,
            "x-fal-webhook-timestamp": str(int(time.time())),
            "x-fal-webhook-signature": "ab" * 64,
        }
        answer = client.post(f"/hooks/fal/{token}", content=body, headers=headers)
        assert answer.status_code == 401, answer.text
    assert event_count(client, video["id"]) == before


def test_replicate_webhooks_must_be_signed_and_about_this_job(sandbox) -> None:  # type: ignore[no-untyped-def]
    client, settings = sandbox
    video = dispatched(client, REPLICATE_MODEL)
    other = dispatched(client, REPLICATE_MODEL)
    token = tokens(settings).token("replicate", job_id(video))
    before = event_count(client, video["id"])

    wrong_key = "whsec_" + "A" * 43 + "="
    body, headers = replicate_hook(settings, prediction(video["upstream_id"]), wrong_key)
    assert (
        client.post(f"/hooks/replicate/{token}", content=body, headers=headers).status_code == 401
    )
    body, headers = replicate_hook(settings, prediction(other["upstream_id"]))
    assert (
        client.post(f"/hooks/replicate/{token}", content=body, headers=headers).status_code == 401
    )
    assert event_count(client, video["id"]) == before

    body, headers = replicate_hook(settings, prediction(video["upstream_id"]))
    first = client.post(f"/hooks/replicate/{token}", content=body, headers=headers)
    again = client.post(f"/hooks/replicate/{token}", content=body, headers=headers)
    assert (first.status_code, first.json()["outcome"]) == (200, "accepted")
    assert (again.status_code, again.json()["outcome"]) == (200, "duplicate")
    events = client.get(f"/v1/videos/{video['id']}/events").json()["data"]
    assert [e["type"] for e in events][-1] == "Progressed"
    assert events[-1]["data"]["source"] == "webhook"
    assert event_count(client, video["id"]) == before + 1
    metrics = client.get("/metrics").text
    assert (
        'vidgate_upstream_webhooks_total{outcome="duplicate",provider="replicate"} 1.0' in metrics
    )
    assert 'vidgate_upstream_webhooks_total{outcome="rejected",provider="replicate"} 2.0' in metrics


def minimax_held_back(settings: Settings) -> Settings:
    """Sandbox MiniMax whose jobs never move by themselves, one at a time: a second job waits
    `queued`, with no intent and no upstream id."""
    return replace(
        settings,
        sandbox=True,
        emulate=EmulatorSettings(latency=3600.0),
        poll_first=3600.0,
        poll_grace=3600.0,
        provider_concurrency={"minimax": 1},
    )


def test_a_webhook_that_overtakes_the_dispatch_record_waits_for_it(settings: Settings) -> None:
    """An upstream may call back before `Dispatched` is saved (it answered the submit, we have
    not recorded it yet). The hook is held until the dispatch is recorded, not refused: not
    every upstream retries a 503, and a lost signal would wait for the fallback poll."""
    held_back = minimax_held_back(settings)
    with TestClient(
        create_app(held_back), headers={"Authorization": f"Bearer {ADMIN_KEY}"}
    ) as client:
        blocker = dispatched(client, "hailuo-2.3")
        queued = client.post("/v1/videos", json={"model": "hailuo-2.3", "prompt": "a fox"}).json()
        token = tokens(held_back).token("minimax", job_id(queued))
        with ThreadPoolExecutor(1) as pool:
            early = pool.submit(
                client.post, f"/hooks/minimax/{token}", json={"task_id": "t", "status": "Success"}
            )
            time.sleep(0.3)  # the hook is waiting (nothing to wait on: the job is held back)
            assert not early.done()
            assert client.post(f"/v1/videos/{blocker['id']}/cancel").status_code == 200
            answer = early.result(timeout=30)
        assert answer.status_code == 200, answer.text
        types = [e["type"] for e in client.get(f"/v1/videos/{queued['id']}/events").json()["data"]]
        assert "Dispatched" in types


def test_a_callback_recovers_a_dispatch_whose_answer_was_never_recorded(
    settings: Settings,
) -> None:
    """A worker killed between MiniMax's create and `Dispatched` leaves an intent; MiniMax's
    callback names its task (unsigned: asked of MiniMax first), so the dispatch is recovered
    from it instead of the job failing as an unknown outcome. A name MiniMax does not know
    appends nothing."""
    held_back = minimax_held_back(settings)
    with TestClient(
        create_app(held_back), headers={"Authorization": f"Bearer {ADMIN_KEY}"}
    ) as client:
        dispatched(client, "hailuo-2.3")
        video = client.post("/v1/videos", json={"model": "hailuo-2.3", "prompt": "a fox"}).json()
        gateway = client.app.state.runtime.gateway  # type: ignore[attr-defined]
        job = gateway.record_intent(job_id(video), "minimax", "attempt-x", by="worker:gone:1")
        minimax = client.app.state.providers["minimax"]  # type: ignore[attr-defined]
        created = client.portal.call(minimax.submit, dispatch_request(job))  # type: ignore[union-attr]
        token = tokens(held_back).token("minimax", job.id)
        forged = client.post(
            f"/hooks/minimax/{token}", json={"task_id": "no-such-task", "status": "Processing"}
        )
        assert forged.status_code == 401, forged.text
        assert [type(e).__name__ for e in gateway.history(job.id)][-1] == "DispatchIntended"
        hook = {"task_id": created.upstream_id, "status": "Processing"}
        answer = client.post(f"/hooks/minimax/{token}", json=hook)
        assert answer.status_code == 200, answer.text
        events = client.get(f"/v1/videos/{video['id']}/events").json()["data"]
        (recovered,) = [e for e in events if e["type"] == "Dispatched"]
        assert recovered["data"]["upstream_id"] == created.upstream_id
        assert recovered["actor"] == "webhook"
