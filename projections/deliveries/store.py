"""Commands and queries of the `deliveries` view, over any backend's transactions.

Tracked commands (called by the projection) write their tracking position in the same
transaction. Queue commands (claim, finish, requeue) are the sender's and the API's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from eventsourcing.persistence import Tracking, TrackingRecorder

from projections.deliveries.view import (
    ABANDONED,
    FAILED,
    PENDING,
    AttemptRow,
    DeliveriesSQL,
    DeliveryRow,
    EndpointRow,
    Outcome,
    Target,
    attempt_from,
    delivery_from,
    endpoint_from,
)

# build(target, tenant, progress) → the delivery row to insert
NewDelivery = Callable[[Target, str, int], Mapping[str, Any]]


class SQLDeliveriesView(TrackingRecorder):
    # Provided by the backend's TrackingRecorder, which follows this class in the MRO.
    sql: DeliveriesSQL
    datastore: Any
    _insert_tracking: Any

    # tracked: called by the projection, one event per transaction

    def put_endpoint(self, row: EndpointRow, tracking: Tracking) -> None:
        q, t = self.sql.q, self.sql.endpoints
        with self.datastore.transaction(commit=True) as c:
            self._insert_tracking(c, tracking)
            c.execute(q(f"DELETE FROM {t} WHERE endpoint_id = ?"), (row.endpoint_id,))
            c.execute(
                q(
                    f"INSERT INTO {t} (endpoint_id, tenant, url, events, enabled, generation, "
                    "previous_generation, previous_expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                (
                    row.endpoint_id,
                    row.tenant,
                    row.url,
                    json.dumps(row.events),
                    int(row.enabled),
                    row.generation,
                    row.previous_generation,
                    row.previous_expires_at,
                ),
            )

    def change_endpoint(
        self, endpoint_id: str, changes: Mapping[str, Any], tracking: Tracking
    ) -> None:
        """Set endpoint columns; disabling or deleting abandons its waiting deliveries."""
        values = {k: json.dumps(v) if k == "events" else v for k, v in changes.items()}
        sets = ", ".join(f"{column} = ?" for column in values)
        q = self.sql.q
        with self.datastore.transaction(commit=True) as c:
            self._insert_tracking(c, tracking)
            c.execute(
                q(f"UPDATE {self.sql.endpoints} SET {sets} WHERE endpoint_id = ?"),
                (*values.values(), endpoint_id),
            )
            if changes.get("enabled") == 0 or changes.get("deleted") == 1:
                c.execute(
                    q(
                        f"UPDATE {self.sql.deliveries} SET status = ?, last_error = ? WHERE "
                        "endpoint_id = ? AND status = ? AND lease_token IS NULL"
                    ),
                    (ABANDONED, "endpoint disabled", endpoint_id, PENDING),
                )

    def add_job(
        self, job_id: str, tenant: str, hook: Mapping[str, Any] | None, tracking: Tracking
    ) -> None:
        q = self.sql.q
        url, events = (hook["url"], json.dumps(hook["events"])) if hook else (None, None)
        with self.datastore.transaction(commit=True) as c:
            self._insert_tracking(c, tracking)
            c.execute(
                q(
                    f"INSERT INTO {self.sql.jobs} (job_id, tenant, url, events) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (job_id) DO NOTHING"
                ),
                (job_id, tenant, url, events),
            )

    def fan_out(
        self,
        job_id: str,
        event_type: str,
        progress: int | None,
        build: NewDelivery,
        tracking: Tracking,
    ) -> int:
        """Queue one delivery per subscribed target; newer news supersedes waiting progress."""
        q = self.sql.q
        with self.datastore.transaction(commit=True) as c:
            self._insert_tracking(c, tracking)
            c.execute(q(f"SELECT * FROM {self.sql.jobs} WHERE job_id = ?"), (job_id,))
            job = c.fetchone()
            if job is None:
                return 0
            if progress is not None:
                c.execute(
                    q(f"UPDATE {self.sql.jobs} SET progress = ? WHERE job_id = ?"),
                    (progress, job_id),
                )
            targets = self._targets(c, job, event_type)
            known = job["progress"] if progress is None else progress
            for target in targets:
                self._supersede_progress(c, job_id, target)
                self._insert_delivery(c, build(target, job["tenant"], known))
        return len(targets)

    def job_progress(self, job_id: str) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                self.sql.q(f"SELECT progress FROM {self.sql.jobs} WHERE job_id = ?"), (job_id,)
            )
            found = c.fetchone()
        return int(found["progress"]) if found else 0

    def _targets(self, c: Any, job: Mapping[str, Any], event_type: str) -> list[Target]:
        targets = []
        if job["url"] and event_type in json.loads(job["events"]):
            targets.append(Target(job["url"], None))
        c.execute(
            self.sql.q(
                f"SELECT * FROM {self.sql.endpoints} WHERE tenant = ? AND enabled = 1 "
                "AND deleted = 0 ORDER BY endpoint_id"
            ),
            (job["tenant"],),
        )
        for row in map(endpoint_from, c.fetchall()):
            if event_type in row.events:
                targets.append(Target(row.url, row.endpoint_id))
        return targets

    def _supersede_progress(self, c: Any, job_id: str, target: Target) -> None:
        # Only the latest progress matters; one already on the wire (leased) is left alone.
        c.execute(
            self.sql.q(
                f"UPDATE {self.sql.deliveries} SET status = ?, last_error = ? WHERE "
                "job_id = ? AND url = ? AND event_type = ? AND status = ? AND "
                "lease_token IS NULL"
            ),
            (ABANDONED, "superseded", job_id, target.url, "progress", PENDING),
        )

    def _insert_delivery(self, c: Any, row: Mapping[str, Any]) -> None:
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        c.execute(
            self.sql.q(
                f"INSERT INTO {self.sql.deliveries} ({columns}) VALUES ({marks}) "
                "ON CONFLICT (delivery_id) DO NOTHING"
            ),
            tuple(row.values()),
        )

    # the queue: the sender's and the API's

    def claim(self, now: float, lease_seconds: float, limit: int, token: str) -> list[DeliveryRow]:
        """Lease up to `limit` due deliveries to `token`, oldest due first; expired leases
        are due again."""
        d, lock = self.sql.deliveries, self._skip_locked()
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                self.sql.q(
                    f"UPDATE {d} SET lease_until = ?, lease_token = ? WHERE delivery_id IN "
                    f"(SELECT delivery_id FROM {d} WHERE status = ? AND next_attempt_at <= ? "
                    "AND (lease_until IS NULL OR lease_until < ?) ORDER BY next_attempt_at "
                    f"LIMIT ?{lock}) RETURNING *"
                ),
                (now + lease_seconds, token, PENDING, now, now, limit),
            )
            claimed = [delivery_from(r) for r in c.fetchall()]
        # RETURNING follows no order: hand them out oldest due first.
        return sorted(claimed, key=lambda row: (row.next_attempt_at, row.delivery_id))

    def next_attempt_due(self) -> float | None:
        """When the soonest pending delivery may be claimed (unix seconds: its next attempt,
        or when its lease runs out); None while none is pending."""
        d = self.sql.deliveries
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                self.sql.q(
                    "SELECT MIN(CASE WHEN lease_until IS NOT NULL AND lease_until > "
                    f"next_attempt_at THEN lease_until ELSE next_attempt_at END) AS due FROM {d} "
                    "WHERE status = ?"
                ),
                (PENDING,),
            )
            row = c.fetchone()
        return None if row is None or row["due"] is None else float(row["due"])

    def _skip_locked(self) -> str:
        return ""

    def finish(
        self, delivery: DeliveryRow, token: str, attempt: AttemptRow, outcome: Outcome
    ) -> float | None:
        """Record an attempt and its outcome; returns since when the endpoint has been failing."""
        q = self.sql.q
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                q(f"INSERT INTO {self.sql.attempts} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                (
                    attempt.attempt_id,
                    attempt.delivery_id,
                    attempt.msg_id,
                    attempt.attempted_at,
                    attempt.status_code,
                    attempt.latency_ms,
                    attempt.response,
                    attempt.error,
                    attempt.trigger,
                ),
            )
            c.execute(
                q(
                    f"UPDATE {self.sql.deliveries} SET status = ?, attempts = attempts + 1, "
                    "next_attempt_at = ?, lease_until = NULL, lease_token = NULL, manual = 0, "
                    "last_status_code = ?, last_error = ?, updated_at = ? "
                    "WHERE delivery_id = ? AND lease_token = ?"
                ),
                (
                    outcome.status,
                    outcome.next_attempt_at,
                    outcome.status_code,
                    outcome.error,
                    attempt.attempted_at,
                    delivery.delivery_id,
                    token,
                ),
            )
            if outcome.status == PENDING and delivery.endpoint_id is not None:
                # Disabled while this attempt was on the wire: no further retries.
                c.execute(
                    q(
                        f"UPDATE {self.sql.deliveries} SET status = ?, last_error = ? WHERE "
                        "delivery_id = ? AND status = ? AND lease_token IS NULL AND endpoint_id "
                        f"IN (SELECT endpoint_id FROM {self.sql.endpoints} WHERE enabled = 0)"
                    ),
                    (ABANDONED, "endpoint disabled", delivery.delivery_id, PENDING),
                )
            return self._track_failing(c, delivery.endpoint_id, outcome, attempt.attempted_at)

    def _track_failing(
        self, c: Any, endpoint_id: str | None, outcome: Outcome, now: float
    ) -> float | None:
        if endpoint_id is None:
            return None
        failing = outcome.status not in ("succeeded",)
        value = "COALESCE(failing_since, ?)" if failing else "NULL"
        params: tuple[Any, ...] = (now, endpoint_id) if failing else (endpoint_id,)
        q, t = self.sql.q, self.sql.endpoints
        c.execute(q(f"UPDATE {t} SET failing_since = {value} WHERE endpoint_id = ?"), params)
        c.execute(q(f"SELECT failing_since FROM {t} WHERE endpoint_id = ?"), (endpoint_id,))
        found = c.fetchone()
        return found["failing_since"] if found else None

    def redeliver(self, delivery_id: str, now: float) -> bool:
        """Send once more now (a manual retry is single-shot; one still waiting for a
        scheduled retry is only brought forward, and keeps the rest of its schedule)."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                self.sql.q(
                    f"UPDATE {self.sql.deliveries} SET status = ?, "
                    "manual = CASE WHEN status = ? THEN manual ELSE 1 END, "
                    "next_attempt_at = ?, updated_at = ? WHERE delivery_id = ? "
                    "AND lease_token IS NULL RETURNING delivery_id"
                ),
                (PENDING, PENDING, now, now, delivery_id),
            )
            return bool(c.fetchall())  # SQLite's cursor here has no rowcount

    def recover(self, endpoint_id: str, since: float, until: float, now: float) -> int:
        """Queue again every failed or abandoned (not superseded) delivery in the window."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                self.sql.q(
                    f"UPDATE {self.sql.deliveries} SET status = ?, manual = 1, "
                    "next_attempt_at = ?, updated_at = ? WHERE endpoint_id = ? AND "
                    "status IN (?, ?) AND COALESCE(last_error, '') != 'superseded' AND "
                    "created_at >= ? AND created_at < ? RETURNING delivery_id"
                ),
                (PENDING, now, now, endpoint_id, FAILED, ABANDONED, since, until),
            )
            return len(c.fetchall())

    def get_endpoint(self, endpoint_id: str) -> EndpointRow | None:
        found = self._one(f"SELECT * FROM {self.sql.endpoints} WHERE endpoint_id = ?", endpoint_id)
        return endpoint_from(found) if found else None

    def endpoints_of(self, tenant: str) -> list[EndpointRow]:
        sql = f"SELECT * FROM {self.sql.endpoints} WHERE tenant = ? AND deleted = 0"
        sql += " ORDER BY endpoint_id"
        return [endpoint_from(r) for r in self._all(sql, tenant)]

    def get_delivery(self, delivery_id: str) -> DeliveryRow | None:
        found = self._one(f"SELECT * FROM {self.sql.deliveries} WHERE delivery_id = ?", delivery_id)
        return delivery_from(found) if found else None

    def deliveries_of_job(self, job_id: str) -> list[DeliveryRow]:
        sql = f"SELECT * FROM {self.sql.deliveries} WHERE job_id = ? ORDER BY sequence, delivery_id"
        return [delivery_from(r) for r in self._all(sql, job_id)]

    def deliveries_of_endpoint(self, endpoint_id: str, limit: int) -> list[DeliveryRow]:
        sql = (
            f"SELECT * FROM {self.sql.deliveries} WHERE endpoint_id = ? "
            "ORDER BY created_at DESC, delivery_id LIMIT ?"
        )
        return [delivery_from(r) for r in self._all(sql, endpoint_id, limit)]

    def attempts_of(self, delivery_ids: Sequence[str]) -> list[AttemptRow]:
        if not delivery_ids:
            return []
        marks = ", ".join("?" for _ in delivery_ids)
        sql = (
            f"SELECT * FROM {self.sql.attempts} WHERE delivery_id IN ({marks}) "
            "ORDER BY attempted_at, attempt_id"
        )
        return [attempt_from(r) for r in self._all(sql, *delivery_ids)]

    def _one(self, sql: str, *params: Any) -> Any:
        with self.datastore.transaction(commit=False) as c:
            c.execute(self.sql.q(sql), params)
            return c.fetchone()

    def _all(self, sql: str, *params: Any) -> list[Any]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(self.sql.q(sql), params)
            return list(c.fetchall())
