"""The worker role: projection followers, the dispatcher, and the local renderer.

`vidgate serve` runs these inside the web process (the embedded default);
`python -m service.workers.role` runs them alone (the Procfile's `worker`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Mapping
from typing import cast
from uuid import UUID

import httpx

from events.ids import video_id
from projections.analytics.projection import AnalyticsProjection
from projections.deliveries.projection import DeliveriesProjection
from projections.feed.projection import FeedProjection
from projections.follower import Follower
from projections.inflight.projection import InflightProjection
from projections.jobs.postgres import PostgresJobsView
from projections.jobs.projection import JobsProjection
from projections.jobs.sqlite import SQLiteJobsView
from projections.jobs.view import JobsView
from service.persistence.stores import build_analytics_view, build_inflight_view, build_live_view
from service.providers.base import Provider
from service.providers.local import LocalProvider
from service.providers.upstreams import upstream_providers
from service.runtime import (
    Runtime,
    build_dispatch_tracking,
    build_runtime,
    build_tracking,
    close_view,
)
from service.settings import Settings
from service.webhooks.sender import Sender
from service.webhooks.ssrf import guarded_client, parse_networks
from service.workers.canceler import UpstreamCanceler
from service.workers.dispatcher import Dispatcher, dispatch_request
from service.workers.leader import LeaderLock
from service.workers.mirror import OutputMirror
from service.workers.poller import Poller, PollPolicy

log = logging.getLogger(__name__)
CATCH_UP_TIMEOUT = 60.0
LEADER_RETRY = 2.0  # seconds between attempts to take over dispatching
LEADER_CHECK = 5.0  # seconds between checks that the leader still holds its lock


class Workers:
    def __init__(
        self,
        rt: Runtime,
        http: httpx.AsyncClient,
        upstreams: Mapping[str, Provider] | None = None,
    ) -> None:
        """`http` fetches what tenants name (through the SSRF guard); `upstreams` are the
        configured provider adapters (see `service.providers.registry`)."""
        settings = rt.settings
        self.rt = rt
        # Rebuildable views (vidgate replay) get writer handles of their own, which switch
        # to a new generation only between two pages (see service.persistence.generations).
        self.jobs_writer = cast(
            JobsView,
            build_live_view(settings, "jobs", SQLiteJobsView, PostgresJobsView, pinned=True),
        )
        self.follower = Follower(
            rt.gateway, JobsProjection(view=self.jobs_writer), interval=settings.follow_interval
        )
        self.analytics_writer = build_analytics_view(settings, pinned=True)
        analytics = AnalyticsProjection(self.analytics_writer)  # batched; no one waits on it,
        self.analytics_follower = Follower(  # so saves don't wake it: it polls
            rt.gateway, analytics, interval=settings.follow_interval
        )
        self.local = LocalProvider(
            rt.signals.apply,  # it reports like a webhook or a poll would; appends nothing
            rt.gateway.find_job,
            rt.storage,
            http,
            concurrency=settings.local_concurrency,
            frame_delay=settings.local_frame_delay,
        )
        self.providers: dict[str, Provider] = {**(upstreams or {}), self.local.name: self.local}
        self.dispatch_tracking = build_dispatch_tracking(settings)
        self.leader = LeaderLock(settings)
        self.leader_check = LEADER_CHECK
        self.dispatcher = Dispatcher(
            rt.gateway,
            self.dispatch_tracking,
            self.providers,
            callbacks=rt.callbacks,
            links=rt.links,
            read_input=rt.storage.read_input,
            interval=settings.follow_interval,
            may_dispatch=self.leader.still_held,
        )
        self.mirror_tracking = build_tracking(settings, "mirror")
        self.mirror = OutputMirror(
            rt.gateway,
            self.mirror_tracking,
            self.providers,
            rt.storage,
            interval=settings.follow_interval,
        )
        self.cancel_tracking = build_tracking(settings, "canceler")
        self.canceler = UpstreamCanceler(
            rt.gateway, self.cancel_tracking, self.providers, interval=settings.follow_interval
        )
        policy = poll_policy(settings, self.providers)
        self.inflight_view = build_inflight_view(settings)
        self.inflight_follower = Follower(
            rt.gateway,
            InflightProjection(
                self.inflight_view, first_poll=policy.first_delay, deadline=policy.deadline_for
            ),
            interval=settings.follow_interval,
        )
        self.poller = Poller(
            self.inflight_view,
            self.providers,
            rt.signals,
            rt.metrics,
            policy,
            dispatch=self._dispatch_if_leader,
        )
        self.deliveries_projection = DeliveriesProjection(view=rt.deliveries_view)
        self.deliveries_projection.public_url = settings.base_url
        self.deliveries_follower = Follower(
            rt.gateway, self.deliveries_projection, interval=settings.follow_interval
        )
        # The tenant event feed (GET /v1/events): every job event with its tenant.
        self.feed_follower = Follower(
            rt.gateway, FeedProjection(rt.feed_view), interval=settings.follow_interval
        )
        self.sender = Sender(
            rt.deliveries_view,
            rt.gateway,
            rt.deriver,
            http,
            lease_seconds=settings.delivery_lease_seconds,
        )
        self._stop_threads = threading.Event()
        self._stopping = asyncio.Event()
        self._threads: list[threading.Thread] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        gateway = self.rt.gateway
        wakers = (
            self.follower,
            self.dispatcher,
            self.deliveries_follower,
            self.mirror,
            self.canceler,
        )
        for waker in (*wakers, self.inflight_follower, self.feed_follower):
            gateway.on_saved(waker.wake)
        self.inflight_follower.after_handling.append(self.poller.wake)
        self.rt.wakers.append(self.sender.wake)
        self.deliveries_follower.after_handling.append(self.sender.wake)
        self._follow(self.follower, "jobs projection")
        self._follow(self.deliveries_follower, "deliveries projection")
        self._follow(self.inflight_follower, "inflight projection")
        self._follow(self.analytics_follower, "analytics projection")
        self._follow(self.feed_follower, "feed projection")
        self._tasks.append(asyncio.create_task(self._lead()))
        self._tasks.append(asyncio.create_task(self.sender.run(self._stopping)))
        self._tasks.append(asyncio.create_task(self.mirror.run(self._stopping)))
        self._tasks.append(asyncio.create_task(self.canceler.run(self._stopping)))
        self._tasks.append(asyncio.create_task(self.poller.run(self._stopping)))

    async def _dispatch_if_leader(self, job_id: UUID) -> None:
        """The poller's sweep re-dispatches through here: only the leader submits."""
        if self.leader.held:
            await self.dispatcher.dispatch(job_id)

    async def _lead(self) -> None:
        """Dispatch (and resume local renders) while this process holds the leader lock;
        other worker processes wait their turn (see `service.workers.leader`)."""
        while not self._stopping.is_set():
            try:
                acquired = await asyncio.to_thread(self.leader.try_acquire)
            except Exception as error:  # the store is unreachable: try again shortly
                log.warning("cannot take the dispatcher lock: %r", error)
                acquired = False
            if acquired:
                log.info("this worker dispatches (it holds the dispatcher lock)")
                await self._resume_local_jobs()
                await self._dispatch_while_leading()
                if self._stopping.is_set():
                    return
                # Another worker may hold the lock now and resume these renders itself.
                log.warning(
                    "lost the dispatcher lock (its database session ended): this "
                    "worker stops dispatching until it takes the lock again"
                )
                await self.local.close()
            await _sleep_unless(self._stopping, LEADER_RETRY)

    async def _dispatch_while_leading(self) -> None:
        """Run the dispatcher until the worker stops or the lock turns out to be lost."""
        stop = asyncio.Event()

        async def watch() -> None:
            while not self._stopping.is_set():
                await _sleep_unless(self._stopping, self.leader_check)
                if not await asyncio.to_thread(self.leader.still_held):
                    break
            stop.set()

        watcher = asyncio.create_task(watch())
        try:
            await self.dispatcher.run(stop)
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)

    def _follow(self, follower: Follower, name: str) -> None:
        """Run a projection's follower on its own thread (the event store is synchronous)."""
        thread = threading.Thread(
            target=follower.run,
            args=(self._stop_threads, _log_error(name)),
            name=name,
            daemon=True,
        )
        thread.start()
        self._threads.append(thread)

    async def stop(self) -> None:
        self._stopping.set()
        self._stop_threads.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.local.close()
        for thread in self._threads:
            await asyncio.to_thread(thread.join, 5.0)
        trackings = (self.dispatch_tracking, self.mirror_tracking, self.cancel_tracking)
        writers = (self.jobs_writer, self.analytics_writer)
        for view in (*trackings, self.inflight_view, *writers):
            close_view(view)
        await asyncio.to_thread(self.leader.release)

    async def _resume_local_jobs(self) -> None:
        """Renders that a crash or restart interrupted start again (same job, same id)."""
        await self._wait_caught_up()
        rows = await asyncio.to_thread(self.rt.jobs_view.unfinished_jobs, self.local.name)
        for row in rows:
            if row.upstream_id is None:
                continue  # never dispatched: the dispatcher's backlog covers it
            job = await asyncio.to_thread(self.rt.gateway.find_job, row.job_id)
            if job is not None and not job.is_terminal and self.local.start(dispatch_request(job)):
                log.info("resuming the local render of %s", video_id(job.id))

    async def _wait_caught_up(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CATCH_UP_TIMEOUT
        while not await asyncio.to_thread(self.follower.caught_up):
            if loop.time() > deadline:
                log.warning("jobs view still catching up; resuming local renders anyway")
                return
            await asyncio.sleep(0.05)


def poll_policy(settings: Settings, providers: Mapping[str, Provider]) -> PollPolicy:
    """Providers that call back when a job moves are polled only as a fallback."""
    return PollPolicy(
        webhook_providers=frozenset(name for name, p in providers.items() if p.calls_back),
        first_poll=settings.poll_first,
        grace=settings.poll_grace,
        cap=settings.poll_cap,
        deadline=settings.job_deadline,
    )


async def _sleep_unless(stopping: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), seconds)


def _log_error(what: str) -> Callable[[BaseException], None]:
    def report(error: BaseException) -> None:
        log.error("%s failed: %r; retrying", what, error)

    return report


async def run_workers(settings: Settings) -> None:
    """Run the workers alone until SIGTERM or SIGINT."""
    rt = await asyncio.to_thread(build_runtime, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tenant_http = guarded_client(parse_networks(settings.allowed_private_networks))
    upstreams = upstream_providers(settings, serve_sandbox=True, read_input=rt.storage.read_input)
    async with tenant_http as http, upstreams as providers:
        workers = Workers(rt, http, providers)
        await workers.start()
        log.info("vidgate worker running")
        await stop.wait()
        await workers.stop()
    await asyncio.to_thread(rt.close)


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(run_workers(Settings.from_env()))


if __name__ == "__main__":
    main()
