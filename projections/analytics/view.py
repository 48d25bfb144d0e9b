"""The `analytics` view: per tenant, model, provider and day, what happened to the jobs.

One table, one row per job: its group (tenant, the UTC day of its submission, model,
provider), its times (submitted, first dispatched, finished), its outcome (and failure
code), what it was asked for and cost, and how many of its state changes came by webhook,
by poll or otherwise, and, for a job its tenant's ledger charged, what was reserved and what
was settled (micro-dollars, from `CreditsReserved` and `CreditsSettled`: the ledger's own
figures, not list prices). Every figure of the API is aggregated from these rows at query
time. A settlement names its job, whose row holds the day, model and provider, so the
ledger's events need carry no more than they do.

Why not per-day counters next to the per-job rows: the latency percentiles need every
job's timings anyway, so a query reads the rows of its range whatever else is stored, and
counting them in the same pass costs next to nothing. Keeping only per-job rows means the
projection never reads before it writes (a later event of a job updates its row in SQL:
`COALESCE` keeps the first dispatch and the one terminal outcome, signal counts add up),
so a batch of thousands of events is two `executemany` calls and a tracking update.

Percentiles follow PostgreSQL's `percentile_cont` (linear interpolation between the two
nearest ranks): computed by the database on PostgreSQL, in Python over the same rows on
SQLite (which has no such aggregate), so both stores give the same numbers.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import Tracking, TrackingRecorder

from events.account import MICROS

DIMENSIONS = ("day", "model", "provider")  # what figures can be grouped by, in this order
PERCENTILES = (0.5, 0.9, 0.99)
LATENCIES = ("submit_to_dispatch", "dispatch_to_complete", "submit_to_complete")
SOURCES = ("webhook", "poll")  # any other source (local, dispatcher …) counts as "other"


@dataclass(slots=True)
class JobFacts:
    """What one batch of events says about one job (unix seconds; None: not in the batch).

    `new` jobs had their `Submitted` in the batch and are inserted; the others update
    the row an earlier batch inserted.
    """

    job_id: str
    new: bool = False
    tenant: str = ""
    day: str = ""
    model: str = ""
    provider: str = ""
    submitted_at: float = 0.0
    requested_seconds: float | None = None
    cost_estimate: float | None = None
    dispatched_at: float | None = None
    finished_at: float | None = None
    outcome: str | None = None
    failure_code: str | None = None
    output_duration: float | None = None
    cost_reported: float | None = None
    webhook_signals: int = 0
    poll_signals: int = 0
    other_signals: int = 0
    reserved: int | None = None  # micro-dollars held at submit (None: not charged)
    settled: int | None = None  # micro-dollars spent when it ended (None: not settled)


@dataclass(frozen=True)
class AnalyticsQuery:
    """A tenant's figures, grouped by `group_by` (a subset of DIMENSIONS, in that order),
    for jobs submitted on days `since` … `until` (ISO dates, inclusive)."""

    tenant: str
    group_by: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None
    model: str | None = None
    provider: str | None = None

    def __post_init__(self) -> None:
        if tuple(d for d in DIMENSIONS if d in self.group_by) != tuple(self.group_by):
            raise ValueError(f"group_by must be an ordered subset of {DIMENSIONS}")


@dataclass(frozen=True)
class Latency:
    """Seconds between two moments of the jobs that have both (`count` of them)."""

    count: int
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None


@dataclass(frozen=True)
class Figures:
    """One group's figures; `key` holds the group's value per grouped dimension."""

    key: dict[str, str]
    submitted: int = 0
    completed: int = 0
    failed: int = 0
    canceled: int = 0
    failures: dict[str, int] = field(default_factory=dict)  # failure code → jobs
    output_seconds: float = 0.0  # completed jobs: output duration, else requested seconds
    estimated_cost: float = 0.0  # every submitted job's estimate
    cost: float = 0.0  # completed jobs: the upstream's cost when reported, else the estimate
    signals: dict[str, int] = field(default_factory=dict)  # webhook / poll / other
    latency: dict[str, Latency] = field(default_factory=dict)  # see LATENCIES
    spent: float | None = None  # settled dollars; None when no job of the group was charged


class AnalyticsView(TrackingRecorder):
    """The projection's one tracked command, and the API's query."""

    @abstractmethod
    def record(self, jobs: Sequence[JobFacts], tracking: Tracking, *, after: int | None) -> None:
        """Write a batch of job facts and its tracking position in one transaction.

        With `after`, the view's position must still be `after` (0: none yet), else
        nothing is written and `IntegrityError` is raised: a batch overlapping one another
        runner already recorded can never be applied twice. Without it, the usual rule:
        the position must move forward.
        """

    @abstractmethod
    def figures(self, query: AnalyticsQuery) -> list[Figures]:
        """The groups' figures, ordered by their key; ungrouped: exactly one (maybe zeros)."""


