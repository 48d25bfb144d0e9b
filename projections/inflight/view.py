"""The `inflight` view: unfinished jobs of polled providers — the poller's work list.

The projection adds a row on `Submitted`, fills in the upstream id and the first poll time
on `Dispatched`, notes every `Progressed`, and removes the row when the job ends. The
poller works the rows as a queue: it claims due ones with a lease (pushing `next_poll_at`
past it, so no other poller takes them meanwhile) and reschedules each after its status
call. Times are timezone-aware UTC datetimes here and unix seconds in the tables; callers
always pass the clock in. One SQL text serves SQLite and PostgreSQL.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking, TrackingRecorder


@dataclass(frozen=True)
class InflightRow:
    job_id: UUID
    tenant: str
    model: str
    provider: str
    upstream_id: str | None  # None until dispatched
    submitted_at: datetime
    dispatched_at: datetime | None
    last_signal_at: datetime | None  # the last Progressed by webhook, or dispatched_at
    next_poll_at: datetime | None  # None until dispatched
    polls: int  # status calls made for the current dispatch
    deadline_at: datetime | None


@dataclass(frozen=True)
class FinishedRow:
    job_id: UUID
    provider: str
    polls: int  # status calls the poller made for the job's last dispatch
    dispatched_at: datetime | None
    finished_at: datetime


class InflightView(TrackingRecorder):
    """Tracked commands (the projection's), queue commands and queries (the poller's)."""

    # tracked: called by the projection, one event per transaction

    @abstractmethod
    def add_submitted(
        self,
        job_id: UUID,
        tenant: str,
        model: str,
        provider: str,
        submitted_at: datetime,
        tracking: Tracking,
    ) -> None: ...

    @abstractmethod
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
        """Record the upstream task (again, after a re-dispatch: `polls` restarts at 0).
        A job the view does not hold stays unknown."""

    @abstractmethod
    def mark_signal(self, job_id: UUID, at: datetime, tracking: Tracking) -> None:
        """The job showed signs of life at `at` (never moves `last_signal_at` back)."""

    @abstractmethod
    def remove(
        self, job_id: UUID, tracking: Tracking, *, finished_at: datetime | None = None
    ) -> None:
        """The job left the view; with `finished_at` (it ended) its status-call count is
        kept for `take_finished`."""

    # the queue: the poller's

    @abstractmethod
    def claim_due(
        self, now: datetime, limit: int, lease_seconds: float, providers: Collection[str]
    ) -> list[InflightRow]:
        """Lease up to `limit` dispatched jobs of `providers` whose poll is due, most overdue
        first: their `next_poll_at` becomes `now + lease_seconds` (as the rows returned show),
        so no other poller claims them before the lease runs out."""

    @abstractmethod
    def next_poll_due(self, providers: Collection[str]) -> datetime | None:
        """When the soonest poll of `providers` comes due (a claimed job's: when its lease
        runs out); None while none is scheduled."""

    @abstractmethod
    def reschedule(self, job_id: UUID, next_poll_at: datetime, *, polled: bool) -> bool:
        """Set the next poll (counting one status call if `polled`); False if the job
        has left the view meanwhile."""

    # queries

    @abstractmethod
    def undispatched(
        self, older_than: datetime, limit: int, *, skip: Collection[str] = ()
    ) -> list[InflightRow]:
        """Jobs submitted before `older_than` and never dispatched, oldest first (but none
        of the providers in `skip`)."""

    @abstractmethod
    def stale(
        self, now: datetime, quiet_for: timedelta, limit: int, providers: Collection[str]
    ) -> list[InflightRow]:
        """Dispatched jobs of `providers` with no signal since `now - quiet_for`, quietest
        first."""

    @abstractmethod
    def unfinished(self, provider: str) -> list[InflightRow]:
        """Every unfinished job of `provider`, dispatched or not, first submitted first."""

    @abstractmethod
    def get(self, job_id: UUID) -> InflightRow | None: ...

    @abstractmethod
    def take_finished(self, limit: int) -> list[FinishedRow]:
        """Remove and return up to `limit` ended jobs with their status-call counts (each
        is handed out once, whichever poller asks)."""

    @abstractmethod
    def count_by_provider(self) -> dict[str, int]:
        """How many unfinished jobs each provider has (dispatched or not)."""


class InflightSQL:
    """The table name and DDL per backend; SQL is written with `?` placeholders."""

    def __init__(
        self, table: str, placeholder: str, text: str, real: str, index: str, finished: str
    ) -> None:
        self.table, self.p, self.finished = table, placeholder, finished
        self.ddl = [
            f"CREATE TABLE IF NOT EXISTS {table} (job_id {text} PRIMARY KEY, "
            f"tenant {text} NOT NULL, model {text} NOT NULL, provider {text} NOT NULL, "
            f"upstream_id {text}, submitted_at {real} NOT NULL, dispatched_at {real}, "
            f"last_signal_at {real}, next_poll_at {real}, polls INTEGER NOT NULL DEFAULT 0, "
            f"deadline_at {real})",
            f"CREATE INDEX IF NOT EXISTS {index}_due ON {table} (provider, next_poll_at)",
            f"CREATE INDEX IF NOT EXISTS {index}_signal ON {table} (provider, last_signal_at)",
            f"CREATE INDEX IF NOT EXISTS {index}_submitted ON {table} (submitted_at)",
            # Ended jobs wait here until the poller has counted their status calls.
            f"CREATE TABLE IF NOT EXISTS {finished} (job_id {text} PRIMARY KEY, "
            f"provider {text} NOT NULL, polls INTEGER NOT NULL, dispatched_at {real}, "
            f"finished_at {real} NOT NULL)",
        ]

    def q(self, sql: str) -> str:
        """SQL written with `?` placeholders, in this backend's style."""
        return sql.replace("?", self.p)

    def marks(self, values: Collection[Any]) -> str:
        return ", ".join("?" for _ in values)


def seconds(at: datetime) -> float:
    """A datetime as stored: unix seconds (naive datetimes would silently mean local time)."""
    if at.tzinfo is None:
        raise ValueError(f"{at!r} is naive: pass timezone-aware UTC datetimes")
    return at.timestamp()


def moment(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def row_from(record: Mapping[str, Any]) -> InflightRow:
    submitted_at = moment(record["submitted_at"])
    assert submitted_at is not None  # NOT NULL column
    return InflightRow(
        job_id=UUID(hex=record["job_id"]),
        tenant=record["tenant"],
        model=record["model"],
        provider=record["provider"],
        upstream_id=record["upstream_id"],
        submitted_at=submitted_at,
        dispatched_at=moment(record["dispatched_at"]),
        last_signal_at=moment(record["last_signal_at"]),
        next_poll_at=moment(record["next_poll_at"]),
        polls=record["polls"],
        deadline_at=moment(record["deadline_at"]),
    )


def finished_from(record: Mapping[str, Any]) -> FinishedRow:
    finished_at = moment(record["finished_at"])
    assert finished_at is not None  # NOT NULL column
    return FinishedRow(
        job_id=UUID(hex=record["job_id"]),
        provider=record["provider"],
        polls=record["polls"],
        dispatched_at=moment(record["dispatched_at"]),
        finished_at=finished_at,
    )
