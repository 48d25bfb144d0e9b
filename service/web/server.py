"""Runs the app under uvicorn with vidgate's limits on slow and numerous clients."""

from __future__ import annotations

import uvicorn
from starlette.types import ASGIApp

from service.settings import Settings
from service.web.protocol import guarded_protocol


def run(app: ASGIApp, settings: Settings) -> None:
    """Serve `app` on `settings.host:port` until SIGINT or SIGTERM."""
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        http=guarded_protocol(settings.header_timeout, settings.max_connections),
    )
