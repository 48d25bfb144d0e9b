"""The `analytics` view's command and query over any backend's transactions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import IntegrityError, Tracking

from projections.analytics.view import (
    AnalyticsQuery,
    AnalyticsSQL,
    AnalyticsView,
    Figures,
    JobFacts,
    Latency,
    figures_from,
    insert_params,
    update_params,
)

GroupKey = tuple[str, ...]
Rows = list[tuple[Any, ...]]


class SQLAnalyticsView(AnalyticsView):
    # Provided by the backend's TrackingRecorder, which follows this class in the MRO.
    sql: AnalyticsSQL
    datastore: Any
    _insert_tracking: Any

    def record(self, jobs: Sequence[JobFacts], tracking: Tracking, *, after: int | None) -> None:
        inserts = [insert_params(job) for job in jobs if job.new]
        updates = [update_params(job) for job in jobs if not job.new]
        with self.datastore.transaction(commit=True) as c:
            # The position first: it takes SQLite's write lock and PostgreSQL's row lock
            # before anything else, so a concurrent runner waits here, then fails.
            if after is None:
                self._insert_tracking(c, tracking)
            else:
                self._move_tracking(c, tracking, after)
            self._write(c, inserts, updates)

    def _write(
        self, c: Any, inserts: list[tuple[Any, ...]], updates: list[tuple[Any, ...]]
    ) -> None:
        """Rows to insert and to update, as `insert_params` and `update_params` give them."""
        if inserts:
            c.executemany(self.sql.insert, inserts)
        if updates:
            c.executemany(self.sql.update, updates)

    def _move_tracking(self, c: Any, tracking: Tracking, after: int) -> None:
        """Compare-and-set of the position: from exactly `after` to the batch's last event."""
        name, position = tracking.application_name, tracking.notification_id
        c.execute(self.sql.move_tracking, (position, name, after))
        if c.fetchone() is not None:
            return
        if after == 0:  # no position yet: the insert fails if another runner made one
            c.execute(self.sql.first_tracking, (name, position))
            return
        raise IntegrityError(f"the {name} position is no longer {after}: batch not applied")

    def figures(self, query: AnalyticsQuery) -> list[Figures]:
        with self.datastore.transaction(commit=False) as c:
            sql, params = self.sql.totals(query, self._latency_columns())
            c.execute(sql, params)
            totals = sorted((dict(row) for row in c.fetchall()), key=lambda r: _key(r, query))
            sql, params = self.sql.failures(query)
            c.execute(sql, params)
            failures: dict[GroupKey, dict[str, int]] = defaultdict(dict)
            for row in c.fetchall():
                failures[_key(row, query)][row["failure_code"]] = int(row["n"])
            latencies = self._latencies(c, query, totals)
        keys = [_key(row, query) for row in totals]
        return [
            figures_from(row, failures.get(key, {}), latencies.get(key, {}))
            for row, key in zip(totals, keys, strict=True)
        ]

    def _latency_columns(self) -> str:
        """More aggregate columns of the totals query (none unless the backend has them)."""
        return ""

    def _latencies(
        self, c: Any, query: AnalyticsQuery, totals: list[dict[str, Any]]
    ) -> dict[GroupKey, dict[str, Latency]]:
        raise NotImplementedError


def _key(row: Any, query: AnalyticsQuery) -> GroupKey:
    return tuple(row[d] for d in query.group_by)
