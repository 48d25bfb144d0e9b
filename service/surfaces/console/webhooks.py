"""Webhook endpoints and their deliveries: create, rotate the secret, disable or enable,
redeliver. The commands and the delivery queue are the API's (`service.videos.endpoints`,
`requeue_delivery`); a new secret is shown once, on the page that answers the form.
"""

from __future__ import annotations

import time

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from events.apikey import WEBHOOKS_READ, WEBHOOKS_WRITE
from events.endpoint import EVENT_FILTERS, WebhookEndpoint
from service.surfaces.console.guard import Visit, console_page, visit
from service.surfaces.console.render import page
from service.surfaces.openai.webhook_endpoints import (
    deliveries_with_attempts,
    endpoint_object,
    parse_id,
    requeue_delivery,
    tenant_endpoints,
)
from service.videos import endpoints
from service.videos.endpoints import RegisterEndpoint, RotateSecret, UpdateEndpoint
from service.videos.errors import NotFound

DELIVERIES_SHOWN = 50


@console_page
async def endpoints_page(request: Request) -> Response:
    you = await visit(request)
    you.principal.require(WEBHOOKS_READ)
    found = await run_in_threadpool(tenant_endpoints, you.rt, you.tenant)
    listed = [endpoint_object(you.rt, endpoint) for endpoint in found]
    context = you.context(endpoints=listed, kinds=EVENT_FILTERS)
    return page("webhooks.html", context)


@console_page
async def create_endpoint(request: Request) -> Response:
    you = await visit(request)
    form = await you.form(WEBHOOKS_WRITE)
    fields = {
        "url": str(form.get("url") or "").strip(),
        "events": [str(kind) for kind in form.getlist("events")] or None,
        "description": str(form.get("description") or "").strip() or None,
    }
    command = RegisterEndpoint(you.tenant, {k: v for k, v in fields.items() if v is not None})
    endpoint = await run_in_threadpool(endpoints.register_endpoint, you.rt.gateway, command)
    return _secret_page(you, endpoint, "created")


def _secret_page(you: Visit, endpoint: WebhookEndpoint, what: str) -> Response:
    shown = endpoint_object(you.rt, endpoint, secret=True)
    return page("secret.html", you.context(endpoint=shown, what=what))


async def _owned(you: Visit, raw: str) -> WebhookEndpoint:
    endpoint_id = parse_id(raw, "we_")
    found = None
    if endpoint_id is not None:
        found = await run_in_threadpool(you.rt.gateway.find_endpoint, endpoint_id)
    if found is None or found.tenant != you.tenant or found.deleted:
        raise NotFound(f"no webhook endpoint {raw!r}")
    return found


@console_page
async def endpoint_page(request: Request) -> Response:
    you = await visit(request)
    you.principal.require(WEBHOOKS_READ)
    endpoint = await _owned(you, request.path_params["endpoint_id"])
    view = you.rt.deliveries_view
    rows = await run_in_threadpool(view.deliveries_of_endpoint, endpoint.id.hex, DELIVERIES_SHOWN)
    deliveries = await run_in_threadpool(deliveries_with_attempts, view, rows)
    context = you.context(endpoint=endpoint_object(you.rt, endpoint), deliveries=deliveries)
    return page("endpoint.html", context)


@console_page
async def rotate_secret(request: Request) -> Response:
    you = await visit(request)
    await you.form(WEBHOOKS_WRITE)
    endpoint = await _owned(you, request.path_params["endpoint_id"])
    command = RotateSecret(you.tenant, endpoint.id, time.time())
    rotated = await run_in_threadpool(endpoints.rotate_secret, you.rt.gateway, command)
    return _secret_page(you, rotated, "rotated")


@console_page
async def set_enabled(request: Request) -> Response:
    you = await visit(request)
    form = await you.form(WEBHOOKS_WRITE)
    endpoint = await _owned(you, request.path_params["endpoint_id"])
    enabled = form.get("enabled") == "true"
    command = UpdateEndpoint(you.tenant, endpoint.id, {"enabled": enabled})
    await run_in_threadpool(endpoints.update_endpoint, you.rt.gateway, command)
    return RedirectResponse(f"/console/webhooks/we_{endpoint.id.hex}", status_code=303)


@console_page
async def redeliver(request: Request) -> Response:
    you = await visit(request)
    form = await you.form(WEBHOOKS_WRITE)
    raw = request.path_params["delivery_id"]
    row = await run_in_threadpool(requeue_delivery, you.rt, you.tenant, raw)
    back = str(form.get("back") or "")
    if not back.startswith("/console/") or back.startswith("//"):
        back = f"/console/webhooks/we_{row.endpoint_id}" if row.endpoint_id else "/console/jobs"
    return RedirectResponse(back, status_code=303)
