"""`/v1/models`: the catalog in OpenAI's list shape, with capabilities, pricing and routes.

Each model says which routes could serve it and, given the providers this gateway has
enabled, whether one would now (`available`) and which (`provider`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from service.providers.registry import BUILT_IN
from service.runtime import Runtime
from service.surfaces.errors import not_found


def _enabled(rt: Runtime) -> frozenset[str]:
    enabled: frozenset[str] = getattr(rt, "enabled_providers", BUILT_IN)
    return enabled


async def list_models(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    await rt.authenticator.authenticate(request)
    enabled = _enabled(rt)
    data = [model.as_json(enabled) for model in rt.catalog.models]
    return JSONResponse({"object": "list", "data": data})


async def retrieve_model(request: Request) -> Response:
    """One model, by id or by any of its aliases (fal endpoint ids hold slashes)."""
    rt: Runtime = request.app.state.runtime
    await rt.authenticator.authenticate(request)
    name = request.path_params["model"]
    model = rt.catalog.resolve(name)
    if model is None:
        raise not_found(f"no model {name!r}", param="model")
    return JSONResponse(model.as_json(_enabled(rt)))


routes = [
    Route("/v1/models", list_models, methods=["GET"]),
    Route("/v1/models/{model:path}", retrieve_model, methods=["GET"]),
]
