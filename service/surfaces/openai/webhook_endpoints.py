"""Webhook endpoints, the tenant's default secret, and delivery visibility and replay."""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from events.apikey import VIDEOS_READ, WEBHOOKS_READ, WEBHOOKS_WRITE
from events.endpoint import WebhookEndpoint
from projections.deliveries.store import SQLDeliveriesView
from projections.deliveries.view import AttemptRow, DeliveryRow
from service.auth.authenticator import Principal
from service.runtime import Runtime
from service.surfaces.body import read_fields, read_optional_fields
from service.surfaces.errors import ApiError, invalid, not_found
from service.surfaces.job_ids import job_id_of
from service.videos import endpoints
from service.videos.endpoints import DeleteEndpoint, RegisterEndpoint, RotateSecret, UpdateEndpoint
from service.webhooks import fields
from service.webhooks.signing import endpoint_scope, tenant_scope

ENDPOINT_FIELDS = endpoints.ENDPOINT_FIELDS  # what a create or update may send
MAX_BODY = 64 * 1024


def _runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


async def _principal(request: Request, scope: str) -> Principal:
    principal = await _runtime(request).authenticator.authenticate(request)
    principal.require(scope)
    return principal


async def default_secret(request: Request) -> Response:
    principal = await _principal(request, WEBHOOKS_READ)
    key = _runtime(request).deriver.secret(tenant_scope(principal.tenant), 1)
    return JSONResponse({"key": key})


def endpoint_object(
    rt: Runtime, endpoint: WebhookEndpoint, *, secret: bool = False
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f"we_{endpoint.id.hex}",
        "object": "webhook_endpoint",
        "url": endpoint.url,
        "events": endpoint.events,
        "description": endpoint.description,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "created_at": int(endpoint.created_on.timestamp()),
    }
    if secret:
        body["secret"] = rt.deriver.secret(endpoint_scope(endpoint.id.hex), endpoint.generation)
    return body


async def create_endpoint(request: Request) -> Response:
    principal = await _principal(request, WEBHOOKS_WRITE)
    rt = _runtime(request)
    command = RegisterEndpoint(principal.tenant, await read_fields(request, MAX_BODY))
    endpoint = await run_in_threadpool(endpoints.register_endpoint, rt.gateway, command)
    return JSONResponse(endpoint_object(rt, endpoint, secret=True), status_code=201)


async def _owned_endpoint(request: Request, scope: str) -> WebhookEndpoint:
    principal = await _principal(request, scope)
    raw = request.path_params["endpoint_id"]
    endpoint_id = parse_id(raw, "we_")
    found = None
    if endpoint_id is not None:
        found = await run_in_threadpool(_runtime(request).gateway.find_endpoint, endpoint_id)
    if found is None or found.tenant != principal.tenant or found.deleted:
        raise not_found(f"no webhook endpoint {raw!r}", param="endpoint_id")
    return found


def parse_id(raw: str, prefix: str) -> UUID | None:
    body = raw.removeprefix(prefix)
    if not raw.startswith(prefix) or len(body) != 32:
        return None
    try:
        return UUID(hex=body)
    except ValueError:
        return None


async def list_endpoints(request: Request) -> Response:
    principal = await _principal(request, WEBHOOKS_READ)
    rt = _runtime(request)
    found = await run_in_threadpool(tenant_endpoints, rt, principal.tenant)
    data = [endpoint_object(rt, e) for e in found]
    return JSONResponse({"object": "list", "data": data})


def tenant_endpoints(rt: Runtime, tenant: str) -> list[WebhookEndpoint]:
    """The tenant's endpoints (not deleted), as the API and the console list them."""
    rows = rt.deliveries_view.endpoints_of(tenant)
    found = [rt.gateway.find_endpoint(UUID(hex=row.endpoint_id)) for row in rows]
    return [e for e in found if e is not None and not e.deleted]


async def get_endpoint(request: Request) -> Response:
    endpoint = await _owned_endpoint(request, WEBHOOKS_READ)
    return JSONResponse(endpoint_object(_runtime(request), endpoint))


