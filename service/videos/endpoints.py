"""The webhook-endpoint commands: register, update, rotate the secret, delete.

Like the video commands, each is a plain dataclass in canonical field names; its handler
checks the fields (`service.webhooks.fields`) and appends the endpoint's event, refusing with
`service.videos.errors` only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from events.app import Gateway
from events.endpoint import EndpointDeleted, WebhookEndpoint
from service.videos.errors import InvalidField, NotFound
from service.webhooks import fields as checks

ENDPOINT_FIELDS = frozenset({"url", "events", "description", "enabled"})
ROTATE_FIELDS = frozenset({"grace_period_seconds"})


@dataclass(frozen=True)
class RegisterEndpoint:
    tenant: str
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UpdateEndpoint:
    """Change the fields given (any of `ENDPOINT_FIELDS`); the others stay."""

    tenant: str
    endpoint_id: UUID
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RotateSecret:
    """A new signing secret; the old one keeps verifying for the grace period."""

    tenant: str
    endpoint_id: UUID
    now: float  # unix seconds: the grace period counts from here
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeleteEndpoint:
    tenant: str
    endpoint_id: UUID
    by: str = "api"


def register_endpoint(gateway: Gateway, command: RegisterEndpoint) -> WebhookEndpoint:
    body = command.fields
    checks.known_fields(body, set(ENDPOINT_FIELDS))
    if "url" not in body:
        raise InvalidField("url", lambda n: f"{n('url')} is required", "missing_required_parameter")
    return gateway.register_endpoint(
        tenant=command.tenant,
        url=checks.webhook_url(body["url"], "url"),
        events=checks.event_filter(body.get("events"), "events"),
        description=checks.description(body.get("description")),
        enabled=checks.flag(body.get("enabled", True), "enabled"),
    )


def update_endpoint(gateway: Gateway, command: UpdateEndpoint) -> WebhookEndpoint:
    body = command.fields
    checks.known_fields(body, set(ENDPOINT_FIELDS))
    changes: dict[str, Any] = {}
    if "url" in body:
        changes["url"] = checks.webhook_url(body["url"], "url")
    if "events" in body:
        changes["events"] = checks.event_filter(body["events"], "events")
    if "description" in body:
        changes["description"] = checks.description(body["description"])
    if "enabled" in body:
        changes["enabled"] = checks.flag(body["enabled"], "enabled")
    return _change(gateway, command.tenant, command.endpoint_id, lambda e: e.update(**changes))


def rotate_secret(gateway: Gateway, command: RotateSecret) -> WebhookEndpoint:
    checks.known_fields(command.fields, set(ROTATE_FIELDS))
    expires = command.now + checks.grace_period(command.fields)
    return _change(gateway, command.tenant, command.endpoint_id, lambda e: e.rotate_secret(expires))


def delete_endpoint(gateway: Gateway, command: DeleteEndpoint) -> WebhookEndpoint:
    return _change(gateway, command.tenant, command.endpoint_id, lambda e: e.delete(command.by))


def _change(
    gateway: Gateway, tenant: str, endpoint_id: UUID, change: Callable[[WebhookEndpoint], None]
) -> WebhookEndpoint:
    """Apply `change` to the tenant's endpoint; one deleted meanwhile is not found."""
    found = gateway.find_endpoint(endpoint_id)
    if found is None or found.tenant != tenant:
        raise NotFound(f"no webhook endpoint 'we_{endpoint_id.hex}'", field="endpoint_id")
    try:
        return gateway.update_endpoint(endpoint_id, change)
    except EndpointDeleted:
        raise NotFound("the webhook endpoint was deleted", field="endpoint_id") from None
