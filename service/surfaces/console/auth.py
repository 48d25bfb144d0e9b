"""Signing in with an API key, and out.

The sign-in form is a form like any other: its CSRF token is bound to an anonymous session
made when the form is shown (so another site can't sign a browser in with its own key).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from service.surfaces.console.guard import (
    SignedOut,
    console_page,
    read_form,
    runtime,
    sessions,
    signed_out,
    visit,
)
from service.surfaces.console.render import page
from service.surfaces.console.session import CSRF_FIELD, Session
from service.videos.errors import NotAuthenticated

HOME = "/console/jobs"


@console_page
async def sign_in_form(request: Request) -> Response:
    try:
        await visit(request)
        return RedirectResponse(HOME, status_code=303)
    except (SignedOut, NotAuthenticated):
        pass
    return _form(request, sessions(request).read(request) or Session.fresh())


def _form(request: Request, session: Session, error: str = "", status: int = 200) -> Response:
    keeper = sessions(request)
    context = {"csrf": keeper.csrf_token(session), "error": error}
    response = page("sign_in.html", context, status=status)
    keeper.write(response, session)
    return response


@console_page
async def sign_in(request: Request) -> Response:
    keeper = sessions(request)
    session = keeper.read(request)
    if session is None:  # the cookie expired or was never set: show the form again
        return _form(request, Session.fresh(), "Your session expired; sign in again.", 400)
    form = await read_form(request)
    keeper.check_csrf(session, form.get(CSRF_FIELD))
    key = form.get("api_key")
    if not isinstance(key, str) or not key.strip():
        return _form(request, session, "Enter an API key.", 400)
    try:
        principal = await run_in_threadpool(runtime(request).authenticator.sign_in, key)
    except NotAuthenticated:
        return _form(request, session, "That API key is not valid (or was revoked).", 401)
    response = RedirectResponse(HOME, status_code=303)
    keeper.write(response, Session.fresh(principal.key_id, principal.tenant))
    return response


@console_page
async def sign_out(request: Request) -> Response:
    keeper = sessions(request)
    session = keeper.read(request)
    if session is not None:
        keeper.check_csrf(session, (await read_form(request)).get(CSRF_FIELD))
    return signed_out(request)
