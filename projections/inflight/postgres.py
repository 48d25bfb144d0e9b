"""The `inflight` view in PostgreSQL; several workers share the work with SKIP LOCKED.

Pollers lease due rows (`claim_due`), and dispatchers lease undispatched ones
(`projections.inflight.claims`): a row locked by one worker's claim is skipped by the
others, and one whose lease is still running is not claimable at all.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg.sql import SQL

from projections.inflight.claims import Claim, DispatchClaims
from projections.inflight.store import SQLInflightView
from projections.inflight.view import InflightSQL, seconds

# pg_advisory_xact_lock(key, hashtext(provider)): one capped provider's claims at a time,
# held to the end of the claiming transaction only (no session lock, no leader).
SLOTS_KEY = 0x76696467  # "vidg"
FREE = "(leased_until IS NULL OR leased_until <= %(now)s)"
HOLDS = "(upstream_id IS NOT NULL OR intended OR COALESCE(leased_until, 0) > %(now)s)"


class PostgresInflightView(SQLInflightView, PostgresTrackingRecorder, DispatchClaims):
    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        # provider → the tenant whose job it claimed last (by_tenant claims): a round robin
        # per process (across workers the tenants' turns interleave roughly).
        self._served: dict[str, str] = {}
        name = self.tracking_table_name.removesuffix("_tracking")  # index names stay unqualified
        schema = self.datastore.schema
        self.sql = InflightSQL(
            f'"{schema}"."{name}"',
            "%s",
            "TEXT",
            "DOUBLE PRECISION",
            name,
            f'"{schema}"."{name}_finished"',
        )
        t = self.sql.table
        claims = [  # added to tables made before workers claimed (IF NOT EXISTS: idempotent)
            f"ALTER TABLE {t} ADD COLUMN IF NOT EXISTS intended BOOLEAN NOT NULL DEFAULT FALSE",
            f"ALTER TABLE {t} ADD COLUMN IF NOT EXISTS claimed_by TEXT",
            f"ALTER TABLE {t} ADD COLUMN IF NOT EXISTS leased_until DOUBLE PRECISION",
            f"CREATE INDEX IF NOT EXISTS {name}_claimable ON {t} (provider, submitted_at) "
            "WHERE upstream_id IS NULL",
        ]
        self._scope = f"{schema}:{name}"
        for statement in [*self.sql.ddl, *claims]:
            self.sql_create_statements.append(SQL(statement))  # type: ignore[arg-type]

    def _skip_locked(self) -> str:
        return " FOR UPDATE SKIP LOCKED"

    def mark_intended(self, job_id: UUID, tracking: Tracking) -> None:
        self._tracked(
            tracking, f"UPDATE {self.sql.table} SET intended = TRUE WHERE job_id = ?", job_id.hex
        )

    # dispatch claims

    def claim_dispatch(
        self,
        now: datetime,
        worker: str,
        lease_seconds: float,
        limit: int,
        *,
        caps: Mapping[str, int],
        runs_here: Mapping[str, int],
    ) -> list[Claim]:
        at = seconds(now)
        args = {"now": at, "until": at + lease_seconds, "worker": worker}
        capped = sorted(p for p in caps if p not in runs_here)
        claimed: list[Claim] = []
        with self.datastore.transaction(commit=True) as c:
            besides = [*capped, *runs_here]
            claimed += self._claim(
                c,
                "upstream_id IS NULL AND NOT provider = ANY(%(besides)s)",
                {**args, "besides": besides},
                limit,
            )
            for provider in capped:  # in one order: two claimants never wait on each other
                claimed += self._claim_capped(c, provider, caps[provider], args, limit)
            for provider, room in runs_here.items():
                where, only = "provider = %(provider)s", {**args, "provider": provider}
                claimed += self._claim(c, where, only, min(room, limit), by_tenant=True)
        return claimed

    def _claim_capped(
        self, c: Any, provider: str, cap: int, args: dict[str, Any], limit: int
    ) -> list[Claim]:
        """Intended jobs hold their slot already (reconcile them); others fill free slots.
        The provider's transaction lock makes count-then-claim one step across workers."""
        c.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
            (SLOTS_KEY, f"{self._scope}:{provider}"),
        )
        args = {**args, "provider": provider}
        c.execute(
            f"SELECT COUNT(*) AS n FROM {self.sql.table} WHERE provider = %(provider)s AND {HOLDS}",
            args,
        )
        holding = int(c.fetchone()["n"])
        claimed = self._claim(
            c, "provider = %(provider)s AND upstream_id IS NULL AND intended", args, limit
        )
        room = min(cap - holding, limit)
        if room > 0:
            claimed += self._claim(
                c, "provider = %(provider)s AND upstream_id IS NULL AND NOT intended", args, room
            )
        return claimed

    def _claim(
        self, c: Any, where: str, args: dict[str, Any], limit: int, *, by_tenant: bool = False
    ) -> list[Claim]:
        """First submitted first; `by_tenant`: the tenants take turns (a tenant's n-th
        unfinished job comes after every tenant's (n-1)-th), so one tenant's flood of local
        renders does not keep another's single render waiting behind all of it (as
        `FairSlots` does within a process)."""
        if limit <= 0:
            return []
        t = self.sql.table
        chosen = (
            f"SELECT job_id FROM {t} WHERE {where} AND {FREE} "
            "ORDER BY submitted_at, job_id LIMIT %(limit)s FOR UPDATE SKIP LOCKED"
        )
        if by_tenant:  # a window can't be locked: rank first, then lock (and re-check) those
            # Round robin: within a turn, the tenants after the one served last come first.
            ranked = (
                "SELECT job_id FROM (SELECT job_id, tenant, submitted_at, ROW_NUMBER() OVER "
                f"(PARTITION BY tenant ORDER BY submitted_at, job_id) AS turn FROM {t} "
                f"WHERE {where} AND {FREE}) AS r ORDER BY turn, tenant <= %(served)s, tenant, "
                "submitted_at, job_id LIMIT %(limit)s"
            )
            args = {**args, "served": self._served.get(args.get("provider", ""), "")}
            chosen = (
                f"SELECT job_id FROM {t} WHERE job_id IN ({ranked}) AND {FREE} "
                "FOR UPDATE SKIP LOCKED"
            )
        c.execute(
            f"UPDATE {t} SET claimed_by = %(worker)s, leased_until = %(until)s "
            f"WHERE job_id IN ({chosen}) "
            "RETURNING job_id, tenant, provider, upstream_id, submitted_at",
            {**args, "limit": limit},
        )
        rows = sorted(c.fetchall(), key=lambda r: (r["submitted_at"], r["job_id"]))
        if by_tenant and rows:
            self._served[rows[-1]["provider"]] = max(r["tenant"] for r in rows)
        return [
            Claim(UUID(hex=r["job_id"]), r["provider"], r["upstream_id"] is not None) for r in rows
        ]

    def renew(
        self, job_ids: Collection[UUID], worker: str, now: datetime, lease_seconds: float
    ) -> set[UUID]:
        if not job_ids:
            return set()
        at = seconds(now)
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"UPDATE {self.sql.table} SET leased_until = %s WHERE job_id = ANY(%s) "
                "AND claimed_by = %s RETURNING job_id",
                (at + lease_seconds, [j.hex for j in job_ids], worker),
            )
            return {UUID(hex=r["job_id"]) for r in c.fetchall()}

    def hand_back(self, job_id: UUID, worker: str, to: str, until: datetime) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"UPDATE {self.sql.table} SET claimed_by = %s, leased_until = %s "
                "WHERE job_id = %s AND claimed_by = %s",
                (to, seconds(until), job_id.hex, worker),
            )

    def release(self, job_ids: Collection[UUID], worker: str) -> None:
        if not job_ids:
            return
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"UPDATE {self.sql.table} SET claimed_by = NULL, leased_until = NULL "
                "WHERE job_id = ANY(%s) AND claimed_by = %s",
                ([j.hex for j in job_ids], worker),
            )

    def slot_counts(self, caps: Mapping[str, int], now: datetime) -> dict[str, tuple[int, int]]:
        counts = {provider: (0, 0) for provider in caps}
        if not caps:
            return counts
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT provider, COUNT(*) FILTER (WHERE {HOLDS}) AS holding, "
                f"COUNT(*) FILTER (WHERE NOT {HOLDS}) AS waiting FROM {self.sql.table} "
                "WHERE provider = ANY(%(providers)s) GROUP BY provider",
                {"now": seconds(now), "providers": list(caps)},
            )
            for r in c.fetchall():
                counts[r["provider"]] = (int(r["holding"]), int(r["waiting"]))
        return counts
