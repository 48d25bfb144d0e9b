"""What the seed-compatible facades share.

A facade translates its request into vidgate's canonical create fields, runs the core's
`CreateVideo`, and answers in its own shapes. Its refusals must come out in its own error
shape too, but Starlette's app-wide handlers render OpenAI's: so each facade wraps its routes
with `translated(render, wording)`, the one place where that surface maps errors. A wording
tells a core refusal with the facade's names for the fields (a declared table, canonical →
the surface's), so `param` and the message name what the client sent.
"""

from __future__ import annotations

import functools
import logging
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
from service.storage.blobs import StorageUnavailable
from service.surfaces.errors import ApiError, told
from service.videos.errors import Forbidden, Refused

log = logging.getLogger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]
Render = Callable[[ApiError], Response]
Wording = Callable[[Refused], ApiError]


def translated(render: Render, wording: Wording = told) -> Callable[[Endpoint], Endpoint]:
    """Wrap a facade's route so every refusal is told by `wording`, rendered by `render`."""

    def wrap(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def wrapped(request: Request) -> Response:
            try:
                return await endpoint(request)
            except ApiError as error:
                return render(error)
            except Refused as error:
                return render(wording(error))
            except (PersistenceError, JobContention, StorageUnavailable) as error:  # a 503
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


def as_sent(names: Mapping[str, str]) -> Wording:
    """Tell a refusal about a field the client sent with `names` for every field it mentions,
    naming the field first when the message does not; a refusal about a field the client did
    not send (a default that does not fit) keeps vidgate's names."""

    def word(error: Refused) -> ApiError:
        if error.field is None or error.field not in names:
            return told(error, {})
        refusal, param = told(error, names), names[error.field]
        if param in refusal.message:
            return refusal
        message = f"{param}: {refusal.message}"  # e.g. "unreadable image: …"
        return ApiError(
            refusal.status, message, code=refusal.code, param=param, headers=refusal.headers
        )

    return word


def field_only(names: Mapping[str, str], phrases: Mapping[str, str]) -> Wording:
    """Tell a refusal with the surface's name for its own field (and `phrases`, e.g. the
    first-frame fields as one name); other fields it mentions keep vidgate's names."""

    def word(error: Refused) -> ApiError:
        field = error.field or ""
        own = {field: names[field]} if field in names else {}
        return told(error, {**phrases, **own})

    return word


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
        raise Forbidden(f"this API key lacks the {wanted} scope", code="missing_scope")


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
