"""Folds job events, and the ledger's reservations and settlements of jobs, into the
`analytics` view, a whole batch per transaction.

Deterministic: every figure comes from event data and event timestamps, never a clock,
so a replay from position 0 writes exactly the same rows. A batch's events are folded in
memory into one `JobFacts` per job (a job submitted, dispatched and finished within the
batch becomes a single insert), then written with the batch's last position in one
transaction (`AnalyticsView.record`).

The `Follower` hands over notifications decoded by `decode`: the stored JSON parsed by the
C decoder alone, which skips the transcoder's Python hook on every JSON object and building
event objects (~4 µs an event instead of ~8: a replay's largest cost after reading; see
tests/benchmarks/README.md). Only plain JSON fields are read, the timestamp's
`datetime_iso` encoding is checked and upcasters run as the mapper would run them; with a
cipher or compressor configured it is the mapper's decoding. `process_batch` takes domain
events too (as `process_event` and the contract tests hand them over).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import Mapper, Notification, Tracking
from eventsourcing.projection import Projection
from eventsourcing.utils import get_topic, resolve_topic

from events.account import Account
from events.job import CANCELED, COMPLETED, FAILED, Job
from projections.analytics.view import AnalyticsView, JobFacts

_DECODER = json.JSONDecoder()
NUMERIC = (int, float, str)
EVENTS = (
    Job.Submitted,
    Job.Dispatched,
    Job.Progressed,
    Job.Completed,
    Job.Failed,
    Job.Canceled,
    Account.CreditsReserved,
    Account.CreditsSettled,
)

# One event, as the fold needs it: (topic, job id hex, unix seconds, the event's fields).
Fact = tuple[str, str, float, Mapping[str, Any]]
Fold = Callable[[dict[str, JobFacts], str, float, Mapping[str, Any]], None]


class AnalyticsProjection(Projection[AnalyticsView]):
    name = "analytics"
    topics = tuple(get_topic(cls) for cls in EVENTS)

    def process_event(self, event: Any, tracking: Tracking) -> None:
        """One event on its own (a batch of one; the position just has to move on)."""
        self.process_batch([event], tracking, after=None)

    def process_batch(self, events: Sequence[Any], tracking: Tracking, after: int | None) -> None:
        """Fold `events` (domain events, or `Fact`s from `decode`) and record them, with
        `tracking`, in one transaction (see `AnalyticsView.record` for `after`)."""
        jobs: dict[str, JobFacts] = {}
        for event in events:
            topic, job_id, at, fields = event if isinstance(event, tuple) else as_fact(event)
            fold = FOLDS.get(topic)
            if fold is not None:
                fold(jobs, job_id, at, fields)
        self.view.record(list(jobs.values()), tracking, after=after)

    @staticmethod
    def decode(mapper: Mapper[Any], notification: Notification) -> Any:
        """The stored JSON as a `Fact` (upcast like the mapper would) when the mapper
        stores plain JSON; the domain event otherwise."""
        if mapper.cipher is not None or mapper.compressor is not None:
            return mapper.to_domain_event(notification)
        fields = _DECODER.raw_decode(notification.state.decode())[0]  # measured: 2x json.loads
        stamp = fields["timestamp"]
        if not isinstance(stamp, dict) or stamp.get("_type_") != "datetime_iso":
            return mapper.to_domain_event(notification)  # not the encoding this relies on
        _upcast(notification.topic, fields)
        at = datetime.fromisoformat(stamp["_data_"]).timestamp()
        job_id = getattr(notification.originator_id, "hex", notification.originator_id)
        return notification.topic, job_id, at, fields


def _upcast(topic: str, fields: dict[str, Any]) -> None:
    """What the mapper does for an event class with a `class_version` above 1."""
    version, latest = fields.pop("class_version", 1), _class_version(topic)
    while version < latest:
        getattr(resolve_topic(topic), f"upcast_v{version}_v{version + 1}")(fields)
        version += 1


@functools.cache
def _class_version(topic: str) -> int:
    version: int = getattr(resolve_topic(topic), "class_version", 1)
    return version


def as_fact(event: Any) -> Fact:
    topic = get_topic(type(event))
    return topic, event.originator_id.hex, event.timestamp.timestamp(), event.__dict__


def _submitted(jobs: dict[str, JobFacts], job_id: str, at: float, e: Mapping[str, Any]) -> None:
    jobs[job_id] = JobFacts(
        job_id=job_id,
        new=True,
        tenant=e["tenant"],
        day=datetime.fromtimestamp(at, UTC).date().isoformat(),
        model=e["model"],
        provider=e["provider"],
        submitted_at=at,
        requested_seconds=_number((e.get("params") or {}).get("seconds")),
        cost_estimate=_number(e.get("cost_estimate")),
    )


def _dispatched(jobs: dict[str, JobFacts], job_id: str, at: float, e: Mapping[str, Any]) -> None:
    job = _job(jobs, job_id)
    if job.dispatched_at is None:  # re-dispatches keep the first
        job.dispatched_at = at


def _progressed(jobs: dict[str, JobFacts], job_id: str, at: float, e: Mapping[str, Any]) -> None:
    _signal(_job(jobs, job_id), e["source"])


def _completed(jobs: dict[str, JobFacts], job_id: str, at: float, e: Mapping[str, Any]) -> None:
    job = _job(jobs, job_id)
    _signal(job, e["source"])
    if _finish(job, COMPLETED, at):
        job.output_duration = _number((e.get("output") or {}).get("duration"))
        job.cost_reported = _number(e.get("cost"))


def _failed(jobs: dict[str, JobFacts], job_id: str, at: float, e: Mapping[str, Any]) -> None:
    job = _job(jobs, job_id)
    _signal(job, e["source"])
    if _finish(job, FAILED, at):
        job.failure_code = e["code"]


def _canceled(jobs: dict[str, JobFacts], job_id: str, at: float, e: Mapping[str, Any]) -> None:
    _finish(_job(jobs, job_id), CANCELED, at)


def _reserved(jobs: dict[str, JobFacts], _: str, at: float, e: Mapping[str, Any]) -> None:
    """The ledger held money for a job (the event is the account's: its job is a field)."""
    job = _job(jobs, _job_hex(e["job_id"]))
    if job.reserved is None:
        job.reserved = int(e["amount"])


def _settled(jobs: dict[str, JobFacts], _: str, at: float, e: Mapping[str, Any]) -> None:
    job = _job(jobs, _job_hex(e["job_id"]))
    if job.settled is None:  # a job settles once (the account refuses a second)
        job.settled = int(e["amount"])


def _job_hex(value: Any) -> str:
    """A job id as the view keys it, from a domain event's UUID or the stored JSON's
    `{"_type_": "uuid_hex", "_data_": …}`."""
    return str(value["_data_"]) if isinstance(value, dict) else str(value.hex)


FOLDS: dict[str, Fold] = {
    get_topic(Job.Submitted): _submitted,
    get_topic(Job.Dispatched): _dispatched,
    get_topic(Job.Progressed): _progressed,
    get_topic(Job.Completed): _completed,
    get_topic(Job.Failed): _failed,
    get_topic(Job.Canceled): _canceled,
    get_topic(Account.CreditsReserved): _reserved,
    get_topic(Account.CreditsSettled): _settled,
}


def _job(jobs: dict[str, JobFacts], job_id: str) -> JobFacts:
    job = jobs.get(job_id)
    if job is None:  # submitted in an earlier batch: this batch updates its row
        job = jobs[job_id] = JobFacts(job_id=job_id)
    return job


def _finish(job: JobFacts, outcome: str, at: float) -> bool:
    """Record how the job ended, unless the batch already saw it end (terminal absorbs)."""
    if job.outcome is not None:
        return False
    job.outcome, job.finished_at = outcome, at
    return True


def _signal(job: JobFacts, source: str) -> None:
    if source == "webhook":
        job.webhook_signals += 1
    elif source == "poll":
        job.poll_signals += 1
    else:
        job.other_signals += 1


def _number(value: Any) -> float | None:
    """A finite number from an int, a float or a numeric string (`"4"`); else None."""
    if isinstance(value, bool) or not isinstance(value, NUMERIC):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
