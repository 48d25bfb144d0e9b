"""What the seed-compatible facades share.

A facade translates its request into vidgate's canonical create fields, calls
`submit_video`, and answers in its own shapes. Its refusals must come out in its own error
shape too, but Starlette's app-wide handlers render OpenAI's: so each facade wraps its routes
with `translated(render)`, the one place where that surface maps errors. `renamed` puts the
facade's field names back into a canonical refusal, so `param` names what the client sent.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import PersistenceError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from events.app import JobContention
from events.job import Job
from service.auth.authenticator import Principal
from service.runtime import Runtime
from service.surfaces.errors import ApiError

log = logging.getLogger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]
Render = Callable[[ApiError], Response]


def translated(render: Render) -> Callable[[Endpoint], Endpoint]:
    """Wrap a facade's route so every refusal is rendered by the surface's `render`."""

    def wrap(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def wrapped(request: Request) -> Response:
            try:
                return await endpoint(request)
            except ApiError as error:
                return render(error)
            except (PersistenceError, JobContention) as error:  # the app-wide handler's 503
                log.warning(
                    "store unavailable on %s %s: %r", request.method, request.url.path, error
                )
                return render(store_unavailable())

        return wrapped

    return wrap


def store_unavailable() -> ApiError:
    return ApiError(
        503,
        "the store is unavailable; nothing was saved, retry shortly",
        code="store_unavailable",
        headers={"Retry-After": "2"},
    )


def renamed(error: ApiError, names: Mapping[str, str]) -> ApiError:
    """`error` told in the surface's words: canonical field names → the names the client used."""
    if error.param is None or error.param not in names:
        return error
    message, param = error.message, names[error.param]
    for canonical, surface in names.items():
        if canonical != surface:
            message = re.sub(rf"(?<![\w.]){re.escape(canonical)}(?![\w])", surface, message)
    if param not in message:  # e.g. "unreadable image: …"
        message = f"{param}: {message}"
    return ApiError(error.status, message, code=error.code, param=param, headers=error.headers)


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


async def principal_of(request: Request) -> Principal:
    """The caller, or a 401 (an `ApiError`) saying what is wrong with the key."""
    return await runtime(request).authenticator.authenticate(request)


def require_any(principal: Principal, *scopes: str) -> None:
    """A 403 unless the key has one of `scopes` (`admin` has them all)."""
    if not {*scopes, "admin"} & set(principal.scopes):
        wanted = " or ".join(repr(scope) for scope in scopes)
        raise ApiError(403, f"this API key lacks the {wanted} scope", code="missing_scope")


async def owned_job(request: Request, tenant: str, job_id: UUID | None) -> Job | None:
    """The job if `tenant` owns it and it is not deleted; None otherwise (never a 403)."""
    if job_id is None:
        return None
    job = await run_in_threadpool(runtime(request).gateway.find_job, job_id)
    if job is None or job.tenant != tenant or job.deleted:
        return None
    return job


def rendered(job: Job) -> dict[str, Any]:
    """Width, height and seconds of the job's video: as stored (the mirror measures them),
    else as the upstream said, else as asked."""
    output, params = job.output or {}, job.params
    width, _, height = str(params.get("size", "")).partition("x")
    seconds = str(params.get("seconds", ""))
    return {
        "width": output.get("width") or (int(width) if width.isdigit() else None),
        "height": output.get("height") or (int(height) if height.isdigit() else None),
        "duration": output.get("duration") or (int(seconds) if seconds.isdigit() else None),
    }


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def iso(moment: datetime | None) -> str | None:
    """UTC, milliseconds, `Z`: 2026-11-25T13:38:02.512Z."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
