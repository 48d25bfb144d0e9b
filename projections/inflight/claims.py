"""Dispatch claims on the `inflight` view: how leaderless workers share the dispatching.

A worker claims a row by writing its id (`claimed_by`) and a lease end (`leased_until`) on
it; until the lease ends no other worker claims it. Claimable: a job not yet dispatched,
and a dispatched job that runs in its claimant (the local renderer's) whose lease ran out
(its worker died or lost touch). Jobs of capped providers are claimed only while their
provider has a free slot, counted at claim time from the rows themselves, so a cap holds
across every worker. Only the PostgreSQL view implements it (`FOR UPDATE SKIP LOCKED`);
SQLite runs one worker, which dispatches alone.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True)
class Claim:
    job_id: UUID
    provider: str
    dispatched: bool  # True: a render to resume here (its lease ran out elsewhere)


class DispatchClaims(ABC):
    @abstractmethod
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
        """Lease up to `limit` claimable jobs to `worker` until `now + lease_seconds`, first
        submitted first. A capped provider's jobs only while fewer than its cap hold a slot
        (dispatched, intended, or leased to any worker); `runs_here`: providers whose jobs run
        in the claimant, with how many more it can take (undispatched or to resume)."""

    @abstractmethod
    def renew(
        self, job_ids: Collection[UUID], worker: str, now: datetime, lease_seconds: float
    ) -> set[UUID]:
        """Extend `worker`'s leases on `job_ids` to `now + lease_seconds`; the jobs whose
        lease was renewed. The others are no longer this worker's: another worker claimed
        them (only after this lease ran out), or they were released or ended. A lease that
        ran out but that nobody claimed yet is still renewed: a claim and a renewal lock
        the same row, so whichever comes second sees the first."""

    @abstractmethod
    def hand_back(self, job_id: UUID, worker: str, to: str, until: datetime) -> None:
        """Give `worker`'s lease on `job_id` to `to` (the worker whose submit of it awaits
        its answer) until `until`: nobody claims it before, and `to` may still renew it."""

    @abstractmethod
    def release(self, job_ids: Collection[UUID], worker: str) -> None:
        """Give up `worker`'s leases on `job_ids` (another worker may claim them at once)."""

    @abstractmethod
    def slot_counts(self, caps: Mapping[str, int], now: datetime) -> dict[str, tuple[int, int]]:
        """Per capped provider: (jobs holding a slot, jobs waiting for one)."""
