"""`GET /v1/inputs/{token}`: an uploaded input image, for the upstream that was sent the link.

No API key: the signed, expiring token is the credential (see `service.providers.callbacks`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from service.providers.callbacks import InvalidCallback
from service.runtime import Runtime
from service.surfaces.errors import ApiError, not_found


async def input_file(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    try:
        sha256, content_type = rt.links.resolve(request.path_params["token"])
    except InvalidCallback as error:
        raise ApiError(403, str(error), code="invalid_link") from None
    path = rt.storage.input_path(sha256)
    if not path.exists():
        raise not_found("the input is no longer stored")
    return FileResponse(path, media_type=content_type)


routes = [Route("/v1/inputs/{token}", input_file, methods=["GET"])]