class AnalyticsSQL:
    """The view's SQL, written with `?` placeholders, for a backend's table names."""

    def __init__(self, jobs: str, tracking: str, placeholder: str, text: str, real: str) -> None:
        self.jobs, self.tracking, self.p = jobs, tracking, placeholder
        self.ddl = [
            f"CREATE TABLE IF NOT EXISTS {jobs} (job_id {text} PRIMARY KEY, "
            f"tenant {text} NOT NULL, day {text} NOT NULL, model {text} NOT NULL, "
            f"provider {text} NOT NULL, submitted_at {real} NOT NULL, "
            f"requested_seconds {real}, cost_estimate {real}, dispatched_at {real}, "
            f"finished_at {real}, outcome {text}, failure_code {text}, "
            f"output_duration {real}, cost_reported {real}, "
            "webhook_signals INTEGER NOT NULL, poll_signals INTEGER NOT NULL, "
            "other_signals INTEGER NOT NULL, reserved BIGINT, settled BIGINT)",
        ]
        self.insert = self.q(
            f"INSERT INTO {jobs} ({', '.join(INSERTED)}) VALUES ({', '.join('?' * len(INSERTED))})"
            " ON CONFLICT (job_id) DO NOTHING"
        )
        # The first dispatch counts; a job ends once (terminal states absorb the rest).
        self.update = self.q(
            f"UPDATE {jobs} SET dispatched_at = COALESCE(dispatched_at, ?), "
            "finished_at = COALESCE(finished_at, ?), outcome = COALESCE(outcome, ?), "
            "failure_code = COALESCE(failure_code, ?), "
            "output_duration = COALESCE(output_duration, ?), "
            "cost_reported = COALESCE(cost_reported, ?), "
            "webhook_signals = webhook_signals + ?, poll_signals = poll_signals + ?, "
            "other_signals = other_signals + ?, reserved = COALESCE(reserved, ?), "
            "settled = COALESCE(settled, ?) WHERE job_id = ?"
        )
        self.move_tracking = self.q(
            f"UPDATE {tracking} SET notification_id = ? "
            "WHERE application_name = ? AND notification_id = ? RETURNING notification_id"
        )
        self.first_tracking = self.q(
            f"INSERT INTO {tracking} (application_name, notification_id) VALUES (?, ?)"
        )

    def index_ddl(self, index_prefix: str) -> str:
        return f"CREATE INDEX IF NOT EXISTS {index_prefix}_tenant_day ON {self.jobs} (tenant, day)"

    def q(self, sql: str) -> str:
        return sql.replace("?", self.p)

    def where(self, query: AnalyticsQuery) -> tuple[str, list[Any]]:
        clauses, params = ["tenant = ?"], list[Any]([query.tenant])
        for clause, value in (
            ("day >= ?", query.since),
            ("day <= ?", query.until),
            ("model = ?", query.model),
            ("provider = ?", query.provider),
        ):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        return " AND ".join(clauses), params

    def totals(self, query: AnalyticsQuery, extra: str = "") -> tuple[str, list[Any]]:
        """Counts and sums per group (`extra`: more aggregate columns, backend-specific)."""
        where, params = self.where(query)
        keys = "".join(f"{d}, " for d in query.group_by)
        sql = (
            f"SELECT {keys}COUNT(*) AS submitted, {_count('completed')} AS completed, "
            f"{_count('failed')} AS failed, {_count('canceled')} AS canceled, "
            f"SUM({_if_completed('COALESCE(output_duration, requested_seconds, 0)')}) "
            "AS output_seconds, SUM(COALESCE(cost_estimate, 0)) AS estimated_cost, "
            f"SUM({_if_completed('COALESCE(cost_reported, cost_estimate, 0)')}) AS cost, "
            "SUM(webhook_signals) AS webhook, SUM(poll_signals) AS poll, "
            "SUM(other_signals) AS other, COUNT(reserved) AS charged, SUM(settled) AS settled"
            f"{extra} FROM {self.jobs} WHERE {where}"
        )
        if query.group_by:  # ordered in Python: collations differ between the backends
            sql += f" GROUP BY {', '.join(query.group_by)}"
        return self.q(sql), params

    def failures(self, query: AnalyticsQuery) -> tuple[str, list[Any]]:
        where, params = self.where(query)
        columns = ", ".join([*query.group_by, "failure_code"])
        sql = (
            f"SELECT {columns}, COUNT(*) AS n FROM {self.jobs} "
            f"WHERE {where} AND outcome = 'failed' GROUP BY {columns}"
        )
        return self.q(sql), params


