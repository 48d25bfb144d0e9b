"""`GET /v1/inputs/{token}`: an uploaded input image, for the upstream that was sent the link.

No API key: the signed, expiring token is the credential (see `service.providers.callbacks`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.providers.callbacks import InvalidCallback
from service.runtime import Runtime
from service.surfaces.errors import ApiError, not_found
from service.surfaces.stored import stored_response


async def input_file(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    try:
        sha256, content_type = rt.links.resolve(request.path_params["token"])
    except InvalidCallback as error:
        raise ApiError(403, str(error), code="invalid_link") from None
    # Streamed even when content redirects are on: not every upstream's fetcher follows a
    # redirect, and this link is already the short-lived credential.
    key = rt.storage.input_key(sha256)
    response = await stored_response(request, rt, key, content_type, redirect=False)
    if response is None:
        raise not_found("the input is no longer stored")
    return response


routes = [Route("/v1/inputs/{token}", input_file, methods=["GET"])]
