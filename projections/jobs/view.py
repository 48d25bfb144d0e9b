"""The `jobs` view: one row per job, for listing and filtering.

One interface, one SQLite and one PostgreSQL implementation (same SQL, different
placeholders and types); every write records its tracking position in the same transaction.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking, TrackingRecorder

COLUMNS = (
    "job_id",
    "tenant",
    "seq",
    "model",
    "provider",
    "status",
    "progress",
    "prompt",
    "seconds",
    "size",
    "created_at",
    "updated_at",
    "finished_at",
    "error_code",
    "error_message",
    "output",
    "upstream_id",
    "deleted",
)
UPDATABLE = frozenset(COLUMNS) - {"job_id", "tenant", "seq", "created_at"}


@dataclass(frozen=True)
class JobRow:
    """A job as the view knows it (timestamps are unix seconds)."""

    job_id: UUID
    tenant: str
    seq: int
    model: str
    provider: str
    status: str
    progress: int
    prompt: str
    seconds: str
    size: str
    created_at: float
    updated_at: float
    finished_at: float | None = None
    error_code: str | None = None
    error_message: str | None = None
    output: dict[str, Any] | None = None
    upstream_id: str | None = None
    deleted: bool = False

    def as_params(self) -> dict[str, Any]:
        values = {c: getattr(self, c) for c in COLUMNS}
        values["job_id"] = self.job_id.hex
        values["output"] = json.dumps(self.output) if self.output is not None else None
        values["deleted"] = int(self.deleted)
        return {column: storable(value) for column, value in values.items()}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> JobRow:
        values = {c: record[c] for c in COLUMNS}
        values["job_id"] = UUID(hex=values["job_id"])
        values["output"] = json.loads(values["output"]) if values["output"] else None
        values["deleted"] = bool(values["deleted"])
        return cls(**values)


@dataclass(frozen=True)
class JobQuery:
    tenant: str
    limit: int = 20
    order: str = "desc"
    after: UUID | None = None
    status: str | None = None
    model: str | None = None
    provider: str | None = None
    created_from: float | None = None  # submitted at or after (unix seconds)
    created_before: float | None = None  # submitted before (unix seconds)


class UnknownCursor(LookupError):
    """The `after` cursor names no job of this tenant."""


class JobsView(TrackingRecorder):
    """Queries and tracked commands of the `jobs` view."""

    @abstractmethod
    def insert_job(self, row: JobRow, tracking: Tracking) -> None: ...

    @abstractmethod
    def update_job(self, job_id: UUID, changes: Mapping[str, Any], tracking: Tracking) -> None:
        """Set columns of a job's row; `output` is merged into what is there."""

    @abstractmethod
    def get_job(self, job_id: UUID) -> JobRow | None: ...

    @abstractmethod
    def list_jobs(self, query: JobQuery) -> tuple[list[JobRow], bool]:
        """A page of the tenant's jobs, newest first by default, and whether more follow."""

    @abstractmethod
    def unfinished_jobs(self, provider: str) -> list[JobRow]:
        """Non-terminal, not deleted jobs routed to `provider`, oldest first."""

    @abstractmethod
    def count_by_state(self) -> dict[tuple[str, str], int]:
        """How many jobs each (provider, status) has, deleted ones included."""


