"""Operational endpoints: liveness, readiness (store reachable), and the OpenAPI document."""

from __future__ import annotations

import logging
from typing import Literal

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from service.metrics import CONTENT_TYPE_LATEST
from service.runtime import Runtime
from service.surfaces.openai.shapes.ops import Health, Readiness
from service.surfaces.openapi.document import openapi_document

log = logging.getLogger(__name__)


async def healthz(request: Request) -> Response:
    return JSONResponse(Health(status="ok").model_dump(mode="json"))


async def readyz(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    store: Literal["postgresql", "sqlite"] = "postgresql" if rt.settings.uses_postgres else "sqlite"
    backlog = getattr(request.app.state, "backlog", None)  # set when the workers run here
    try:
        await run_in_threadpool(rt.gateway.recorder.max_notification_id)
        behind = await run_in_threadpool(backlog) if backlog is not None else None
    except Exception as error:
        log.warning("readiness check failed: %r", error)
        unavailable = Readiness(status="unavailable", store=store)
        return JSONResponse(unavailable.model_dump(mode="json"), status_code=503)
    ready = Readiness(status="ready", store=store, backlog=behind)
    return JSONResponse(ready.model_dump(mode="json", exclude_none=True))


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
