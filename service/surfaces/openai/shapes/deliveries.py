"""Webhook deliveries, their attempts, and the payload every webhook carries."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from service.surfaces.patterns import (
    DELIVERY_ID_PATTERN,
    ENDPOINT_ID_PATTERN,
    MESSAGE_ID_PATTERN,
    VIDEO_ID_PATTERN,
)
from service.surfaces.shapes import Shape


class WebhookDelivery(Shape):
    """One job event on its way to one destination, and every attempt so far."""

    id: str = Field(description="The delivery's id.", pattern=DELIVERY_ID_PATTERN)
    object: Literal["webhook_delivery"]
    webhook_id: str = Field(
        description=(
            "The `webhook-id` header: one per job event, the same on every attempt "
            "and for every destination."
        ),
        pattern=MESSAGE_ID_PATTERN,
    )
    endpoint_id: Annotated[str, Field(pattern=ENDPOINT_ID_PATTERN)] | None = Field(
        description="The registered endpoint; null for the video's own `webhook_url`."
    )
    url: str = Field(description="Where it is sent (as registered, trimmed).")
    event_type: Literal["video.progress", "video.completed", "video.failed", "video.canceled"] = (
        Field(description="The payload's `type`.")
    )
    sequence: int = Field(description="The job event's position in the video's history.", ge=1)
    status: Literal["pending", "succeeded", "failed", "abandoned"] = Field(
        description=(
            "`pending` (queued or waiting for a retry), `succeeded` (a 2xx), "
            "`failed` (retries exhausted, or a manual attempt failed) or "
            "`abandoned` (410 Gone, a refused destination, a disabled endpoint, or "
            "a progress update superseded by a newer one)."
        )
    )
    attempt_count: int = Field(description="How many attempts were made.", ge=0)
    next_attempt_at: float | None = Field(
        description="Unix seconds of the next attempt while `pending`; null otherwise."
    )
    last_status_code: int | None = Field(description="The last attempt's HTTP status, if any.")
    last_error: str | None = Field(
        description="The last attempt's error (or why it was abandoned), if any."
    )
    created_at: float = Field(description="Unix seconds (fractional) of the job event.")
    attempts: list[WebhookDeliveryAttempt] = Field(description="Every attempt, oldest first.")


class WebhookDeliveryAttempt(Shape):
    """One try at sending a delivery."""

    at: float = Field(description="Unix seconds (fractional) when it was sent.")
    status_code: int | None = Field(
        description="The receiver's HTTP status; null when there was no answer."
    )
    latency_ms: float = Field(description="How long it took, in milliseconds.", ge=0)
    response: str | None = Field(
        description=(
            "The start of the receiver's response body (its first 20000 bytes, as "
            "text); null when there was no answer."
        )
    )
    error: str | None = Field(description="What went wrong; null when it succeeded.")
    trigger: Literal["scheduled", "manual"] = Field(
        description="`scheduled` (the retry schedule) or `manual` (redeliver, recover)."
    )


class WebhookDeliveryList(Shape):
    """Deliveries: a video's by job event, or an endpoint's newest first."""

    object: Literal["list"]
    data: list[WebhookDelivery]


class WebhookPayloadError(Shape):
    """Why the video failed; null unless `type` is `video.failed`."""

    code: str = Field(description="A stable code, e.g. `render_failed`.")
    message: str = Field(description="A human-readable explanation.")


class WebhookPayload(Shape):
    """The JSON body of every webhook vidgate sends."""

    type: Literal["video.progress", "video.completed", "video.failed", "video.canceled"] = Field(
        description="What happened."
    )
    video_id: str = Field(description="The video.", pattern=VIDEO_ID_PATTERN)
    status: Literal["in_progress", "completed", "failed", "canceled"] = Field(
        description="The video's status after the event."
    )
    progress: int = Field(
        description=(
            "Percent done (the last known value for failed and canceled; 100 when completed)."
        ),
        ge=0,
        le=100,
    )
    output_url: str | None = Field(
        description="The file's `/content` URL; only in `video.completed`, null otherwise.",
        json_schema_extra={"format": "uri"},
    )
    error: WebhookPayloadError | None = Field(
        description="Why the video failed; null unless `type` is `video.failed`."
    )
    sequence: int = Field(
        description=(
            "The event's position in the video's history: order events by it, as "
            "deliveries may arrive out of order."
        ),
        ge=1,
    )
    occurred_at: str = Field(
        description="When the event was recorded (ISO 8601).",
        json_schema_extra={"format": "date-time"},
    )
