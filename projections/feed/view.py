"""The `feed` view: every job event and ledger entry with its tenant, in log order — the
tenant event feed.

The event table has no tenant column, and only `Submitted` (and an account's `Opened`)
carries the tenant, so the view keeps a small owner → tenant table of its own (named for
jobs, which fill most of it; accounts are there too): a later event finds its tenant there,
inside the same transaction that appends it and records the tracking position.

Rows are appended by one projection in position order, each in its own transaction that
first takes the tracking row, so they become visible in position order: a reader paging by
`position > after` never skips a row that appears later. One SQL text serves SQLite and
PostgreSQL (written with `?`; PostgreSQL's `%s` is substituted).
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking, TrackingRecorder

from events.ids import video_id


@dataclass(frozen=True)
class FeedEvent:
    """One event as the view stores it; `item` is its `history_item` (a job's event) or
    `ledger_item` (a ledger entry) rendering."""

    position: int  # the notification id in the application sequence
    job_id: UUID  # the job, whose tenant the row takes (a grant: the tenant's account)
    type: str
    version: int
    occurred_at: float  # unix seconds
    item: dict[str, Any]


@dataclass(frozen=True)
class FeedEntry(FeedEvent):
    tenant: str

    def public_item(self) -> dict[str, Any]:
        """The event as the feed API shows it: the item, its position and video (a ledger
        entry names its own: null for a grant)."""
        head = {"object": self.item["object"], "position": self.position}
        if "video_id" in self.item:
            return {**head, **self.item}
        return {**head, "video_id": video_id(self.job_id), **self.item}


@dataclass(frozen=True)
class FeedQuery:
    tenant: str | None  # None: every tenant (exports)
    after: int = 0  # positions after this one
    limit: int = 100
    types: tuple[str, ...] = ()  # empty: every type
    since: float | None = None  # occurred at or after (unix seconds)
    until: int | None = None  # positions up to this one (a stable end for exports)


class FeedView(TrackingRecorder):
    """The projection's tracked command and the feed's queries."""

    @abstractmethod
    def record(self, event: FeedEvent, tracking: Tracking, *, tenant: str | None = None) -> None:
        """Append a job's event. `tenant` comes with the job's first event; later events
        take the one recorded then. An event of a job the view never saw is left out (its
        position is tracked all the same)."""

    @abstractmethod
    def remember(self, owner: UUID, tenant: str, tracking: Tracking) -> None:
        """Record whose `owner` (an account) is, for its later entries; no row is added."""

    @abstractmethod
    def page(self, query: FeedQuery) -> tuple[list[FeedEntry], bool]:
        """Up to `query.limit` entries after `query.after`, oldest first, and whether more
        follow."""

    @abstractmethod
    def count(self, query: FeedQuery) -> int:
        """How many entries `query` matches in all (ignoring its limit)."""


class FeedSQL:
    """The tables and statements, for a backend's placeholder and column types."""

    def __init__(
        self, table: str, jobs: str, placeholder: str, types: tuple[str, str, str]
    ) -> None:
        """`types`: the backend's column types for positions, text and seconds."""
        self.table, self.jobs, self.p, self.types = table, jobs, placeholder, types
        self.remember_job = self.q(
            f"INSERT INTO {jobs} (job_id, tenant) VALUES (?, ?) ON CONFLICT (job_id) DO NOTHING"
        )
        # The tenant comes from the view's own job table: no row there, nothing appended.
        self.append = self.q(
            f"INSERT INTO {table} (position, tenant, job_id, type, version, occurred_at, item) "
            f"SELECT ?, tenant, job_id, ?, ?, ?, ? FROM {jobs} WHERE job_id = ?"
        )

    def ddl(self, index: str) -> list[str]:
        t, (position, text, real) = self.table, self.types
        return [
            f"CREATE TABLE IF NOT EXISTS {self.jobs} "
            f"(job_id {text} PRIMARY KEY, tenant {text} NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {t} (position {position} PRIMARY KEY, "
            f"tenant {text} NOT NULL, job_id {text} NOT NULL, type {text} NOT NULL, "
            f"version INTEGER NOT NULL, occurred_at {real} NOT NULL, item {text} NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {index}_tenant ON {t} (tenant, position)",
            f"CREATE INDEX IF NOT EXISTS {index}_tenant_type ON {t} (tenant, type, position)",
        ]

    def q(self, sql: str) -> str:
        return sql.replace("?", self.p)

    def where(self, query: FeedQuery) -> tuple[str, list[Any]]:
        clauses, params = ["position > ?"], list[Any]([query.after])
        if query.tenant is not None:
            clauses.append("tenant = ?")
            params.append(query.tenant)
        if query.types:
            clauses.append(f"type IN ({', '.join('?' for _ in query.types)})")
            params.extend(query.types)
        if query.since is not None:
            clauses.append("occurred_at >= ?")
            params.append(query.since)
        if query.until is not None:
            clauses.append("position <= ?")
            params.append(query.until)
        return self.q(" AND ".join(clauses)), params

    def page(self, query: FeedQuery) -> tuple[str, list[Any]]:
        where, params = self.where(query)
        sql = f"SELECT * FROM {self.table} WHERE {where} ORDER BY position LIMIT {self.p}"
        return sql, [*params, query.limit + 1]

    def count(self, query: FeedQuery) -> tuple[str, list[Any]]:
        where, params = self.where(query)
        return f"SELECT COUNT(*) AS n FROM {self.table} WHERE {where}", params


def entry_from(record: Mapping[str, Any]) -> FeedEntry:
    return FeedEntry(
        position=int(record["position"]),
        job_id=UUID(hex=record["job_id"]),
        type=record["type"],
        version=int(record["version"]),
        occurred_at=float(record["occurred_at"]),
        item=json.loads(record["item"]),
        tenant=record["tenant"],
    )


class SQLFeedView(FeedView):
    """The view over any backend's `transaction()` and tracking."""

    # Provided by the backend's TrackingRecorder, which follows this class in the MRO.
    sql: FeedSQL
    datastore: Any
    _insert_tracking: Any

    def record(self, event: FeedEvent, tracking: Tracking, *, tenant: str | None = None) -> None:
        with self.datastore.transaction(commit=True) as c:
            self._insert_tracking(c, tracking)  # first: the tracking row orders the writers
            if tenant is not None:
                c.execute(self.sql.remember_job, (event.job_id.hex, tenant))
            item = json.dumps(event.item, separators=(",", ":"))
            values = (event.type, event.version, event.occurred_at, item, event.job_id.hex)
            c.execute(self.sql.append, (event.position, *values))

    def remember(self, owner: UUID, tenant: str, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as c:
            self._insert_tracking(c, tracking)
            c.execute(self.sql.remember_job, (owner.hex, tenant))

    def page(self, query: FeedQuery) -> tuple[list[FeedEntry], bool]:
        sql, params = self.sql.page(query)
        with self.datastore.transaction(commit=False) as c:
            c.execute(sql, tuple(params))
            entries = [entry_from(record) for record in c.fetchall()]
        return entries[: query.limit], len(entries) > query.limit

    def count(self, query: FeedQuery) -> int:
        sql, params = self.sql.count(query)
        with self.datastore.transaction(commit=False) as c:
            c.execute(sql, tuple(params))
            found = c.fetchone()
        return int(found["n"]) if found else 0
