"""One contract for the `analytics` view and its batched projection, on SQLite and PostgreSQL.

Job histories with chosen timestamps are appended through the Gateway and followed into
the view; every figure is checked against a computation from the raw events that does
not use the projection (tests/analytics_support.py).
"""

from __future__ import annotations

import threading
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.utils import get_topic

from projections.analytics.postgres import PostgresAnalyticsView
from projections.analytics.projection import AnalyticsProjection, as_fact
from projections.analytics.sqlite import SQLiteAnalyticsView
from projections.analytics.view import AnalyticsQuery, JobFacts
from projections.follower import Follower
from service.persistence.stores import build_view
from service.runtime import close_view
from service.surfaces.openai.analytics import group_object
from tests.analytics_support import (
    Plan,
    all_events,
    append,
    assert_figures_match,
    expected,
    mixed_plans,
)

APP = "vidgate"


@pytest.fixture
def views(settings):
    """Opens views on the same store (`name` picks another one)."""
    opened = []

    def open_view(name: str = "analytics"):
        opened.append(build_view(settings, name, SQLiteAnalyticsView, PostgresAnalyticsView))
        return opened[-1]

    yield open_view
    for view in opened:
        close_view(view)


@pytest.fixture
def view(views):
    return views()


@pytest.fixture
def history(gateway):
    """Sixty mixed jobs of two tenants, appended a job per save."""
    append(gateway, mixed_plans())
    return all_events(gateway)


def followed(history: list) -> list:
    """The events the projection is handed (of an account's: reservations, settlements)."""
    return [e for e in history if get_topic(type(e)) in AnalyticsProjection.topics]


def follow(gateway, view, batch: int = 500) -> int:
    return Follower(gateway, AnalyticsProjection(view), batch=batch).run_once()


def figures(view, **query) -> list[dict]:
    return [group_object(f) for f in view.figures(AnalyticsQuery(**query))]


def rows(view) -> list[dict]:
    with view.datastore.transaction(commit=False) as c:
        c.execute(f"SELECT * FROM {view.sql.jobs} ORDER BY job_id")
        return [dict(row) for row in c.fetchall()]


def facts(job_id: str, **fields) -> JobFacts:
    return JobFacts(job_id=job_id, **fields)


def new_job(job_id: str, tenant: str | None = "acme") -> JobFacts:
    return facts(
        job_id,
        new=True,
        tenant=tenant,
        day="2030-03-01",
        model="m",
        provider="fal",
        submitted_at=1.0,
    )


QUERIES = [
    {},
    {"group_by": ("day",)},
    {"group_by": ("model",)},
    {"group_by": ("day", "model", "provider")},
    {"group_by": ("provider",), "since": "2030-03-02"},
    {"group_by": ("day",), "until": "2030-03-01", "model": "veo-3.1"},
    {"provider": "replicate", "since": "2030-03-01", "until": "2030-03-02"},
    {"tenant": "globex", "group_by": ("model",)},
]


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: ",".join(f"{k}={v}" for k, v in q.items()))
def test_figures_match_an_independent_computation_from_the_events(gateway, view, history, query):
    handled = follow(gateway, view)
    query = {"tenant": "acme", **query}
    assert handled == len(followed(history))
    assert_figures_match(figures(view, **query), expected(history, **query))


def test_the_mix_covers_every_outcome_two_days_and_both_sources(gateway, view, history):
    follow(gateway, view)
    [totals] = figures(view, tenant="acme")
    days = figures(view, tenant="acme", group_by=("day",))
    assert [d["day"] for d in days] == ["2030-03-01", "2030-03-02"]
    assert totals["completed"] and totals["canceled"] and totals["unfinished"]
    assert set(totals["failures"]) >= {"timeout", "upstream_error"}
    assert totals["signals"]["webhook"] and totals["signals"]["poll"]
    assert totals["signals"]["other"]
    assert totals["spent"] > 0  # acme's ledger settled some of its jobs
    [theirs] = figures(view, tenant="globex")
    assert theirs["spent"] is None and theirs["cost"] > 0  # globex is unmetered


