"""The worker role: projection followers, the dispatcher, and the local renderer.

`vidgate serve` runs these inside the web process (the embedded default);
`python -m service.worker` runs them alone (the Procfile's `worker`).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable

import httpx

from events.ids import video_id
from projections.deliveries_projection import DeliveriesProjection
from projections.follower import Follower
from projections.jobs_projection import JobsProjection
from service.delivery import Sender
from service.dispatcher import Dispatcher, dispatch_request
from service.providers.base import Provider
from service.providers.local import LocalProvider
from service.runtime import Runtime, build_dispatch_tracking, build_runtime, close_view
from service.settings import Settings
from service.ssrf import guarded_client, parse_networks

log = logging.getLogger(__name__)
CATCH_UP_TIMEOUT = 60.0


class Workers:
    def __init__(self, rt: Runtime, http: httpx.AsyncClient) -> None:
        settings = rt.settings
        self.rt = rt
        self.follower = Follower(
            rt.gateway, JobsProjection(view=rt.jobs_view), interval=settings.follow_interval
        )
        self.local = LocalProvider(
            rt.gateway,
            rt.storage,
            http,
            concurrency=settings.local_concurrency,
            frame_delay=settings.local_frame_delay,
        )
        self.providers: dict[str, Provider] = {"local": self.local}
        self.dispatch_tracking = build_dispatch_tracking(settings)
        self.dispatcher = Dispatcher(
            rt.gateway, self.dispatch_tracking, self.providers, interval=settings.follow_interval
        )
        self.deliveries_projection = DeliveriesProjection(view=rt.deliveries_view)
        self.deliveries_projection.public_url = settings.base_url
        self.deliveries_follower = Follower(
            rt.gateway, self.deliveries_projection, interval=settings.follow_interval
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
        for wake in (self.follower.wake, self.dispatcher.wake, self.deliveries_follower.wake):
            gateway.on_saved(wake)
        self.rt.wakers.append(self.sender.wake)
        self.deliveries_follower.after_handling.append(self.sender.wake)
        self._follow(self.follower, "jobs projection")
        self._follow(self.deliveries_follower, "deliveries projection")
        await self._resume_local_jobs()
        self._tasks.append(asyncio.create_task(self.dispatcher.run(self._stopping)))
        self._tasks.append(asyncio.create_task(self.sender.run(self._stopping)))

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
        close_view(self.dispatch_tracking)

    async def _resume_local_jobs(self) -> None:
        """Renders that a crash or restart interrupted start again (same job, same id)."""
        await self._wait_caught_up()
        rows = await asyncio.to_thread(self.rt.jobs_view.unfinished_jobs, "local")
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
    async with guarded_client(parse_networks(settings.allowed_private_networks)) as http:
        workers = Workers(rt, http)
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
