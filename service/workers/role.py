"""The worker role: the loops declared in `service.workers.parts`, run by one runner.

`vidgate serve` runs them inside the web process (the embedded default);
`python -m service.workers` runs them alone (the Procfile's `worker`).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import httpx
from eventsourcing.postgres import PostgresApplicationRecorder
from prometheus_client import start_http_server

from service.metrics import Metrics
from service.persistence.changes import StoreChanges
from service.providers.base import Provider
from service.providers.upstreams import upstream_providers
from service.runtime import Runtime, build_runtime, close_view
from service.settings import Settings
from service.webhooks.ssrf import guarded_client, parse_networks
from service.workers.loop import Loop, Runner
from service.workers.parts import QUEUED, SAVES, Part, Shared, build_shared, parts_for
from service.workers.projecting import ProjectionLoop
from service.workers.topic_follower import TopicFollower

log = logging.getLogger(__name__)


class Workers:
    def __init__(
        self,
        rt: Runtime,
        http: httpx.AsyncClient,
        upstreams: Mapping[str, Provider] | None = None,
        *,
        parts: tuple[Part, ...] | None = None,
    ) -> None:
        """`http` fetches what tenants name (through the SSRF guard); `upstreams` are the
        configured provider adapters (see `service.providers.registry`); `parts`: the
        store's (`parts_for`) unless given."""
        self.rt = rt
        self.parts = parts = parts or parts_for(rt.settings)
        self.shared = build_shared(rt, http, upstreams or {})
        self.loops: dict[str, Loop] = {}
        for part in parts:
            self.loops[part.name] = loop = part.build(self.shared)
            if loop.name != part.name:
                raise ValueError(f"the part {part.name!r} built the loop {loop.name!r}")
            unknown = set(part.woken_by) - {SAVES, QUEUED, *self.loops}
            if unknown:
                raise ValueError(f"{part.name!r} is woken by no earlier part: {unknown}")
        self.runner = Runner(list(self.loops.values()))
        self._positions = positions(self.loops, self.shared)
        rt.metrics.count_backlog_with(self.backlog)
        self.changes = store_changes(rt)
        self._woken_by_saves: list[Callable[[], None]] = []

    async def start(self) -> None:
        for part in self.parts:
            wake = self.loops[part.name].wake
            for source in part.woken_by:
                if source == SAVES:
                    self.rt.gateway.on_saved(wake)
                    self._woken_by_saves.append(wake)
                elif source == QUEUED:
                    self.rt.wakers.append(wake)
                else:
                    self.runner.after_work(source, wake)
        await self.runner.start()
        self.changes.start(self._saved_elsewhere)

    def _saved_elsewhere(self) -> None:
        for wake in self._woken_by_saves:
            wake()

    async def stop(self) -> None:
        """Within ~1 s whatever the backlog (see `service.workers.loop`)."""
        self.shared.dispatcher.halt()
        await asyncio.gather(asyncio.to_thread(self.changes.stop), self.runner.stop())
        for view in self.shared.resources:
            close_view(view)

    def backlog(self) -> dict[str, int]:
        """Per loop that follows the log, the events recorded that it has not looked at yet
        (sync: a query per loop). A burst of submits shows here as it drains."""
        head = self.rt.gateway.recorder.max_notification_id() or 0
        return {name: max(0, head - position()) for name, position in self._positions.items()}


def positions(loops: Mapping[str, Loop], shared: Shared) -> dict[str, Callable[[], int]]:
    """How far each loop that follows the log has got (the dispatcher's only where it
    follows submissions: SQLite's leader)."""
    found: dict[str, Callable[[], int]] = {}
    for name, loop in loops.items():
        if isinstance(loop, ProjectionLoop | TopicFollower):
            found[name] = loop.position
    if shared.leader is not None:
        found["dispatcher"] = shared.dispatcher.follower.position
    return found


def store_changes(rt: Runtime) -> StoreChanges:
    """Who tells this worker that another process appended events."""
    settings = rt.settings
    recorder = rt.gateway.recorder
    if settings.database_url and isinstance(recorder, PostgresApplicationRecorder):
        # eventsourcing's recorder sends `NOTIFY <channel>` with every insert
        name = settings.pg_application_name
        return StoreChanges.postgres(settings.database_url, recorder.channel_name, name)
    return StoreChanges.sqlite(settings.data_dir / "events.sqlite", settings.follow_interval)


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
        with serving_metrics(rt.metrics, settings):
            log.info("vidgate worker running")
            await stop.wait()
            await workers.stop()
    await asyncio.to_thread(rt.close)


@contextmanager
def serving_metrics(metrics: Metrics, settings: Settings) -> Iterator[None]:
    """This worker's own `/metrics` on `VIDGATE_WORKER_METRICS_PORT` (0: none): each worker
    is a scrape target of its own, on any host (no shared multiprocess directory)."""
    if not settings.worker_metrics_port:
        yield
        return
    server, thread = start_http_server(
        settings.worker_metrics_port, addr=settings.host, registry=metrics.registry
    )
    log.info("worker metrics on http://%s:%s/metrics", settings.host, server.server_port)
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(run_workers(Settings.from_env()))


if __name__ == "__main__":
    main()