def test_spent_is_what_the_ledger_settled_not_the_list_price(gateway, view):
    done = ("completed", 20.0, "webhook", None)
    plans = [
        Plan(price=2.5, end=(*done, 0.4)),  # the upstream reported its cost
        Plan(price=2.5, end=(*done, None)),  # settled at the price
        Plan(price=2.5, end=("failed", 9.0, "poll", "timeout")),  # released
        Plan(price=2.5, end=("canceled", 9.0)),  # canceled after dispatch: settled
        Plan(price=2.5, dispatches=(), end=("canceled", 0.5)),  # before dispatch: released
        Plan(price=2.5),  # still running: reserved only
    ]
    append(gateway, plans)
    follow(gateway, view, batch=3)
    [totals] = figures(view, tenant="acme")
    assert totals["spent"] == 0.4 + 2.5 + 2.5
    assert gateway.find_account("acme").spent == 5_400_000
    assert totals["estimated_cost"] == 6 * 0.5  # the estimates stay what they were


def test_a_view_made_before_the_ledger_columns_gets_them(views):
    old = views("analytics_old")
    with old.datastore.transaction(commit=True) as c:
        for column in ("reserved", "settled"):
            c.execute(f"ALTER TABLE {old.sql.jobs} DROP COLUMN {column}")
    reopened = views("analytics_old")
    reopened.record([new_job("a")], Tracking(APP, 1), after=0)
    assert rows(reopened)[0]["settled"] is None
    assert figures(reopened, tenant="acme")[0]["spent"] is None


def test_with_no_jobs_the_totals_are_one_row_of_zeros_and_groups_are_none(view):
    [totals] = figures(view, tenant="acme")
    assert totals["submitted"] == 0 and totals["failures"] == {}
    assert totals["latency"]["submit_to_complete"] == {
        "count": 0,
        "p50": None,
        "p90": None,
        "p99": None,
    }
    assert totals["signals"]["webhook_share"] is None
    assert figures(view, tenant="acme", group_by=("day",)) == []


def test_latencies_are_percentile_cont_of_exact_event_times(gateway, view):
    plans = [
        Plan(at=0, dispatches=(d,), end=("completed", d + 10, "webhook", None, None))
        for d in (1.0, 2.0, 3.0, 4.0)
    ]
    append(gateway, plans)
    follow(gateway, view)
    [totals] = figures(view, tenant="acme")
    queued = totals["latency"]["submit_to_dispatch"]
    assert queued == {"count": 4, "p50": 2.5, "p90": 3.7, "p99": 3.97}
    assert totals["latency"]["dispatch_to_complete"]["p99"] == 10.0
    assert totals["latency"]["submit_to_complete"]["p50"] == 12.5


def test_a_redispatch_keeps_the_first_dispatch_and_a_job_counts_once(gateway, view):
    append(gateway, [Plan(dispatches=(1.0, 30.0), end=("failed", 40.0, "poll", "timeout"))])
    follow(gateway, view, batch=1)  # the re-dispatch arrives in a batch of its own
    [totals] = figures(view, tenant="acme")
    assert totals["submitted"] == 1 and totals["failures"] == {"timeout": 1}
    assert totals["latency"]["submit_to_dispatch"]["p50"] == 1.0


@pytest.mark.parametrize("batch", [1, 7, 500])
def test_any_page_size_writes_the_same_rows_as_one_event_at_a_time(gateway, views, history, batch):
    batched, single = views(), views("analytics_single")
    follow(gateway, batched, batch=batch)
    projection = AnalyticsProjection(single)
    for notification in gateway.recorder.select_notifications(start=None, limit=10**6):
        event = gateway.mapper.to_domain_event(notification)
        projection.process_event(event, Tracking(APP, notification.id))
    assert rows(batched) == rows(single)
    assert len(rows(batched)) == len(mixed_plans())
    assert batched.max_tracking_id(APP) == single.max_tracking_id(APP)


