"""`/v1/models`: the catalog in OpenAI's list shape, with capabilities."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from service.api.errors import not_found
from service.runtime import Runtime


async def list_models(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    await rt.authenticator.authenticate(request)
    data = [model.as_json() for model in rt.catalog.models]
    return JSONResponse({"object": "list", "data": data})


async def retrieve_model(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    await rt.authenticator.authenticate(request)
    name = request.path_params["model"]
    model = rt.catalog.resolve(name)
    if model is None:
        raise not_found(f"no model {name!r}", param="model")
    return JSONResponse(model.as_json())


routes = [
    Route("/v1/models", list_models, methods=["GET"]),
    Route("/v1/models/{model:path}", retrieve_model, methods=["GET"]),
]
