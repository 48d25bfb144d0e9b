"""`vidgate replay`: a rebuilt view equals the live one row for row, and the switch reaches
running processes without a restart. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest

from projections.analytics.postgres import PostgresAnalyticsView
from projections.analytics.projection import AnalyticsProjection
from projections.analytics.sqlite import SQLiteAnalyticsView
from projections.analytics.view import AnalyticsQuery
from projections.follower import Follower
from projections.jobs.postgres import PostgresJobsView
from projections.jobs.projection import JobsProjection
from projections.jobs.sqlite import SQLiteJobsView
from service import cli
from service.admin.replay import ReplayBusy, replay
from service.persistence.blue_green import LiveView, Pointer, next_generation
from service.persistence.stores import build_gateway, build_view
from service.runtime import close_view
from tests.analytics_support import append, mixed_plans
from tests.helpers import key_for, submit, wait_for, wait_for_status

APP = "vidgate"
VIEWS = {
    "analytics": (SQLiteAnalyticsView, PostgresAnalyticsView, AnalyticsProjection),
    "jobs": (SQLiteJobsView, PostgresJobsView, JobsProjection),
}


@pytest.fixture
def gateway(settings):
    app = build_gateway(settings)
    append(app, mixed_plans(40))
    yield app
    app.close()


@pytest.fixture
def opened(settings):
    """Opens generations of a view; closes them all at the end."""
    views = []

    def open_generation(name: str, generation: str):
        sqlite_class, pg_class, _ = VIEWS[name]
        views.append(build_view(settings, generation, sqlite_class, pg_class))
        return views[-1]

    yield open_generation
    for view in views:
        close_view(view)


def live_view(settings, name: str, *, pinned: bool) -> LiveView:
    sqlite_class, pg_class, _ = VIEWS[name]
    return LiveView(
        name,
        lambda generation: build_view(settings, generation, sqlite_class, pg_class),
        Pointer(settings),
        pinned=pinned,
        check_every=0.0,
    )


def rows(view) -> list[dict]:
    table = getattr(view.sql, "jobs", None) or view.sql.table  # analytics or jobs
    with view.datastore.transaction(commit=False) as c:
        c.execute(f"SELECT * FROM {table} ORDER BY job_id")
        return [dict(row) for row in c.fetchall()]


def exists(settings, generation: str, table: str) -> bool:
    if not settings.uses_postgres:
        return (Path(settings.data_dir) / f"{generation}.sqlite").exists()
    with psycopg.connect(settings.database_url) as conn:
        name = f'"{settings.database_schema}"."{table}"'
        return conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()[0] is not None


@pytest.mark.parametrize("name", ["analytics", "jobs"])
def test_a_replayed_view_equals_the_live_one_row_for_row(settings, gateway, opened, name):
    live = opened(name, name)
    Follower(gateway, VIEWS[name][2](live)).run_once()  # the live one, built as it went
    before, position = rows(live), live.max_tracking_id(APP)
    report = replay(settings, name, grace=0)
    rebuilt = opened(name, report.generation)
    assert (report.generation, report.replaced) == (f"{name}_g2", name)
    assert len(before) == 40 and rows(rebuilt) == before
    assert rebuilt.max_tracking_id(APP) == position
    everything = gateway.recorder.select_notifications(start=None, limit=10**6)
    topics = VIEWS[name][2].topics  # the jobs view follows no ledger events
    assert report.events == len([n for n in everything if n.topic in topics])
    assert Pointer(settings).read(name) == f"{name}_g2"
    assert not exists(settings, name, f"{name}_tracking")  # the old generation is dropped


def test_replaying_again_builds_the_next_generation(settings, gateway, opened):
    first, second = replay(settings, "analytics", grace=0), replay(settings, "analytics", grace=0)
    assert (second.replaced, second.generation) == ("analytics_g2", "analytics_g3")
    assert rows(opened("analytics", "analytics_g3")) and first.events == second.events
    assert not exists(settings, "analytics_g2", "analytics_g2_tracking")
    assert next_generation("jobs", "jobs_g9") == "jobs_g10"


def test_running_readers_and_writers_follow_the_switch(settings, gateway):
    reader = live_view(settings, "analytics", pinned=False)
    writer = live_view(settings, "analytics", pinned=True)
    follower = Follower(gateway, AnalyticsProjection(writer))
    try:
        follower.run_once()
        assert (reader.generation, writer.generation) == ("analytics", "analytics")
        replay(settings, "analytics", grace=0)
        append(gateway, mixed_plans(10, seed=3))  # recorded after the switch
        follower.run_once()  # the writer moves between pages, then goes on in the new one
        assert writer.generation == "analytics_g2"
        [totals] = reader.figures(AnalyticsQuery(tenant="acme"))
        assert reader.generation == "analytics_g2"
        plans = [*mixed_plans(40), *mixed_plans(10, seed=3)]
        assert totals.submitted == sum(plan.tenant == "acme" for plan in plans)
    finally:
        reader.close_generations()
        writer.close_generations()


def test_a_failed_replay_leaves_the_live_view_and_the_next_one_starts_over(
    settings, gateway, opened
):
    def crash(position: int, latest: int, handled: int) -> None:
        raise RuntimeError("killed mid-replay")

    with pytest.raises(RuntimeError):
        replay(settings, "analytics", batch=7, grace=0, progress=crash)
    assert Pointer(settings).read("analytics") == "analytics"
    report = replay(settings, "analytics", grace=0)
    assert (
        report.generation == "analytics_g2" and len(rows(opened("analytics", "analytics_g2"))) == 40
    )


def test_a_replay_drops_the_generations_an_interrupted_one_left(settings, gateway, opened):
    replay(settings, "analytics", grace=0)
    opened("analytics", "analytics")  # as if killed before dropping the first generation
    opened("analytics", "analytics_g3")  # … and another one killed while building
    opened("jobs", "jobs")  # another view: not this replay's business
    report = replay(settings, "analytics", grace=0)
    assert (report.replaced, report.generation) == ("analytics_g2", "analytics_g3")
    assert not exists(settings, "analytics", "analytics_tracking")
    assert not exists(settings, "analytics_g2", "analytics_g2_tracking")
    assert exists(settings, "jobs", "jobs_tracking")
    assert len(rows(opened("analytics", "analytics_g3"))) == 40


def test_one_replay_of_a_view_at_a_time(settings, gateway):
    inside, release = threading.Event(), threading.Event()

    def hold(position: int, latest: int, handled: int) -> None:
        inside.set()
        release.wait(10)

    first = threading.Thread(
        target=replay,
        args=(settings, "analytics"),
        kwargs={"grace": 0, "batch": 1000, "progress": hold},
    )
    first.start()
    try:
        assert inside.wait(10)
        with pytest.raises(ReplayBusy):
            replay(settings, "analytics", grace=0)
        replay(settings, "jobs", grace=0)  # another view is another lock
    finally:
        release.set()
        first.join(10)


def test_vidgate_replay_reports_events_and_rate(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VIDGATE_DATA_DIR", str(tmp_path))
    assert cli.main(["replay", "analytics", "--grace", "0", "--batch", "100"]) == 0
    out = capsys.readouterr().out
    assert "replayed analytics: 0 events" in out and "live generation analytics_g2" in out


def test_the_api_keeps_serving_through_a_replay_of_jobs(client, settings):
    first = submit(client)
    wait_for_status(client, first["id"])
    replay(settings, "jobs", grace=1.5)  # the app's handles look every second
    listed = client.get("/v1/videos").json()["data"]
    assert [v["id"] for v in listed] == [first["id"]]
    second = submit(client)  # the app's jobs projection now writes the new generation
    wait_for_status(client, second["id"])
    wait_for(lambda: len(client.get("/v1/videos").json()["data"]) == 2, timeout=10)
    assert not exists(settings, "jobs", "jobs_tracking")
    assert key_for(client, "acme")  # and the rest of the app is unaffected