def test_reading_ahead_writes_the_same_rows(gateway, views, history):
    ahead, plain = views(), views("analytics_plain")
    follower = Follower(gateway, AnalyticsProjection(ahead), batch=7, read_ahead=True)
    try:
        assert follower.run_once() == len(followed(history))
    finally:
        follower.close()
    follow(gateway, plain, batch=7)
    assert rows(ahead) == rows(plain)


def test_the_stored_json_and_the_domain_events_fold_alike(gateway, history):
    notifications = gateway.recorder.select_notifications(start=None, limit=10**6)
    for notification in notifications:
        decoded = AnalyticsProjection.decode(gateway.mapper, notification)
        event = gateway.mapper.to_domain_event(notification)
        topic, job_id, at, fields = as_fact(event)
        assert decoded[:3] == (topic, job_id, at)
        assert {k: v for k, v in decoded[3].items() if k != "timestamp"} == {
            k: {"_type_": "uuid_hex", "_data_": v.hex} if isinstance(v, UUID) else v
            for k, v in fields.items()
            if k not in ("timestamp", "originator_id", "originator_version")
        }


def test_a_batch_is_written_with_its_position_or_not_at_all(view):
    view.record([new_job("a")], Tracking(APP, 3), after=0)
    broken = [new_job("b"), facts("a", dispatched_at=2.0), new_job("c", tenant=None)]
    with pytest.raises(IntegrityError):  # c breaks NOT NULL after b and a were written
        view.record(broken, Tracking(APP, 9), after=3)
    assert [r["job_id"] for r in rows(view)] == ["a"]
    assert rows(view)[0]["dispatched_at"] is None
    assert view.max_tracking_id(APP) == 3


def test_a_batch_read_from_a_stale_position_is_refused_as_a_whole(view):
    view.record([new_job("a")], Tracking(APP, 5), after=0)
    with pytest.raises(IntegrityError):
        view.record([new_job("b"), facts("a", poll_signals=1)], Tracking(APP, 8), after=3)
    with pytest.raises(IntegrityError):  # "no position yet" is stale too
        view.record([new_job("c")], Tracking(APP, 8), after=0)
    view.record([facts("a", webhook_signals=2)], Tracking(APP, 8), after=5)
    assert [(r["job_id"], r["webhook_signals"], r["poll_signals"]) for r in rows(view)] == [
        ("a", 2, 0)
    ]
    assert view.max_tracking_id(APP) == 8


def test_one_event_at_a_time_the_position_must_move_forward(view):
    view.record([new_job("a")], Tracking(APP, 5), after=None)
    with pytest.raises(IntegrityError):
        view.record([facts("a", poll_signals=1)], Tracking(APP, 5), after=None)
    assert rows(view)[0]["poll_signals"] == 0


def test_followers_with_different_pages_never_apply_an_event_twice(gateway, views, history):
    shared, alone = views(), views("analytics_alone")
    followers = [Follower(gateway, AnalyticsProjection(shared), batch=b) for b in (3, 10, 64)]
    threads = [threading.Thread(target=f.run_once) for f in followers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    Follower(gateway, AnalyticsProjection(shared)).run_once()  # whatever a conflict left
    follow(gateway, alone)
    assert rows(shared) == rows(alone)


def test_a_restarted_follower_resumes_where_it_stopped(gateway, views):
    append(gateway, mixed_plans(20, seed=1))
    first = views()
    follow(gateway, first, batch=4)
    append(gateway, mixed_plans(20, seed=2))
    restarted = views()  # the same view, opened anew
    follow(gateway, restarted, batch=4)
    whole = views("analytics_whole")
    follow(gateway, whole)
    assert rows(restarted) == rows(whole)
