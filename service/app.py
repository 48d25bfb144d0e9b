"""The composition root of the web role: `create_app(settings, *, transport=None)`."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware

from service.providers.upstreams import upstream_providers
from service.runtime import build_runtime, ensure_bootstrap_key
from service.settings import Settings
from service.surfaces import concurred, console, docs, novakit, ops, task_api, v2
from service.surfaces.deadline import BodyDeadline
from service.surfaces.errors import HANDLERS, http_errors_by_prefix
from service.surfaces.openai import analytics, balance, events_feed, models, videos
from service.surfaces.openai import webhook_endpoints as webhooks
from service.surfaces.upstream import hooks, inputs
from service.videos.watch import JobWatch
from service.webhooks.ssrf import guarded_client, parse_networks
from service.workers.role import Workers

log = logging.getLogger(__name__)
# An unknown route or method under a facade's prefix answers in that facade's error shape
# (the task API's shape is OpenAI's, the default).
FACADE_PREFIXES = (
    *((prefix, concurred.failure) for prefix in concurred.PREFIXES),
    *((prefix, v2.render) for prefix in v2.PREFIXES),
    *((prefix, novakit.render) for prefix in novakit.PREFIXES),
)


def create_app(
    settings: Settings | None = None, *, transport: httpx.AsyncBaseTransport | None = None
) -> Starlette:
    """The Starlette app; with `settings.run_workers` it also runs the workers (embedded)."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        rt = await run_in_threadpool(build_runtime, settings)
        new_key = await run_in_threadpool(ensure_bootstrap_key, rt)
        if new_key:
            _announce(new_key)
        app.state.runtime = rt
        app.state.console_sessions = console.sessions_for(settings, rt.secret)
        # Requests waiting on a job, and event streams, sleep until this says something
        # changed (one per process).
        app.state.watch = watch = JobWatch(
            rt.gateway, feed=rt.feed_view, interval=settings.watch_interval
        )
        await watch.start()
        # Every URL a tenant gives us is fetched through the SSRF guard (tests may inject).
        allowed = parse_networks(settings.allowed_private_networks)
        client = httpx.AsyncClient(transport=transport) if transport else guarded_client(allowed)
        upstreams = upstream_providers(
            settings,
            serve_sandbox=settings.run_workers,
            transport=transport,
            read_input=rt.storage.read_input,
        )
        async with client as http, upstreams as providers:
            app.state.providers = providers  # the webhook receivers verify with them
            workers = Workers(rt, http, providers) if settings.run_workers else None
            if workers is not None:
                await workers.start()
                app.state.backlog = workers.backlog
            try:
                yield
            finally:
                if workers is not None:
                    await workers.stop()
                await watch.stop()
        await run_in_threadpool(rt.close)

    return Starlette(
        routes=[
            *ops.routes,
            *docs.routes,
            *videos.routes,
            *webhooks.routes,
            *models.routes,
            *hooks.routes,
            *inputs.routes,
            *concurred.routes,
            *task_api.routes,
            *v2.routes,
            *novakit.routes,
            *events_feed.routes,
            *analytics.routes,
            *balance.routes,
            *console.routes,
        ],
        exception_handlers={**HANDLERS, HTTPException: http_errors_by_prefix(FACADE_PREFIXES)},
        middleware=[Middleware(BodyDeadline, seconds=settings.body_timeout)],
        lifespan=lifespan,
    )


def _announce(key: str) -> None:
    """Show a first-start key once; it is stored only as a hash."""
    banner = (
        "\n  vidgate created an API key for tenant 'default' (shown only this once):\n"
        f"\n      {key}\n\n  export VIDGATE_API_KEY={key}\n"
    )
    print(banner, file=sys.stdout, flush=True)
