"""`GET /v1/events`: the tenant's job events in log order, paged by position.

Most tests run the app without its workers and follow the feed projection themselves, so
they can write events straight through the Gateway (fast, and as concurrently as they
like); one test checks the worker's own feed follower behind the real API.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

import pytest
from openapi_schema_validator import OAS31Validator
from starlette.testclient import TestClient

from events.account import Charge, to_micros
from events.app import Gateway
from events.ids import video_id
from projections.feed.postgres import PostgresFeedView
from projections.feed.projection import FEED_TYPES, FeedProjection
from projections.feed.sqlite import SQLiteFeedView
from projections.feed.view import FeedQuery
from projections.follower import Follower
from service.app import create_app
from service.persistence.stores import build_view
from service.runtime import close_view
from service.surfaces.openapi.document import openapi_document
from tests.conftest import ADMIN_KEY
from tests.helpers import SUBMISSION, key_for, runtime_of, submit, wait_for, wait_for_status

TENANT = "default"  # the admin key's
FEED_ENDINGS = ("completed", "failed", "canceled")


@dataclass
class Feed:
    client: TestClient
    gateway: Gateway
    follower: Follower

    def caught_up(self) -> None:
        wait_for(self.follower.caught_up, timeout=10)

    def page(self, **params: Any) -> dict[str, Any]:
        response = self.client.get("/v1/events", params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def error(self, headers: dict[str, str] | None = None, **params: Any) -> dict[str, Any]:
        response = self.client.get("/v1/events", params=params, headers=headers)
        assert response.status_code == 400, response.text
        error: dict[str, Any] = response.json()["error"]
        return error


@pytest.fixture
def feed(settings) -> Iterator[Feed]:
    app = create_app(replace(settings, run_workers=False))
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
        rt = runtime_of(client)
        follower = Follower(rt.gateway, FeedProjection(rt.feed_view), interval=0.005)
        rt.gateway.on_saved(follower.wake)
        stopping, errors = threading.Event(), []
        thread = threading.Thread(target=follower.run, args=(stopping, errors.append))
        thread.start()
        yield Feed(client, rt.gateway, follower)
        stopping.set()
        thread.join(5)
    assert not errors


def run_job(gateway: Gateway, tenant: str = TENANT, steps: int = 2) -> UUID:
    """Submitted, `steps` progress updates, Completed: 2 + steps events."""
    job, _ = gateway.submit(**{**SUBMISSION, "tenant": tenant}, idempotency_key=None)
    for n in range(1, steps + 1):
        gateway.record_progress(job.id, 10 * n, "poll")
    gateway.update_job(job.id, lambda j: j.complete({"url": "u", "bytes": 1}, "poll"))
    return job.id


def run_metered_job(gateway: Gateway, ending: str, price: float = 1.25) -> UUID:
    """A job that reserves `price` and ends `completed` (at a reported $0.75), `failed` or
    `canceled` (after dispatch: settled at the price)."""
    fields = {**SUBMISSION, "tenant": TENANT, "idempotency_key": None}
    job, _ = gateway.submit_charged(fields, Charge(to_micros(price), key="k1"))
    if ending == "completed":
        output = {"url": "u", "bytes": 1}
        gateway.update_job(job.id, lambda j: j.complete(output, "poll", cost=0.75))
    elif ending == "failed":
        gateway.record_failure(job.id, "content_policy", "refused", "poll")
    else:
        gateway.record_dispatch(job.id, "local", "up-1")
        gateway.update_job(job.id, lambda j: j.cancel("api"))
    return job.id


def drain(feed: Feed, after: int = 0, **params: Any) -> list[dict[str, Any]]:
    """Every item after `after`, page by page."""
    items: list[dict[str, Any]] = []
    while True:
        body = feed.page(after=after, **params)
        items += body["data"]
        after = body["next_after"]
        if not body["has_more"]:
            return items


def test_a_page_lists_the_tenants_events_in_log_order(feed):
    job = run_job(feed.gateway)
    feed.caught_up()
    body = feed.page()
    assert set(body) == {"object", "data", "has_more", "next_after"}
    assert body["object"] == "list" and not body["has_more"]
    types = [i["type"] for i in body["data"]]
    assert types == ["Submitted", "Progressed", "Progressed", "Completed"]
    assert {i["video_id"] for i in body["data"]} == {video_id(job)}
    positions = [i["position"] for i in body["data"]]
    assert positions == sorted(positions) and body["next_after"] == positions[-1]


def test_each_item_is_the_history_item_with_its_position_and_video(feed):
    job = run_job(feed.gateway)
    feed.caught_up()
    history = feed.client.get(f"/v1/videos/{video_id(job)}/events").json()["data"]
    items = feed.page()["data"]
    stripped = [{k: v for k, v in i.items() if k not in ("position", "video_id")} for i in items]
    assert stripped == history
    notifications = feed.gateway.recorder.select_notifications(start=None, limit=100)
    assert [i["position"] for i in items] == [n.id for n in notifications if n.originator_id == job]


def test_tenants_see_only_their_own_events(feed):
    ours, theirs = run_job(feed.gateway), run_job(feed.gateway, tenant="other")
    feed.caught_up()
    other = key_for(feed.client, "other", ("videos:read",))
    assert {i["video_id"] for i in drain(feed)} == {video_id(ours)}
    response = feed.client.get("/v1/events", headers=other)
    assert {i["video_id"] for i in response.json()["data"]} == {video_id(theirs)}


def test_paging_with_a_limit_visits_every_event_once(feed):
    for _ in range(3):
        run_job(feed.gateway)
    feed.caught_up()
    everything = feed.page(limit=1000)["data"]
    paged = drain(feed, limit=5)
    assert len(everything) == 12
    assert paged == everything
    assert not feed.page(after=everything[-1]["position"])["data"]


def test_the_type_filter_takes_one_or_several_types_in_any_case(feed):
    run_job(feed.gateway)
    feed.caught_up()
    assert [i["type"] for i in feed.page(type="Completed")["data"]] == ["Completed"]
    both = feed.page(type="submitted, COMPLETED")["data"]
    assert [i["type"] for i in both] == ["Submitted", "Completed"]
    repeated = feed.client.get("/v1/events?type=Submitted&type=Progressed").json()["data"]
    assert [i["type"] for i in repeated] == ["Submitted", "Progressed", "Progressed"]
    error = feed.error(type="Completed,Exploded")
    assert error["param"] == "type" and "Exploded" in error["message"]
    assert set(FEED_TYPES) <= set(feed.error(type="nope")["message"].replace(",", "").split())


def test_ledger_entries_follow_the_money_of_the_tenants_jobs_in_log_order(feed):
    feed.gateway.grant_credits(TENANT, to_micros(5), note="trial")
    done, failed, canceled = (run_metered_job(feed.gateway, e) for e in FEED_ENDINGS)
    feed.caught_up()
    ledger = [i for i in drain(feed) if i["object"] == "ledger.entry"]
    assert [(i["type"], i["video_id"], i["data"]["amount"]) for i in ledger] == [
        ("CreditsGranted", None, 5.0),
        ("CreditsReserved", video_id(done), 1.25),
        ("CreditsSettled", video_id(done), 0.75),
        ("CreditsReserved", video_id(failed), 1.25),
        ("CreditsReleased", video_id(failed), 1.25),
        ("CreditsReserved", video_id(canceled), 1.25),
        ("CreditsSettled", video_id(canceled), 1.25),
    ]
    assert ledger[0]["data"] == {"currency": "USD", "amount": 5.0, "note": "trial"}
    assert ledger[1]["data"]["key_id"] == "k1"
    assert ledger[4]["data"]["reason"] == "content_policy"
    spent = sum(i["data"]["amount"] for i in ledger if i["type"] == "CreditsSettled")
    assert spent == feed.client.get("/v1/balance").json()["spent"] == 2.0
    notifications = feed.gateway.recorder.select_notifications(start=None, limit=100)
    money = [n.id for n in notifications if n.topic.startswith("vidgate:Account.Credits")]
    assert [i["position"] for i in ledger] == money


def test_the_type_filter_takes_ledger_types_and_other_tenants_see_none(feed):
    feed.gateway.grant_credits(TENANT, to_micros(5))
    run_metered_job(feed.gateway, "completed")
    feed.caught_up()
    settled = feed.page(type="creditssettled,CreditsGranted")["data"]
    assert [i["type"] for i in settled] == ["CreditsGranted", "CreditsSettled"]
    other = key_for(feed.client, "other", ("videos:read",))
    assert feed.client.get("/v1/events", headers=other).json()["data"] == []


def test_a_feed_rebuilt_from_position_0_has_the_same_rows(feed, settings):
    feed.gateway.grant_credits(TENANT, to_micros(5))
    for ending in FEED_ENDINGS:
        run_metered_job(feed.gateway, ending)
    run_job(feed.gateway, tenant="other")
    feed.caught_up()
    rebuilt = build_view(settings, "feed_rebuilt", SQLiteFeedView, PostgresFeedView)
    try:
        Follower(feed.gateway, FeedProjection(rebuilt)).run_once()
        everything = FeedQuery(tenant=None, limit=1000)
        assert rebuilt.page(everything) == runtime_of(feed.client).feed_view.page(everything)
        assert len(rebuilt.page(everything)[0]) == 7 + 7 + 4  # ledger, our jobs, the other job
    finally:
        close_view(rebuilt)


def test_an_empty_page_keeps_the_cursor(feed):
    body = feed.page(after=12345)
    assert body == {"object": "list", "data": [], "has_more": False, "next_after": 12345}
    assert feed.page()["next_after"] == 0


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "ten", "1.5", ""])
def test_limits_outside_1_to_1000_are_refused(feed, limit):
    error = feed.error(limit=limit)
    assert (error["param"], error["code"]) == ("limit", "invalid_value")


def test_limit_bounds_are_inclusive(feed):
    run_job(feed.gateway)
    feed.caught_up()
    assert len(feed.page(limit=1)["data"]) == 1
    assert len(feed.page(limit=1000)["data"]) == 4


@pytest.mark.parametrize("after", ["-1", "abc", "1e3", "video_1", "99999999999999999999", "٣"])
def test_a_bad_cursor_is_a_400_naming_after(feed, after):
    error = feed.error(after=after)
    assert (error["param"], error["code"]) == ("after", "invalid_value")


def test_unknown_parameters_are_refused(feed):
    error = feed.error(tenant="other")
    assert (error["param"], error["code"]) == ("tenant", "unknown_parameter")


def test_the_feed_needs_a_key_with_videos_read(feed):
    assert feed.client.get("/v1/events", headers={"Authorization": ""}).status_code == 401
    writer = key_for(feed.client, TENANT, ("videos:write",))
    response = feed.client.get("/v1/events", headers=writer)
    assert (response.status_code, response.json()["error"]["code"]) == (403, "missing_scope")


def test_paging_while_events_are_written_never_skips_or_repeats_one(feed):
    """Writers append (two tenants, several threads) while a reader tails the feed."""
    ours: set[UUID] = set()
    lock, failures = threading.Lock(), []

    def write(tenant: str) -> None:
        try:
            for _ in range(6):
                job = run_job(feed.gateway, tenant, steps=3)
                if tenant == TENANT:
                    with lock:
                        ours.add(job)
        except Exception as error:  # reported below, in the test's thread
            failures.append(error)

    writers = [threading.Thread(target=write, args=(t,)) for t in (TENANT, TENANT, "other")]
    for writer in writers:
        writer.start()
    seen: list[dict[str, Any]] = []
    after = 0
    while any(w.is_alive() for w in writers) or not feed.follower.caught_up():
        body = feed.page(after=after, limit=7)
        seen += body["data"]
        after = body["next_after"]
    seen += drain(feed, after=after, limit=7)
    assert not failures
    positions = [item["position"] for item in seen]
    assert positions == sorted(set(positions))  # in order, none twice
    notifications = feed.gateway.recorder.select_notifications(start=None, limit=10_000)
    expected = [n.id for n in notifications if n.originator_id in ours]
    assert positions == expected  # none skipped
    assert len(expected) == 2 * 6 * 5
    for job in ours:
        versions = [i["version"] for i in seen if i["video_id"] == video_id(job)]
        assert versions == [1, 2, 3, 4, 5]


def test_the_workers_feed_follows_the_api(client):
    video = submit(client)
    wait_for_status(client, video["id"])

    def completed() -> list[dict[str, Any]]:
        items = client.get("/v1/events", params={"type": "OutputStored"}).json()["data"]
        return [i for i in items if i["video_id"] == video["id"]]

    wait_for(completed, timeout=10)
    types = [i["type"] for i in client.get("/v1/events").json()["data"]]
    assert types[:3] == ["Submitted", "DispatchIntended", "Dispatched"]
    assert {"Progressed", "Completed", "OutputStored"} <= set(types)


def documented(method: str, template: str, response: Any) -> None:
    """`response` is documented for the operation, and its JSON body matches the schema."""
    doc = openapi_document()
    answer = doc["paths"][template][method]["responses"][str(response.status_code)]
    schema = answer["content"]["application/json"]["schema"]
    OAS31Validator({**schema, "components": doc["components"]}).validate(response.json())


def test_feed_and_time_travel_responses_match_the_openapi_document(feed):
    job = run_job(feed.gateway)
    feed.gateway.grant_credits(TENANT, to_micros(5))
    for ending in FEED_ENDINGS:
        run_metered_job(feed.gateway, ending)
    feed.caught_up()
    documented("get", "/v1/events", feed.client.get("/v1/events"))
    get = feed.client.get
    documented("get", "/v1/events", get("/v1/events", params={"limit": 2}))
    documented("get", "/v1/events", get("/v1/events", params={"after": "x"}))
    documented("get", "/v1/events", get("/v1/events", headers={"Authorization": ""}))
    one = f"/v1/videos/{video_id(job)}"
    documented("get", "/v1/videos/{video_id}", get(one, params={"at": "2"}))
    documented("get", "/v1/videos/{video_id}", get(one, params={"at": "9"}))
