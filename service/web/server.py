"""Runs the app under uvicorn with vidgate's limits on slow and numerous clients."""

from __future__ import annotations

import uvicorn
from starlette.types import ASGIApp

from service.settings import Settings
from service.web.protocol import guarded_protocol

# Seconds requests in progress get at SIGTERM before they are cancelled (an event stream or
# a `wait` never ends by itself); then the workers get theirs (`service.workers.loop`).
REQUESTS_GRACE = 0.5


def run(app: ASGIApp, settings: Settings) -> None:
    """Serve `app` on `settings.host:port` until SIGINT or SIGTERM."""
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        http=guarded_protocol(settings.header_timeout, settings.max_connections),
        # Typed `int`, but uvicorn waits with `asyncio.timeout`, which takes any seconds.
        timeout_graceful_shutdown=REQUESTS_GRACE,  # type: ignore[arg-type]
    )