async def update_endpoint(request: Request) -> Response:
    endpoint = await _owned_endpoint(request, WEBHOOKS_WRITE)
    rt = _runtime(request)
    command = UpdateEndpoint(endpoint.tenant, endpoint.id, await read_fields(request, MAX_BODY))
    updated = await run_in_threadpool(endpoints.update_endpoint, rt.gateway, command)
    return JSONResponse(endpoint_object(rt, updated))


async def delete_endpoint(request: Request) -> Response:
    endpoint = await _owned_endpoint(request, WEBHOOKS_WRITE)
    command = DeleteEndpoint(endpoint.tenant, endpoint.id)
    await run_in_threadpool(endpoints.delete_endpoint, _runtime(request).gateway, command)
    body = {"id": f"we_{endpoint.id.hex}", "object": "webhook_endpoint.deleted", "deleted": True}
    return JSONResponse(body)


async def rotate_secret(request: Request) -> Response:
    endpoint = await _owned_endpoint(request, WEBHOOKS_WRITE)
    rt = _runtime(request)
    body = await read_optional_fields(request, MAX_BODY)
    command = RotateSecret(endpoint.tenant, endpoint.id, time.time(), body)
    rotated = await run_in_threadpool(endpoints.rotate_secret, rt.gateway, command)
    return JSONResponse(endpoint_object(rt, rotated, secret=True))


async def recover(request: Request) -> Response:
    endpoint = await _owned_endpoint(request, WEBHOOKS_WRITE)
    _check_enabled(endpoint.enabled, endpoint.id.hex)
    body = await read_optional_fields(request, MAX_BODY)
    fields.known_fields(body, {"since", "until"})
    now = time.time()
    since = fields.moment(body.get("since"), "since", now - 7 * 24 * 3600)
    until = fields.moment(body.get("until"), "until", now)
    if since >= until:
        raise invalid("since", "since must be before until")
    view = _runtime(request).deliveries_view
    count = await run_in_threadpool(view.recover, endpoint.id.hex, since, until, now)
    _runtime(request).wake_sender()
    return JSONResponse({"object": "recovery", "requeued": count})


async def endpoint_deliveries(request: Request) -> Response:
    endpoint = await _owned_endpoint(request, WEBHOOKS_READ)
    limit = _limit(request)
    view = _runtime(request).deliveries_view
    rows = await run_in_threadpool(view.deliveries_of_endpoint, endpoint.id.hex, limit)
    return JSONResponse(await _delivery_list(request, rows))


async def video_deliveries(request: Request) -> Response:
    principal = await _principal(request, VIDEOS_READ)
    raw = request.path_params["video_id"]
    job_id = job_id_of(raw)
    rt = _runtime(request)
    job = None if job_id is None else await run_in_threadpool(rt.gateway.find_job, job_id)
    if job is None or job.tenant != principal.tenant:
        raise not_found(f"no video with id {raw!r}", param="video_id")
    rows = await run_in_threadpool(rt.deliveries_view.deliveries_of_job, job.id.hex)
    return JSONResponse(await _delivery_list(request, rows))


async def redeliver(request: Request) -> Response:
    principal = await _principal(request, WEBHOOKS_WRITE)
    rt = _runtime(request)
    raw = request.path_params["delivery_id"]
    row = await run_in_threadpool(requeue_delivery, rt, principal.tenant, raw)
    return JSONResponse(delivery_object(row, []), status_code=202)


def requeue_delivery(rt: Runtime, tenant: str, raw: str) -> DeliveryRow:
    """Send the tenant's delivery `raw` again (the API's redeliver, and the console's):
    404 if it is not the tenant's, 409 if its endpoint is disabled or it is being sent."""
    row = rt.deliveries_view.get_delivery(raw)
    if row is None or row.tenant != tenant:
        raise not_found(f"no delivery {raw!r}", param="delivery_id")
    if row.endpoint_id is not None:
        found = rt.deliveries_view.get_endpoint(row.endpoint_id)
        _check_enabled(found is not None and found.enabled, row.endpoint_id)
    if not rt.deliveries_view.redeliver(raw, time.time()):
        raise ApiError(409, "this delivery is being sent right now", code="delivery_in_flight")
    rt.wake_sender()
    return rt.deliveries_view.get_delivery(raw) or row


