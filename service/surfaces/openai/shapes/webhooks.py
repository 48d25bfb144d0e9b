"""Webhook endpoints: the object, its list, and the requests that manage them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from service.surfaces.patterns import (
    ENDPOINT_ID_PATTERN,
    EVENT_LIST_PATTERN,
    HTTP_URL_PATTERN,
    SECRET_PATTERN,
)
from service.surfaces.shapes import RequestShape, Shape
from service.webhooks.fields import DEFAULT_GRACE, MAX_DESCRIPTION, MAX_GRACE, MAX_URL


class WebhookEndpoint(Shape):
    """A registered webhook endpoint: every job event of the tenant whose kind it subscribes to
    is POSTed to it, signed with its own secret."""

    id: str = Field(description="The endpoint's id.", pattern=ENDPOINT_ID_PATTERN)
    object: Literal["webhook_endpoint"]
    url: str = Field(description="Where events are POSTed (as registered, trimmed).")
    events: list[Literal["progress", "completed", "failed", "canceled"]] = Field(
        description="The event kinds it receives, in canonical order."
    )
    description: str = Field(description="The tenant's note (empty when none).")
    enabled: bool = Field(
        description=(
            "Whether events are sent to it. The sender disables an endpoint that "
            "answers 410 Gone or has failed every delivery for 5 days."
        )
    )
    disabled_reason: str | None = Field(description="Why it was disabled; null while enabled.")
    created_at: int = Field(description="Unix seconds when it was registered.")
    secret: Annotated[str, Field(pattern=SECRET_PATTERN)] | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "The signing secret (`whsec_` and base64): only in the answers to "
            "create and rotate_secret; it cannot be read again."
        ),
    )


class WebhookEndpointWithSecret(WebhookEndpoint):
    """A webhook endpoint, with its current signing `secret`."""

    secret: str = Field(
        description=(
            "The signing secret (`whsec_` and base64): only in the answers to "
            "create and rotate_secret; it cannot be read again."
        ),
        pattern=SECRET_PATTERN,
    )


class WebhookEndpointList(Shape):
    """The tenant's webhook endpoints (not deleted), by id; secrets are not shown."""

    object: Literal["list"]
    data: list[WebhookEndpoint]


class WebhookEndpointDeleted(Shape):
    """Confirms a deletion."""

    id: str = Field(description="The deleted endpoint's id.", pattern=ENDPOINT_ID_PATTERN)
    object: Literal["webhook_endpoint.deleted"]
    deleted: Literal[True]


class CreateWebhookEndpointRequest(RequestShape):
    """Registers a webhook endpoint. An unknown field is a 400 `unknown_parameter`."""

    url: str = Field(
        description=(
            "Where to POST events (see the `videoEvent` webhook). An http(s) URL "
            "with a host, at most 2048 printable characters, without userinfo "
            "(`user:pass@`). Destinations on private, loopback or link-local "
            "networks are refused when the webhook is sent (the delivery is "
            "`abandoned`) unless the server allow-lists them "
            "(`VIDGATE_ALLOWED_PRIVATE_NETWORKS`)."
        ),
        examples=["https://example.com/hooks/vidgate"],
        pattern=HTTP_URL_PATTERN,
        max_length=MAX_URL,
    )
    events: (
        Annotated[list[Literal["progress", "completed", "failed", "canceled"]], Field(min_length=1)]
        | Annotated[
            str,
            Field(pattern=EVENT_LIST_PATTERN, json_schema_extra={"examples": ["completed,failed"]}),
        ]
        | None
    ) = Field(
        default=None,
        description=(
            "Which job events to send; all of them when omitted or null. Stored as "
            "a list in canonical order. A list or a comma-separated string of "
            "`progress`, `completed`, `failed`, `canceled`."
        ),
    )
    description: Annotated[str, Field(max_length=MAX_DESCRIPTION)] | None = Field(
        default=None, description="A note for people; null means empty."
    )
    enabled: bool | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "Whether events are sent; default true. Setting it to true re-enables "
            "an endpoint the sender disabled."
        ),
    )


class UpdateWebhookEndpointRequest(RequestShape):
    """Changes a webhook endpoint: only the fields given (`{}` changes nothing)."""

    url: (
        Annotated[str, Field(pattern=HTTP_URL_PATTERN, max_length=MAX_URL)] | SkipJsonSchema[None]
    ) = Field(
        default=None,
        description=(
            "Where to POST events (see the `videoEvent` webhook). An http(s) URL "
            "with a host, at most 2048 printable characters, without userinfo "
            "(`user:pass@`). Destinations on private, loopback or link-local "
            "networks are refused when the webhook is sent (the delivery is "
            "`abandoned`) unless the server allow-lists them "
            "(`VIDGATE_ALLOWED_PRIVATE_NETWORKS`)."
        ),
        examples=["https://example.com/hooks/vidgate"],
    )
    events: (
        Annotated[list[Literal["progress", "completed", "failed", "canceled"]], Field(min_length=1)]
        | Annotated[
            str,
            Field(pattern=EVENT_LIST_PATTERN, json_schema_extra={"examples": ["completed,failed"]}),
        ]
        | None
    ) = Field(
        default=None,
        description=(
            "Which job events to send; all of them when omitted or null. Stored as "
            "a list in canonical order. A list or a comma-separated string of "
            "`progress`, `completed`, `failed`, `canceled`."
        ),
    )
    description: Annotated[str, Field(max_length=MAX_DESCRIPTION)] | None = Field(
        default=None, description="A note for people; null means empty."
    )
    enabled: bool | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "Whether events are sent; default true. Setting it to true re-enables "
            "an endpoint the sender disabled."
        ),
    )


class RotateWebhookSecretRequest(RequestShape):
    """Options of a secret rotation (the body may be omitted)."""

    grace_period_seconds: Annotated[int, Field(ge=0, le=MAX_GRACE)] | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "How long the previous secret keeps signing (alongside the new one), in"
            " seconds; at most 604800 (7 days), 0 to retire it at once."
        ),
        json_schema_extra={"default": DEFAULT_GRACE},
    )


class RecoverWebhookDeliveriesRequest(RequestShape):
    """The window of deliveries to send again, by creation time (the body may be omitted)."""

    since: float | Annotated[str, Field(json_schema_extra={"format": "date-time"})] | None = Field(
        default=None,
        description=(
            "Start of the window (inclusive); 7 days ago when omitted or null. Unix"
            " seconds, or an ISO 8601 time with a zone."
        ),
        examples=[1767225600, "2026-01-01T00:00:00Z"],
    )
    until: float | Annotated[str, Field(json_schema_extra={"format": "date-time"})] | None = Field(
        default=None,
        description=(
            "End of the window (exclusive); now when omitted or null. Must be after"
            " `since`. Unix seconds, or an ISO 8601 time with a zone."
        ),
        examples=[1767225600, "2026-01-01T00:00:00Z"],
    )


class WebhookRecovery(Shape):
    """How many failed or abandoned deliveries were queued again."""

    object: Literal["recovery"]
    requeued: int = Field(description="The number of deliveries queued again.", ge=0)


class DefaultWebhookSecret(Shape):
    """The tenant's default signing secret: it signs the webhooks sent to a video's `webhook_url`
    (registered endpoints have their own)."""

    key: str = Field(description="The secret, `whsec_` and base64.", pattern=SECRET_PATTERN)
