"""Leaderless dispatching (PostgreSQL): every worker claims the jobs it dispatches.

Each pass leases a batch of claimable rows of the `inflight` view to this worker
(`projections.inflight.claims`: `FOR UPDATE SKIP LOCKED`, per-provider caps counted from
the shared rows at claim time) and hands each job to the `Dispatcher`, which:

1. reads the job (version *v*) and saves `DispatchIntended` on top of *v* only (an
   optimistic-concurrency save: if anyone appended since — another worker that claimed the
   job after this worker's lease ran out — nothing is saved and this worker drops the job);
2. right before each upstream submit, renews its lease (`LeaseFence`): a worker whose lease
   ran out (paused, partitioned, slow) submits nothing;
3. bounds each submit by `submit_timeout`, shorter than the lease, so a worker that is not
   frozen has its answer (or gives up) before its lease can run out.

A worker that claims a job with an intent and no `Dispatched` reconciles it as after a
crash (`Dispatcher._reconcile`): a lookup where the provider `finds`, the same attempt
where it `dedupes`, else a new intent that records the earlier one's outcome as unknown.

Local renders run in the worker that claimed them; `RenderLeases` keeps their leases alive
while they render, and a dead worker's renders are claimed (and resumed) by another worker
once their leases run out.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Mapping
from uuid import UUID

from events.app import Gateway
from projections.inflight.claims import Claim, DispatchClaims
from service.providers.local import LocalProvider
from service.workers.dispatcher import Dispatcher, LeadershipLost, dispatch_request
from service.workers.poller import Clock, utc_now
from service.workers.waker import Waker

log = logging.getLogger(__name__)
BATCH = 20  # jobs per claim: small, so idle workers get a share of a burst


def worker_id() -> str:
    """How this process signs the events it appends: `worker:<host>:<pid>`."""
    return f"worker:{socket.gethostname()}:{os.getpid()}"


class LeaseFence:
    """`Dispatcher.may_dispatch` for claimed jobs: renews the job's lease, True while it
    is still this worker's (asked from a thread)."""

    def __init__(
        self, view: DispatchClaims, worker: str, lease: float, *, clock: Clock = utc_now
    ) -> None:
        self.view, self.worker, self.lease, self.clock = view, worker, lease, clock

    def __call__(self, job_id: UUID) -> bool:
        return job_id in self.view.renew([job_id], self.worker, self.clock(), self.lease)


class Claimer:
    """The dispatcher loop of a leaderless worker."""

    name = "dispatcher"

    def __init__(
        self,
        view: DispatchClaims,
        dispatcher: Dispatcher,
        gateway: Gateway,
        local: LocalProvider,
        *,
        worker: str,
        lease: float,
        caps: Mapping[str, int],
        interval: float = 0.25,
        batch: int = BATCH,
        clock: Clock = utc_now,
    ) -> None:
        self.view, self.dispatcher, self.gateway, self.local = view, dispatcher, gateway, local
        self.worker, self.lease, self.caps = worker, lease, dict(caps)
        self.interval, self.batch, self.clock = interval, batch, clock
        self.waker = Waker()
        self._working: set[UUID] = set()  # claims whose dispatch has not ended yet

    def wake(self) -> None:
        self.waker.wake()

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        """Give back the claims a stop cut short (not submitted, or cut mid-submit: its
        intent is reconciled by whoever claims it next), so that a restarted worker
        takes them at once rather than after a lease."""
        cut, self._working = self._working, set()
        if cut:
            await asyncio.to_thread(self.view.release, cut, self.worker)

    async def run_once(self) -> int:
        """Claim what this worker may take now and work each job; how many were claimed."""
        claims = await asyncio.to_thread(
            self.view.claim_dispatch,
            self.clock(),
            self.worker,
            self.lease,
            self.batch,
            caps=self.caps,
            runs_here={self.local.name: self.local.room()},
        )
        await asyncio.gather(*(self._work(claim) for claim in claims))
        return len(claims)

    async def _work(self, claim: Claim) -> None:
        """Dispatch (or resume) the claimed job. The lease is not given back: it keeps a
        dispatched job's slot counted until the view shows `Dispatched`, and a job whose
        dispatch failed is claimed again once it runs out (the claims are the sweep)."""
        self._working.add(claim.job_id)
        try:
            if claim.provider != self.local.name or not await self._resume(claim.job_id):
                await self.dispatcher.dispatch(claim.job_id)
            # else rendering here: its lease is kept alive by `RenderLeases`
        except LeadershipLost:
            if self.dispatcher.halted:
                return  # stopping: `stop` gives the claim back
            log.info("%s: the lease ran out before the submit; not submitting", claim.job_id)
        except Exception:
            log.exception("dispatching %s failed; retried when its lease runs out", claim.job_id)
        self._working.discard(claim.job_id)

    async def _resume(self, job_id: UUID) -> bool:
        """A local job dispatched by a worker whose lease ran out: render it here. True
        when it renders here now."""
        job = await asyncio.to_thread(self.gateway.find_job, job_id)
        if job is None or job.is_terminal or not job.is_dispatched:
            return False
        if self.local.start(dispatch_request(job)):
            log.info("resuming the local render of %s (its worker's lease ran out)", job_id)
        return job_id in self.local.rendering()

    def slot_counts(self) -> dict[str, tuple[int, int, int]]:
        """Per capped provider: (cap, jobs holding a slot, jobs waiting), from the store."""
        counts = self.view.slot_counts(self.caps, self.clock())
        return {p: (cap, *counts[p]) for p, cap in self.caps.items()}


class RenderLeases:
    """Keeps the leases of the jobs this worker renders locally; gives up a render whose
    lease another worker took, and lets go of every lease when the worker stops."""

    name = "render leases"

    def __init__(
        self,
        view: DispatchClaims,
        local: LocalProvider,
        *,
        worker: str,
        lease: float,
        clock: Clock = utc_now,
    ) -> None:
        self.view, self.local, self.worker, self.lease = view, local, worker, lease
        self.clock = clock
        self.interval = lease / 3  # two renewals can fail before the lease runs out
        self.waker = Waker()

    def wake(self) -> None:
        self.waker.wake()

    async def start(self) -> None:
        pass

    async def run_once(self) -> int:
        held = self.local.rendering()
        if not held:
            return 0
        kept = await asyncio.to_thread(self.view.renew, held, self.worker, self.clock(), self.lease)
        for job_id in held - kept:
            if job_id in self.local.rendering():  # not just finished: another worker has it
                log.warning("%s: the render lease ran out; another worker renders it", job_id)
                self.local.abandon(job_id)
        return len(held)

    async def stop(self) -> None:
        """Stop rendering; the leases go at once, so another worker resumes the renders."""
        held = self.local.rendering()
        await self.local.close()
        await asyncio.to_thread(self.view.release, held, self.worker)
