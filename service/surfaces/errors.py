"""Errors of the OpenAI-compatible surface, in OpenAI's shape, mapped in one place."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from eventsourcing.persistence import PersistenceError
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from events.app import JobContention
from service.storage.blobs import StorageUnavailable
from service.surfaces.allow import allowed_methods
from service.videos.errors import (
    FIRST_FRAME,
    Conflict,
    Forbidden,
    Names,
    NotAuthenticated,
    NotFound,
    PaymentRequired,
    RateLimited,
    Refused,
)

log = logging.getLogger(__name__)
Handler = Callable[[Request, Exception], Awaitable[Response]]

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "insufficient_quota",
    403: "permission_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    408: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    503: "service_unavailable",
}


class ApiError(Exception):
    """A request vidgate refuses, with what to tell the client."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param
        self.headers = headers

    def body(self) -> dict[str, Any]:
        kind = ERROR_TYPES.get(self.status, "server_error")
        error = {"message": self.message, "type": kind, "param": self.param, "code": self.code}
        return {"error": error}


# A core refusal's HTTP status, on every surface.
STATUSES: dict[type[Refused], int] = {
    NotAuthenticated: 401,
    PaymentRequired: 402,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    RateLimited: 429,
}
CHALLENGE = {"WWW-Authenticate": "Bearer"}  # with every 401: how to authenticate
# How this surface spells the canonical fields it does not take by their own name.
NAMES = {"idempotency_key": "Idempotency-Key"}


def status_of(error: Refused) -> int:
    """400 for a bad field; the kind's status for the others."""
    return next((s for kind, s in STATUSES.items() if isinstance(error, kind)), 400)


def spelling(names: Mapping[str, str]) -> Names:
    """`names` as a speller: a field it lists by the surface's name, any other as it is.

    The first-frame phrase, unless the table says it, is the two fields' names."""

    def name(field: str) -> str:
        if field == FIRST_FRAME and field not in names:
            return f"{name('input_reference')} or {name('image_url')}"
        return names.get(field, field)

    return name


def told(error: Refused, names: Mapping[str, str] = NAMES) -> ApiError:
    """A core refusal in a surface's words: `param` and message spell fields by `names`."""
    name = spelling(names)
    param = None if error.field is None else name(error.field)
    status = status_of(error)
    return ApiError(
        status, error.told(name), code=error.code, param=param, headers=headers_of(error)
    )


def headers_of(error: Refused) -> dict[str, str] | None:
    """How to authenticate, with a 401; when to come back (IETF RateLimit names), with a 429."""
    if isinstance(error, NotAuthenticated):
        return CHALLENGE
    if isinstance(error, RateLimited):
        return {
            "Retry-After": str(error.reset),
            "RateLimit-Limit": str(error.limit),
            "RateLimit-Remaining": str(error.remaining),
            "RateLimit-Reset": str(error.reset),
        }
    return None


def invalid(param: str, message: str, code: str = "invalid_value") -> ApiError:
    """A 400 naming the offending field."""
    return ApiError(400, message, code=code, param=param)


def text_parameter(params: QueryParams, name: str) -> str | None:
    """A free-text query parameter (empty is absent); NUL is a 400 here, since PostgreSQL
    text can't hold it and a query with it would fail as if the store were down."""
    value = params.get(name) or None
    if value is not None and "\x00" in value:
        raise invalid(name, f"{name} must not contain NUL (\\u0000) characters")
    return value


def not_found(message: str, param: str | None = None) -> ApiError:
    return ApiError(404, message, code="not_found", param=param)


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


async def on_refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    return await on_api_error(request, told(exc))


Render = Callable[[ApiError], Response]


def routing_error(request: Request, exc: HTTPException) -> ApiError:
    """A 404 (no such route), 405 (with every method the path takes) or other routing refusal."""
    message = exc.detail if isinstance(exc.detail, str) else "request refused"
    if exc.status_code == 404:
        message = f"no such route: {request.method} {request.url.path}"
    headers = dict(exc.headers) if exc.headers else None
    if exc.status_code == 405:  # Starlette names only the first route's methods
        headers = {**(headers or {}), "Allow": allowed_methods(request)}
    return ApiError(exc.status_code, message, code=_code(exc.status_code), headers=headers)


def render_openai(error: ApiError) -> Response:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


async def on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return render_openai(routing_error(request, exc))


def http_errors_by_prefix(shapes: Sequence[tuple[str, Render]]) -> Handler:
    """`on_http_exception`, in the shape of the surface whose path prefix the request is
    under (a client of a facade parses its own error shape, also for a mistyped path)."""

    async def on_routing_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        path = request.url.path
        render = next((r for prefix, r in shapes if path.startswith(prefix)), render_openai)
        return render(routing_error(request, exc))

    return on_routing_error


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    error = ApiError(500, "internal error; it has been logged", code="internal_error")
    return JSONResponse(error.body(), status_code=500)


async def on_store_unavailable(request: Request, exc: Exception) -> Response:
    """The event store is down or too contended: nothing was written; try again shortly."""
    log.warning("store unavailable on %s %s: %r", request.method, request.url.path, exc)
    error = ApiError(
        503, "the store is unavailable; nothing was saved, retry shortly", code="store_unavailable"
    )
    return JSONResponse(error.body(), status_code=503, headers={"Retry-After": "2"})


def _code(status: int) -> str:
    return {404: "not_found", 405: "method_not_allowed"}.get(status, "http_error")


HANDLERS: dict[Any, Any] = {
    ApiError: on_api_error,
    Refused: on_refused,
    HTTPException: on_http_exception,
    PersistenceError: on_store_unavailable,
    JobContention: on_store_unavailable,
    StorageUnavailable: on_store_unavailable,  # the file store (S3): also nothing saved
    Exception: on_unexpected,
}
