"""The workers' backlog is visible: per loop, the events it has not looked at yet, in
`/readyz` and `/metrics` (a burst of submits shows there as it drains)."""

from __future__ import annotations

from tests.helpers import submit, wait_for, wait_for_status

# (and SQLite's dispatcher: PostgreSQL's workers claim jobs from the inflight view instead)
LOOPS = {"jobs projection", "inflight projection", "mirror", "canceler"}


def test_readyz_shows_each_loop_s_backlog_and_it_drains_to_zero(client):
    job = submit(client)
    wait_for_status(client, job["id"], "completed")
    backlog = wait_for(lambda: _drained(client.get("/readyz").json()["backlog"]))
    assert set(backlog) >= LOOPS


def test_metrics_show_the_backlog_per_loop(client):
    metrics = client.get("/metrics").text
    for loop in LOOPS:
        assert f'vidgate_worker_backlog_events{{loop="{loop}"}}' in metrics


def _drained(backlog: dict[str, int]) -> dict[str, int] | None:
    return backlog if not any(backlog.values()) else None
