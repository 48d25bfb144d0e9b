"""Commands and queries of the `inflight` view, over any backend's transactions.

Tracked commands (called by the projection) write their tracking position in the same
transaction. Queue commands (claim, reschedule) and queries are the poller's.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking

from projections.inflight.view import (
    FinishedRow,
    InflightRow,
    InflightSQL,
    InflightView,
    finished_from,
    moment,
    row_from,
    seconds,
)

# Keeps a signal time from moving backwards (clocks of two writers may disagree a little).
LATEST_SIGNAL = (
    "CASE WHEN last_signal_at IS NULL OR last_signal_at < ? THEN ? ELSE last_signal_at END"
)


class SQLInflightView(InflightView):
    # Provided by the backend's TrackingRecorder, which follows this class in the MRO.
    sql: InflightSQL
    datastore: Any
    _insert_tracking: Any

    # tracked: called by the projection, one event per transaction

    def add_submitted(
        self,
        job_id: UUID,
        tenant: str,
        model: str,
        provider: str,
        submitted_at: datetime,
        tracking: Tracking,
    ) -> None:
        self._tracked(
            tracking,
            f"INSERT INTO {self.sql.table} (job_id, tenant, model, provider, submitted_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (job_id) DO NOTHING",
            job_id.hex,
            tenant,
            model,
            provider,
            seconds(submitted_at),
        )

    def mark_dispatched(
        self,
        job_id: UUID,
        provider: str,
        upstream_id: str,
        dispatched_at: datetime,
        next_poll_at: datetime,
        deadline_at: datetime,
        tracking: Tracking,
    ) -> None:
        at = seconds(dispatched_at)
        self._tracked(
            tracking,
            f"UPDATE {self.sql.table} SET provider = ?, upstream_id = ?, dispatched_at = ?, "
            f"last_signal_at = {LATEST_SIGNAL}, next_poll_at = ?, polls = 0, deadline_at = ? "
            "WHERE job_id = ?",
            provider,
            upstream_id,
            at,
            at,
            at,
            seconds(next_poll_at),
            seconds(deadline_at),
            job_id.hex,
        )

    def mark_signal(self, job_id: UUID, at: datetime, tracking: Tracking) -> None:
        when = seconds(at)
        self._tracked(
            tracking,
            f"UPDATE {self.sql.table} SET last_signal_at = {LATEST_SIGNAL} WHERE job_id = ?",
            when,
            when,
            job_id.hex,
        )

    def remove(
        self, job_id: UUID, tracking: Tracking, *, finished_at: datetime | None = None
    ) -> None:
        t, f = self.sql.table, self.sql.finished
        with self.datastore.transaction(commit=True) as c:
            self._insert_tracking(c, tracking)
            if finished_at is not None:
                c.execute(
                    self.sql.q(
                        f"INSERT INTO {f} (job_id, provider, polls, dispatched_at, finished_at) "
                        f"SELECT job_id, provider, polls, dispatched_at, ? FROM {t} "
                        "WHERE job_id = ? AND upstream_id IS NOT NULL "
                        "ON CONFLICT (job_id) DO NOTHING"
                    ),
                    (seconds(finished_at), job_id.hex),
                )
            c.execute(self.sql.q(f"DELETE FROM {t} WHERE job_id = ?"), (job_id.hex,))

    def _tracked(self, tracking: Tracking, sql: str, *params: Any) -> None:
        with self.datastore.transaction(commit=True) as c:
            self._insert_tracking(c, tracking)
            c.execute(self.sql.q(sql), params)

    def take_finished(self, limit: int) -> list[FinishedRow]:
        f = self.sql.finished
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                self.sql.q(
                    f"DELETE FROM {f} WHERE job_id IN (SELECT job_id FROM {f} "
                    f"ORDER BY finished_at LIMIT ?{self._skip_locked()}) RETURNING *"
                ),
                (limit,),
            )
            return [finished_from(r) for r in c.fetchall()]

    # the queue: the poller's

    def claim_due(
        self, now: datetime, limit: int, lease_seconds: float, providers: Collection[str]
    ) -> list[InflightRow]:
        names = tuple(providers)
        if not names or limit <= 0:
            return []
        t, at = self.sql.table, seconds(now)
        # One statement: SQLite takes its write lock before reading (as BEGIN IMMEDIATE
        # would); PostgreSQL locks the chosen rows and skips those another poller holds.
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                self.sql.q(
                    f"UPDATE {t} SET next_poll_at = ? WHERE job_id IN (SELECT job_id FROM {t} "
                    f"WHERE provider IN ({self.sql.marks(names)}) AND upstream_id IS NOT NULL "
                    "AND next_poll_at <= ? ORDER BY next_poll_at, job_id "
                    f"LIMIT ?{self._skip_locked()}) RETURNING *"
                ),
                (at + lease_seconds, *names, at, limit),
            )
            claimed = [row_from(r) for r in c.fetchall()]
        # RETURNING follows no order, and every claimed row now has the same next_poll_at.
        return sorted(claimed, key=lambda row: row.job_id.hex)

    def next_poll_due(self, providers: Collection[str]) -> datetime | None:
        names = tuple(providers)
        if not names:
            return None
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                self.sql.q(
                    f"SELECT MIN(next_poll_at) AS due FROM {self.sql.table} WHERE provider IN "
                    f"({self.sql.marks(names)}) AND upstream_id IS NOT NULL"
                ),
                names,
            )
            row = c.fetchone()
        return moment(row["due"] if row else None)

    def _skip_locked(self) -> str:
        return ""

    def reschedule(self, job_id: UUID, next_poll_at: datetime, *, polled: bool) -> bool:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                self.sql.q(
                    f"UPDATE {self.sql.table} SET next_poll_at = ?, polls = polls + ? "
                    "WHERE job_id = ? RETURNING job_id"
                ),
                (seconds(next_poll_at), int(polled), job_id.hex),
            )
            return bool(c.fetchall())  # SQLite's cursor here has no rowcount

    # queries

    def undispatched(
        self, older_than: datetime, limit: int, *, skip: Collection[str] = ()
    ) -> list[InflightRow]:
        names = tuple(skip)
        besides = f"AND provider NOT IN ({self.sql.marks(names)}) " if names else ""
        return self._rows(
            f"SELECT * FROM {self.sql.table} WHERE upstream_id IS NULL AND submitted_at < ? "
            f"{besides}ORDER BY submitted_at, job_id LIMIT ?",
            seconds(older_than),
            *names,
            limit,
        )

    def stale(
        self, now: datetime, quiet_for: timedelta, limit: int, providers: Collection[str]
    ) -> list[InflightRow]:
        names = tuple(providers)
        if not names:
            return []
        return self._rows(
            f"SELECT * FROM {self.sql.table} WHERE provider IN ({self.sql.marks(names)}) "
            "AND upstream_id IS NOT NULL AND last_signal_at < ? "
            "ORDER BY last_signal_at, job_id LIMIT ?",
            *names,
            seconds(now - quiet_for),
            limit,
        )

    def unfinished(self, provider: str) -> list[InflightRow]:
        return self._rows(
            f"SELECT * FROM {self.sql.table} WHERE provider = ? ORDER BY submitted_at, job_id",
            provider,
        )

    def get(self, job_id: UUID) -> InflightRow | None:
        found = self._rows(f"SELECT * FROM {self.sql.table} WHERE job_id = ?", job_id.hex)
        return found[0] if found else None

    def count_by_provider(self) -> dict[str, int]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT provider, COUNT(*) AS n FROM {self.sql.table} GROUP BY provider")
            return {r["provider"]: int(r["n"]) for r in c.fetchall()}

    def _rows(self, sql: str, *params: Any) -> list[InflightRow]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(self.sql.q(sql), params)
            return [row_from(r) for r in c.fetchall()]
