"""The tenant's API keys: list, create with scopes (the key is shown once), revoke.

Managing keys takes the `admin` scope (the first key of a gateway has it). A key is stored
as a hash; the page answering the create form is the only place the key itself appears.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from events.apikey import ADMIN, DEFAULT_SCOPES, SCOPES, ApiKey
from service.runtime import issue_key
from service.surfaces.console.guard import Visit, console_page, visit
from service.surfaces.console.render import page
from service.videos.errors import InvalidField, NotFound


@console_page
async def keys_page(request: Request) -> Response:
    you = await visit(request)
    you.principal.require(ADMIN)
    keys = await run_in_threadpool(_tenant_keys, you)
    context = you.context(keys=keys, scopes=SCOPES, default_scopes=DEFAULT_SCOPES)
    return page("keys.html", context)


def _tenant_keys(you: Visit) -> list[dict[str, Any]]:
    """Newest first; the key this session signed in with is marked."""
    mine = [key for key in you.rt.gateway.list_keys() if key.tenant == you.tenant]
    return [
        {
            "id": key.id.hex,
            "hint": key.hint,
            "scopes": key.scopes,
            "revoked": key.revoked,
            "created_at": key.created_on.timestamp(),
            "current": key.id == you.principal.key_id,
        }
        for key in reversed(mine)
    ]


@console_page
async def create_key(request: Request) -> Response:
    you = await visit(request)
    form = await you.form(ADMIN)
    asked = [str(scope) for scope in form.getlist("scopes")]
    unknown = sorted(set(asked) - set(SCOPES))
    if not asked or unknown:
        raise InvalidField("scopes", f"choose one or more of {', '.join(SCOPES)}")
    scopes = tuple(scope for scope in SCOPES if scope in asked)
    key = await run_in_threadpool(issue_key, you.rt, you.tenant, scopes)
    return page("key_created.html", you.context(key=key, scopes=scopes))


@console_page
async def revoke_key(request: Request) -> Response:
    you = await visit(request)
    await you.form(ADMIN)
    key = await run_in_threadpool(_owned_key, you, request.path_params["key_id"])
    await run_in_threadpool(you.rt.gateway.revoke_key, key.key_hash, "console")
    return RedirectResponse("/console/keys", status_code=303)


def _owned_key(you: Visit, raw: str) -> ApiKey:
    try:
        key_id = UUID(hex=raw)
    except ValueError:
        key_id = None
    key = None if key_id is None else you.rt.gateway.key_with_id(key_id)
    if key is None or key.tenant != you.tenant:
        raise NotFound(f"no API key {raw!r}")
    return key
