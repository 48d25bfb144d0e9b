"""Who is visiting: the signed-in key behind a console request, and what it may do.

Authorization is the API's: a `Principal` from the key, and `Principal.require(scope)` on
every write (a read-only key's POST is a 403, whatever the page showed). Each handler is
wrapped by `console_page`, which turns the core's refusals into HTML answers: signed out →
the sign-in page; anything else → an error page with the API's status (400/403/404/409…).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from events.apikey import ADMIN
from service.auth.authenticator import Principal
from service.runtime import Runtime
from service.surfaces.console.render import page
from service.surfaces.console.session import CSRF_FIELD, CsrfRefused, Session, Sessions
from service.surfaces.errors import ApiError, status_of
from service.videos.errors import NotAuthenticated, Refused

SIGN_IN = "/console/sign-in"
MAX_FORM_BYTES = 64 * 1024

Handler = Callable[[Request], Awaitable[Response]]


class SignedOut(Exception):
    """No session, or its key is gone or revoked."""


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def sessions(request: Request) -> Sessions:
    """The app's (made in its lifespan: `service.surfaces.console.sessions_for`)."""
    made: Sessions = request.app.state.console_sessions
    return made


@dataclass(frozen=True)
class Visit:
    """A signed-in request: its session, its key's principal, and the runtime."""

    request: Request
    rt: Runtime
    session: Session
    principal: Principal

    @property
    def tenant(self) -> str:
        return self.principal.tenant

    def can(self, scope: str) -> bool:
        return scope in self.principal.scopes or ADMIN in self.principal.scopes

    def context(self, **extra: Any) -> dict[str, Any]:
        """What every page's template gets: the visitor, its rights, the form token."""
        csrf = sessions(self.request).csrf_token(self.session)
        path = self.request.url.path
        return {"visit": self, "can": self.can, "csrf": csrf, "path": path, **extra}

    async def form(self, scope: str) -> FormData:
        """A posted form, once its CSRF token is this session's and the key has `scope`."""
        form = await read_form(self.request)
        sessions(self.request).check_csrf(self.session, form.get(CSRF_FIELD))
        self.principal.require(scope)
        return form


async def read_form(request: Request) -> FormData:
    if int(request.headers.get("content-length") or 0) > MAX_FORM_BYTES:
        raise ApiError(413, "this form is too large", code="payload_too_large")
    return await request.form(max_files=0, max_fields=100)


async def visit(request: Request) -> Visit:
    session = sessions(request).read(request)
    if session is None or session.key_id is None:
        raise SignedOut()
    rt = runtime(request)
    principal = await run_in_threadpool(rt.authenticator.principal_of, session.key_id)
    if principal.tenant != session.tenant:
        raise SignedOut()
    return Visit(request, rt, session, principal)


def console_page(handler: Handler) -> Handler:
    """`handler` with the console's answers to refusals (HTML, not the API's JSON)."""

    @functools.wraps(handler)
    async def answer(request: Request) -> Response:
        try:
            return await handler(request)
        except (SignedOut, NotAuthenticated):
            return signed_out(request)
        except CsrfRefused as refused:
            return problem(403, str(refused))
        except Refused as refused:
            return problem(status_of(refused), refused.told())
        except ApiError as error:
            return problem(error.status, error.message)

    return answer


def signed_out(request: Request) -> Response:
    """To the sign-in page; a stale cookie is dropped on the way."""
    response = RedirectResponse(SIGN_IN, status_code=303)
    if request.cookies:
        sessions(request).clear(response)
    return response


def problem(status: int, message: str) -> Response:
    return page("problem.html", {"status": status, "message": message}, status=status)
