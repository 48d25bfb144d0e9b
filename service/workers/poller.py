"""The poller: asks upstreams about in-flight jobs whose webhooks are late or nonexistent.

It works the `inflight` view as a queue: due rows are claimed with a lease (so pollers in
several worker processes never ask about the same job at once), each job's status is
fetched and applied (source `poll`), and the row is rescheduled by the `PollPolicy`
(`service.workers.poll_policy`): webhook routes only as a fallback, after a grace period;
poll-only routes on the model's clock. A job past its deadline gets one final status fetch,
then `Failed(timeout)`. (`service.workers.polling` runs it as a background loop.)
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from events.app import Gateway
from events.ids import video_id
from projections.inflight.view import InflightRow, InflightView
from service.metrics import Metrics
from service.providers.base import (
    Provider,
    ProviderRejected,
    ProviderUnavailable,
    UpstreamStatus,
)
from service.videos.signals import POLL, Signals
from service.workers.estimate import ESTIMATE, ProgressEstimate
from service.workers.poll_policy import PollPolicy

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Poller:
    def __init__(
        self,
        view: InflightView,
        providers: Mapping[str, Provider],
        signals: Signals,
        metrics: Metrics,
        policy: PollPolicy,
        *,
        clock: Clock = utc_now,
        rng: random.Random | None = None,
        lease: float = 60.0,
        batch: int = 50,
        estimate: ProgressEstimate | None = None,
    ) -> None:
        self.view, self.signals, self.metrics, self.policy = view, signals, metrics, policy
        self.providers = {name: p for name, p in providers.items() if p.polled}
        self.clock, self.rng = clock, rng or random.Random()
        self.lease, self.batch = lease, batch
        self.estimate = estimate

    @property
    def gateway(self) -> Gateway:
        return self.signals.gateway

    async def run_once(self) -> int:
        """Poll every job that is due now; return how many were claimed."""
        if not self.providers:
            return 0
        rows = await asyncio.to_thread(
            self.view.claim_due, self.clock(), self.batch, self.lease, list(self.providers)
        )
        await asyncio.gather(*(self.poll(row) for row in rows))
        await self.count_finished()
        return len(rows)

    async def next_due(self) -> datetime | None:
        """When the soonest poll comes due; None while no job waits for one."""
        if not self.providers:
            return None
        return await asyncio.to_thread(self.view.next_poll_due, list(self.providers))

    async def count_finished(self) -> None:
        """Observe how many status calls each job that ended took (webhooks make it ~0)."""
        for row in await asyncio.to_thread(self.view.take_finished, 500):
            self.metrics.status_calls.labels(row.provider).observe(row.polls)

    async def poll(self, row: InflightRow) -> None:
        provider = self.providers[row.provider]
        assert row.upstream_id is not None  # claim_due only hands out dispatched jobs
        now = self.clock()
        overdue = row.deadline_at is not None and now >= row.deadline_at
        if not overdue and (quiet_until := self._webhooks_active_until(row)) > now:
            # The upstream's webhooks are arriving: no fallback poll until they go quiet.
            await asyncio.to_thread(self.view.reschedule, row.job_id, quiet_until, polled=False)
            return
        elapsed = (now - (row.dispatched_at or row.submitted_at)).total_seconds()
        delay = self.policy.next_delay(row.provider, row.model, row.polls + 1, elapsed, self.rng)
        # Count the call before its answer is applied: an answer that ends the job removes
        # the row, and the count must already be in it.
        await self._reschedule(row, self.lease, now, polled=True)
        try:
            status = await provider.status(row.upstream_id)
        except ProviderUnavailable as error:
            self.metrics.poll(row.provider, "unavailable")
            if overdue:
                await self._time_out(row, f"and its last status call failed: {error}")
                return
            await self._reschedule(row, max(delay, error.retry_after or 0.0), now)
            return
        except ProviderRejected as error:
            self.metrics.poll(row.provider, "rejected")
            await asyncio.to_thread(
                self.gateway.record_failure, row.job_id, error.code, str(error), POLL
            )
            return
        status, source = self._estimated(row, status, now)
        job, appended = await asyncio.to_thread(self.signals.apply, row.job_id, status, source)
        self.metrics.poll(row.provider, "changed" if appended else "unchanged")
        if job.is_terminal:
            return  # the projection removes the row
        if overdue:
            await self._time_out(row, f"the provider still says {status.raw_status!r}")
            return
        await self._reschedule(row, delay, now)

    def _estimated(
        self, row: InflightRow, status: UpstreamStatus, now: datetime
    ) -> tuple[UpstreamStatus, str]:
        """A running job's status with a guessed percent where the upstream gives none
        (source `estimate`); any other status as it came (source `poll`)."""
        if self.estimate is None or status.state != "in_progress" or status.progress is not None:
            return status, POLL
        started = row.dispatched_at or row.submitted_at
        elapsed = (now - started).total_seconds()
        return replace(status, progress=self.estimate.percent(row.model, elapsed)), ESTIMATE

    def _webhooks_active_until(self, row: InflightRow) -> datetime:
        """For a webhook route with a recent signal: when its grace period runs out."""
        if row.provider not in self.policy.webhook_providers or row.last_signal_at is None:
            return datetime.min.replace(tzinfo=UTC)
        if row.last_signal_at == row.dispatched_at:
            return datetime.min.replace(tzinfo=UTC)  # no signal since the dispatch
        return row.last_signal_at + timedelta(seconds=self.policy.grace)

    async def _reschedule(
        self, row: InflightRow, delay: float, now: datetime, *, polled: bool = False
    ) -> None:
        due = now + timedelta(seconds=delay)
        if row.deadline_at is not None:
            due = min(due, row.deadline_at)  # the final status call happens at the deadline
        await asyncio.to_thread(self.view.reschedule, row.job_id, due, polled=polled)

    async def _time_out(self, row: InflightRow, why: str) -> None:
        message = f"{video_id(row.job_id)} did not finish by its deadline; {why}"
        await asyncio.to_thread(
            self.gateway.record_failure, row.job_id, "timeout", message, POLL, retryable=True
        )
