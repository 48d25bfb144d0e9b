"""One contract for the `feed` view (the tenant event feed); it runs on SQLite and PostgreSQL."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError, Tracking

from projections.feed.postgres import PostgresFeedView
from projections.feed.sqlite import SQLiteFeedView
from projections.feed.view import FeedEvent, FeedQuery
from service.persistence.stores import build_view
from service.runtime import close_view

APP = "vidgate"


@pytest.fixture
def view(settings):
    built = build_view(settings, "feed", SQLiteFeedView, PostgresFeedView)
    yield built
    close_view(built)


def event(position: int, job_id: UUID, kind: str = "Progressed", **item) -> FeedEvent:
    rendered = {"object": "video.event", "type": kind, "version": 1, "actor": "poll", **item}
    return FeedEvent(position, job_id, kind, 1, 1000.0 + position, rendered)


def track(n: int) -> Tracking:
    return Tracking(APP, n)


def positions(view, **query) -> list[int]:
    entries, _ = view.page(FeedQuery(**{"tenant": "acme", "limit": 100, **query}))
    return [e.position for e in entries]


def test_a_submitted_job_names_the_tenant_of_its_later_events(view):
    job = uuid4()
    view.record(event(1, job, "Submitted"), track(1), tenant="acme")
    view.record(event(2, job, data={"percent": 40}), track(2))
    entries, more = view.page(FeedQuery(tenant="acme"))
    assert [(e.position, e.tenant, e.job_id, e.type) for e in entries] == [
        (1, "acme", job, "Submitted"),
        (2, "acme", job, "Progressed"),
    ]
    assert entries[1].item["data"] == {"percent": 40}
    assert entries[1].occurred_at == 1002.0
    assert not more
    assert view.max_tracking_id(APP) == 2


def test_the_public_item_adds_the_position_and_the_video_id(view):
    job = uuid4()
    view.record(event(7, job, "Submitted"), track(7), tenant="acme")
    (entry,), _ = view.page(FeedQuery(tenant="acme"))
    item = entry.public_item()
    assert list(item)[:3] == ["object", "position", "video_id"]
    assert (item["position"], item["video_id"]) == (7, f"video_{job.hex}")
    assert item["type"] == "Submitted"


def test_an_event_of_a_job_the_view_never_saw_is_left_out_but_tracked(view):
    view.record(event(1, uuid4()), track(1))
    assert view.page(FeedQuery(tenant=None)) == ([], False)
    assert view.max_tracking_id(APP) == 1


def test_an_event_processed_twice_is_rejected_and_changes_nothing(view):
    job = uuid4()
    view.record(event(1, job, "Submitted"), track(1), tenant="acme")
    with pytest.raises(IntegrityError):
        view.record(event(1, job, "Submitted"), track(1), tenant="acme")
    assert positions(view) == [1]


def test_pages_follow_positions_within_a_tenant(view):
    ours, theirs = uuid4(), uuid4()
    view.record(event(1, ours, "Submitted"), track(1), tenant="acme")
    view.record(event(2, theirs, "Submitted"), track(2), tenant="other")
    for n in range(3, 9):
        view.record(event(n, ours if n % 2 else theirs), track(n))
    first, more = view.page(FeedQuery(tenant="acme", limit=2))
    assert [e.position for e in first] == [1, 3] and more
    rest, more = view.page(FeedQuery(tenant="acme", limit=10, after=3))
    assert [e.position for e in rest] == [5, 7] and not more
    assert positions(view, tenant="other") == [2, 4, 6, 8]
    assert positions(view, tenant=None, after=6) == [7, 8]


def test_filters_by_type_by_time_and_by_last_position(view):
    job = uuid4()
    view.record(event(1, job, "Submitted"), track(1), tenant="acme")
    view.record(event(2, job, "Progressed"), track(2))
    view.record(event(3, job, "Completed"), track(3))
    assert positions(view, types=("Completed", "Submitted")) == [1, 3]
    assert positions(view, since=1002.0) == [2, 3]
    assert positions(view, until=2) == [1, 2]


def test_count_matches_the_query_without_its_limit(view):
    job = uuid4()
    view.record(event(1, job, "Submitted"), track(1), tenant="acme")
    for n in range(2, 6):
        view.record(event(n, job), track(n))
    assert view.count(FeedQuery(tenant="acme", limit=1)) == 5
    assert view.count(FeedQuery(tenant="acme", after=2, types=("Progressed",))) == 3
    assert view.count(FeedQuery(tenant="other")) == 0


def test_text_the_event_carries_survives_the_round_trip(view):
    job = uuid4()
    odd = {"prompt": "a\x00b ☃ \U0001f98a", "nested": {"list": [1, 2.5, None, True]}}
    view.record(event(1, job, "Submitted", data=odd), track(1), tenant="acme")
    (entry,), _ = view.page(FeedQuery(tenant="acme"))
    assert entry.item["data"] == odd


def entry(position: int, owner: UUID, kind: str, **data) -> FeedEvent:
    rendered = {"object": "ledger.entry", "video_id": None, "type": kind, "data": data}
    return FeedEvent(position, owner, kind, 1, 1000.0 + position, rendered)


def test_an_opened_account_names_the_tenant_of_its_grants_without_a_row(view):
    account = uuid4()
    view.remember(account, "acme", track(1))
    view.record(entry(2, account, "CreditsGranted", amount=5.0), track(2))
    entries, _ = view.page(FeedQuery(tenant="acme"))
    assert [(e.position, e.tenant, e.type) for e in entries] == [(2, "acme", "CreditsGranted")]
    assert view.max_tracking_id(APP) == 2
    with pytest.raises(IntegrityError):
        view.remember(account, "acme", track(2))


def test_a_ledger_entry_of_a_job_takes_the_jobs_tenant_and_keeps_its_own_video(view):
    job = uuid4()
    view.record(event(1, job, "Submitted"), track(1), tenant="acme")
    view.record(entry(2, job, "CreditsReserved", amount=3.2), track(2))
    view.record(entry(3, uuid4(), "CreditsGranted", amount=1.0), track(3))  # no known owner
    (submitted, reserved), _ = view.page(FeedQuery(tenant="acme"))
    assert reserved.item["data"] == {"amount": 3.2}
    assert reserved.public_item()["video_id"] is None  # the item's own, not the row's
    assert submitted.public_item()["video_id"] == f"video_{job.hex}"
    assert positions(view, types=("CreditsReserved",)) == [2]
    assert view.max_tracking_id(APP) == 3
