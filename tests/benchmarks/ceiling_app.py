"""The ceiling: a bare Starlette app whose one POST endpoint reads the body and answers 202.

bench_submit.py runs it exactly like `vidgate serve` runs the real app (uvicorn, one
worker, same loop/HTTP implementations, access log at info), so the gap between the two
is vidgate's own work per request. `/healthz` is only there to wait for readiness.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def accept(request: Request) -> Response:
    await request.body()
    return JSONResponse({"id": "video_ceiling", "object": "video", "status": "queued"}, 202)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[
        Route("/v1/videos", accept, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
)