INSERTED = (
    "job_id",
    "tenant",
    "day",
    "model",
    "provider",
    "submitted_at",
    "requested_seconds",
    "cost_estimate",
    "dispatched_at",
    "finished_at",
    "outcome",
    "failure_code",
    "output_duration",
    "cost_reported",
    "webhook_signals",
    "poll_signals",
    "other_signals",
    "reserved",
    "settled",
)
LEDGER_COLUMNS = (("reserved", "BIGINT"), ("settled", "BIGINT"))  # added after the others

# The three latencies as SQL over a row (NULL where the job lacks one of the two moments).
LATENCY_SQL = {
    "submit_to_dispatch": "dispatched_at - submitted_at",
    "dispatch_to_complete": "CASE WHEN outcome = 'completed' THEN finished_at - dispatched_at END",
    "submit_to_complete": "CASE WHEN outcome = 'completed' THEN finished_at - submitted_at END",
}


def _count(outcome: str) -> str:
    return f"SUM(CASE WHEN outcome = '{outcome}' THEN 1 ELSE 0 END)"


def _if_completed(value: str) -> str:
    return f"CASE WHEN outcome = 'completed' THEN {value} ELSE 0 END"


def insert_params(job: JobFacts) -> tuple[Any, ...]:
    return (
        job.job_id,
        job.tenant,
        job.day,
        job.model,
        job.provider,
        job.submitted_at,
        job.requested_seconds,
        job.cost_estimate,
        job.dispatched_at,
        job.finished_at,
        job.outcome,
        job.failure_code,
        job.output_duration,
        job.cost_reported,
        job.webhook_signals,
        job.poll_signals,
        job.other_signals,
        job.reserved,
        job.settled,
    )


def update_params(job: JobFacts) -> tuple[Any, ...]:
    return (
        job.dispatched_at,
        job.finished_at,
        job.outcome,
        job.failure_code,
        job.output_duration,
        job.cost_reported,
        job.webhook_signals,
        job.poll_signals,
        job.other_signals,
        job.reserved,
        job.settled,
        job.job_id,
    )


def percentile_cont(ordered: Sequence[float], fraction: float) -> float:
    """PostgreSQL's `percentile_cont` over values sorted ascending (not empty)."""
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_of(values: Iterable[float]) -> Latency:
    ordered = sorted(values)
    if not ordered:
        return Latency(count=0)
    p50, p90, p99 = (percentile_cont(ordered, f) for f in PERCENTILES)
    return Latency(count=len(ordered), p50=p50, p90=p90, p99=p99)


def figures_from(
    totals: Mapping[str, Any], failures: Mapping[str, int], latency: Mapping[str, Latency]
) -> Figures:
    """A group's figures from its totals row (and its failures and latencies)."""
    return Figures(
        key={d: totals[d] for d in DIMENSIONS if d in totals},
        submitted=int(totals["submitted"] or 0),
        completed=int(totals["completed"] or 0),
        failed=int(totals["failed"] or 0),
        canceled=int(totals["canceled"] or 0),
        failures=dict(sorted(failures.items())),
        output_seconds=float(totals["output_seconds"] or 0),
        estimated_cost=float(totals["estimated_cost"] or 0),
        cost=float(totals["cost"] or 0),
        signals={s: int(totals[s] or 0) for s in (*SOURCES, "other")},
        latency={name: latency.get(name, Latency(count=0)) for name in LATENCIES},
        spent=int(totals["settled"] or 0) / MICROS if totals["charged"] else None,
    )