def _check_enabled(enabled: bool, endpoint_id: str) -> None:
    """Nothing is sent to a disabled endpoint, so re-queueing for one would only mislead."""
    if not enabled:
        raise ApiError(
            409,
            f"webhook endpoint we_{endpoint_id} is disabled; enable it first",
            code="endpoint_disabled",
            param="endpoint_id",
        )


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit", "50")
    if not (raw.isascii() and raw.isdecimal()) or not 1 <= int(raw) <= 200:
        raise invalid("limit", "limit must be an integer from 1 to 200")
    return int(raw)


async def _delivery_list(request: Request, rows: list[DeliveryRow]) -> dict[str, Any]:
    view = _runtime(request).deliveries_view
    data = await run_in_threadpool(deliveries_with_attempts, view, rows)
    return {"object": "list", "data": data}


def deliveries_with_attempts(
    view: SQLDeliveriesView, rows: list[DeliveryRow]
) -> list[dict[str, Any]]:
    """Each delivery's object with its attempts (the API's lists, and the console's)."""
    attempts = view.attempts_of([row.delivery_id for row in rows])
    by_delivery: dict[str, list[AttemptRow]] = {}
    for attempt in attempts:
        by_delivery.setdefault(attempt.delivery_id, []).append(attempt)
    # Rows and attempts are read in two transactions: an attempt finished in between would
    # show next to a row from before it (pending, attempt_count one short). A row's attempts
    # are recorded with its counter, one at a time, so its first `attempts` are its snapshot.
    return [
        delivery_object(row, by_delivery.get(row.delivery_id, [])[: row.attempts]) for row in rows
    ]


def delivery_object(row: DeliveryRow, attempts: list[AttemptRow]) -> dict[str, Any]:
    return {
        "id": row.delivery_id,
        "object": "webhook_delivery",
        "webhook_id": row.msg_id,
        "endpoint_id": f"we_{row.endpoint_id}" if row.endpoint_id else None,
        "url": row.url,
        "event_type": f"video.{row.event_type}",
        "sequence": row.sequence,
        "status": row.status,
        "attempt_count": row.attempts,
        "next_attempt_at": row.next_attempt_at if row.status == "pending" else None,
        "last_status_code": row.last_status_code,
        "last_error": row.last_error,
        "created_at": row.created_at,
        "attempts": [
            {
                "at": a.attempted_at,
                "status_code": a.status_code,
                "latency_ms": a.latency_ms,
                "response": a.response,
                "error": a.error,
                "trigger": a.trigger,
            }
            for a in attempts
        ],
    }


routes = [
    Route("/v1/webhooks/default/secret", default_secret, methods=["GET"]),
    Route("/v1/webhook_endpoints", create_endpoint, methods=["POST"]),
    Route("/v1/webhook_endpoints", list_endpoints, methods=["GET"]),
    Route("/v1/webhook_endpoints/{endpoint_id}", get_endpoint, methods=["GET"]),
    Route("/v1/webhook_endpoints/{endpoint_id}", update_endpoint, methods=["PATCH"]),
    Route("/v1/webhook_endpoints/{endpoint_id}", delete_endpoint, methods=["DELETE"]),
    Route("/v1/webhook_endpoints/{endpoint_id}/rotate_secret", rotate_secret, methods=["POST"]),
    Route("/v1/webhook_endpoints/{endpoint_id}/recover", recover, methods=["POST"]),
    Route("/v1/webhook_endpoints/{endpoint_id}/deliveries", endpoint_deliveries, methods=["GET"]),
    Route("/v1/videos/{video_id}/deliveries", video_deliveries, methods=["GET"]),
    Route("/v1/deliveries/{delivery_id}/redeliver", redeliver, methods=["POST"]),
]