class JobsSQL:
    """The view's SQL with a backend's placeholder (`?` or `%s`) and table name."""

    def __init__(self, table: str, placeholder: str) -> None:
        p, t = placeholder, table
        self.table = t
        self.insert = (
            f"INSERT INTO {t} ({', '.join(COLUMNS)}) VALUES ({', '.join([p] * len(COLUMNS))}) "
            "ON CONFLICT (job_id) DO NOTHING"
        )
        self.select_one = f"SELECT * FROM {t} WHERE job_id = {p}"
        self.select_output = f"SELECT output FROM {t} WHERE job_id = {p}"
        self.select_seq = f"SELECT seq FROM {t} WHERE job_id = {p} AND tenant = {p}"
        self.select_unfinished = (
            f"SELECT * FROM {t} WHERE provider = {p} AND deleted = 0 "
            "AND status IN ('queued', 'in_progress') ORDER BY seq"
        )
        self.placeholder = p

    def update(self, columns: Sequence[str]) -> str:
        unknown = set(columns) - UPDATABLE
        if unknown:
            raise ValueError(f"not view columns: {sorted(unknown)}")
        sets = ", ".join(f"{c} = {self.placeholder}" for c in columns)
        return f"UPDATE {self.table} SET {sets} WHERE job_id = {self.placeholder}"

    def page(self, query: JobQuery, after_seq: int | None) -> tuple[str, list[Any]]:
        p = self.placeholder
        where, params = [f"tenant = {p}", "deleted = 0"], list[Any]([query.tenant])
        for column in ("status", "model", "provider"):
            if getattr(query, column) is not None:
                where.append(f"{column} = {p}")
                params.append(getattr(query, column))
        if query.created_from is not None:
            where.append(f"created_at >= {p}")
            params.append(query.created_from)
        if query.created_before is not None:
            where.append(f"created_at < {p}")
            params.append(query.created_before)
        descending = query.order == "desc"
        if after_seq is not None:
            where.append(f"seq {'<' if descending else '>'} {p}")
            params.append(after_seq)
        direction = "DESC" if descending else "ASC"
        sql = f"SELECT * FROM {self.table} WHERE {' AND '.join(where)} ORDER BY seq {direction}"
        return f"{sql} LIMIT {p}", [*params, query.limit + 1]

    def ddl(self, text_type: str, real_type: str, index_prefix: str) -> list[str]:
        t, i = self.table, index_prefix
        return [
            f"CREATE TABLE IF NOT EXISTS {t} ("
            f"job_id {text_type} PRIMARY KEY, tenant {text_type} NOT NULL, seq BIGINT NOT NULL, "
            f"model {text_type} NOT NULL, provider {text_type} NOT NULL, "
            f"status {text_type} NOT NULL, progress INTEGER NOT NULL, prompt {text_type} NOT NULL, "
            f"seconds {text_type} NOT NULL, size {text_type} NOT NULL, "
            f"created_at {real_type} NOT NULL, updated_at {real_type} NOT NULL, "
            f"finished_at {real_type}, error_code {text_type}, error_message {text_type}, "
            f"output {text_type}, upstream_id {text_type}, deleted INTEGER NOT NULL DEFAULT 0)",
            f"CREATE INDEX IF NOT EXISTS {i}_tenant_seq ON {t} (tenant, seq)",
            f"CREATE INDEX IF NOT EXISTS {i}_unfinished ON {t} (provider, status)",
        ]


def storable(value: Any) -> Any:
    """PostgreSQL text cannot hold NUL; an upstream's message may carry one anyway."""
    return value.replace("\x00", "\ufffd") if isinstance(value, str) else value


def merged_output(current: str | None, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The row's new column values, with `output` merged into the stored one."""
    values = {column: storable(value) for column, value in changes.items()}
    if "output" in values:
        before = json.loads(current) if current else {}
        values["output"] = json.dumps({**before, **(values["output"] or {})})
    return values


class SQLJobsView(JobsView):
    """The view's commands and queries over any backend's `transaction()` and tracking."""

    # Provided by the backend's TrackingRecorder, which follows this class in the MRO.
    sql: JobsSQL
    datastore: Any
    _insert_tracking: Any

    def insert_job(self, row: JobRow, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as c:
            self._insert_tracking(c, tracking)
            c.execute(self.sql.insert, tuple(row.as_params().values()))

    def update_job(self, job_id: UUID, changes: Mapping[str, Any], tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as c:
            self._insert_tracking(c, tracking)
            current = None
            if "output" in changes:
                c.execute(self.sql.select_output, (job_id.hex,))
                found = c.fetchone()
                current = found["output"] if found else None
            values = merged_output(current, changes)
            c.execute(self.sql.update(list(values)), (*values.values(), job_id.hex))

    def get_job(self, job_id: UUID) -> JobRow | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(self.sql.select_one, (job_id.hex,))
            found = c.fetchone()
        return JobRow.from_record(found) if found else None

    def list_jobs(self, query: JobQuery) -> tuple[list[JobRow], bool]:
        with self.datastore.transaction(commit=False) as c:
            after_seq = None
            if query.after is not None:
                c.execute(self.sql.select_seq, (query.after.hex, query.tenant))
                found = c.fetchone()
                if found is None:
                    raise UnknownCursor(query.after)
                after_seq = found["seq"]
            sql, params = self.sql.page(query, after_seq)
            c.execute(sql, tuple(params))
            rows = [JobRow.from_record(r) for r in c.fetchall()]
        return rows[: query.limit], len(rows) > query.limit

    def unfinished_jobs(self, provider: str) -> list[JobRow]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(self.sql.select_unfinished, (provider,))
            return [JobRow.from_record(r) for r in c.fetchall()]

    def count_by_state(self) -> dict[tuple[str, str], int]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT provider, status, COUNT(*) AS n FROM {self.sql.table} "
                "GROUP BY provider, status"
            )
            return {(r["provider"], r["status"]): int(r["n"]) for r in c.fetchall()}
