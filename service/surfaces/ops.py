"""Operational endpoints: liveness, readiness (store reachable), and the OpenAPI document."""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from service.metrics import CONTENT_TYPE_LATEST
from service.runtime import Runtime
from service.surfaces.openapi.document import openapi_document

log = logging.getLogger(__name__)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    store = "postgresql" if rt.settings.uses_postgres else "sqlite"
    try:
        await run_in_threadpool(rt.gateway.recorder.max_notification_id)
    except Exception as error:
        log.warning("readiness check failed: %r", error)
        return JSONResponse({"status": "unavailable", "store": store}, status_code=503)
    return JSONResponse({"status": "ready", "store": store})


async def openapi(request: Request) -> Response:
    return JSONResponse(openapi_document())


async def metrics(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    return Response(rt.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/openapi.json", openapi, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]
