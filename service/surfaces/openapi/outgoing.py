"""The webhook vidgate sends (`webhooks.videoEvent`): headers, signature, retries."""

from __future__ import annotations

from typing import Any

from service.surfaces.openai.shapes.deliveries import WebhookPayload
from service.surfaces.openapi.jsonschema import inline_schema
from service.surfaces.openapi.operations import body, operation
from service.surfaces.patterns import MESSAGE_ID_PATTERN
from service.surfaces.v2_shapes import V2WebhookEvent
from service.webhooks.policy import (
    DISABLE_AFTER,
    JITTER,
    OVERLOAD_MINIMUM,
    PROGRESS_DELAYS,
    TERMINAL_DELAYS,
)
from service.webhooks.sender import MAX_RESPONSE_STORED, REQUEST_TIMEOUT, USER_AGENT

Spec = dict[str, Any]


def _header(name: str, description: str, schema: Spec) -> Spec:
    return {
        "name": name,
        "in": "header",
        "required": True,
        "description": description,
        "schema": schema,
    }


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:g} s"
    return f"{seconds / 60:g} min" if seconds < 3600 else f"{seconds / 3600:g} h"


SIGNATURE_PATTERN = r"^v1,[A-Za-z0-9+/]+={0,2}( v1,[A-Za-z0-9+/]+={0,2})*$"


SIGNATURE = (
    "One `v1,<signature>` per active secret, space-separated (two during a rotation's grace "
    "period, the newest first): accept the message if any of them matches. `<signature>` is "
    "the standard base64 of HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}` (the "
    "raw body bytes), keyed with the base64-decoded part of the secret after `whsec_`."
)


def outgoing_webhooks() -> Spec:
    """The OpenAPI 3.1 `webhooks`: what vidgate POSTs to tenants' URLs."""
    headers = [
        _header(
            "webhook-id",
            "The message id: the same on every attempt and for every "
            "destination of one job event; use it to drop duplicates.",
            {"type": "string", "pattern": MESSAGE_ID_PATTERN},
        ),
        _header(
            "webhook-timestamp",
            "Unix seconds of this attempt; reject messages too far "
            "from your clock (e.g. 5 minutes) to stop replays.",
            {"type": "string", "pattern": r"^\d+$"},
        ),
        _header(
            "webhook-signature",
            SIGNATURE,
            {
                "type": "string",
                "pattern": SIGNATURE_PATTERN,
                "examples": ["v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="],
            },
        ),
    ]
    terminal = ", ".join(_duration(d) for d in TERMINAL_DELAYS)
    progress = ", ".join(_duration(d) for d in PROGRESS_DELAYS)
    description = (
        "vidgate POSTs each job event (progress, completed, failed, canceled) to the video's "
        "`webhook_url` (signed with the tenant's default secret; a v2 job's `webhookUrl` gets "
        "`v2JobEvent` instead) and to every enabled webhook "
        "endpoint of the tenant that subscribes to its kind (signed with the endpoint's secret), "
        "following Standard Webhooks (https://www.standardwebhooks.com). Delivery is at least "
        f"once and unordered: dedupe by `webhook-id`, order by `sequence`. `User-Agent: "
        f"{USER_AGENT}`; redirects are not followed. A failed attempt is retried after "
        f"{terminal} (progress updates: {progress}; each ±{JITTER:.0%}) and then marked "
        "`failed`; a progress update still waiting is superseded by the video's next event. An "
        f"endpoint that answers 410 or has failed every delivery for {DISABLE_AFTER / 86400:g} "
        "days is disabled."
    )
    video_event = operation(
        "videoEvent",
        "A video event, POSTed to your URL",
        "webhooks",
        {
            "2XX": {
                "description": "Received: the delivery `succeeded`. The first "
                f"{MAX_RESPONSE_STORED} bytes of the body are kept in the attempt's `response`."
            },
            "410": {
                "description": "Gone: the delivery is `abandoned` and a registered endpoint is "
                "disabled."
            },
            "429": {
                "description": f"Too many requests: retried no sooner than "
                f"{_duration(OVERLOAD_MINIMUM)} (as is an attempt that times out); a "
                "`Retry-After` (seconds or an HTTP date) may stretch a wait up to twice the "
                "scheduled delay."
            },
            "default": {
                "description": f"Any other status, no answer within {REQUEST_TIMEOUT:g} s, "
                "or a failed connection: retried on the schedule. A destination on a "
                "network that is not public (and not allow-listed) is refused: `abandoned`."
            },
        },
        security=[],
        parameters=headers,
        requestBody=body(WebhookPayload),
        description=description,
    )
    return {"videoEvent": {"post": video_event}, "v2JobEvent": {"post": _v2_event(video_event)}}


def _v2_event(video_event: Spec) -> Spec:
    """A v2 job's own webhook: the same delivery, in v2's words."""
    description = (
        "A video created on `POST /v2/videos/generate` with a `webhookUrl` gets its events "
        "there in v2's words: the `jobId`, v2's event names and field names (by default "
        "`progress`, `completed` and `failed`, the seed's list). Signed, retried and deduped "
        "exactly as `videoEvent`; registered endpoints get `videoEvent` for every video."
    )
    return {
        **video_event,
        "operationId": "v2JobEvent",
        "summary": "A v2 job event, POSTed to its webhookUrl",
        "description": description,
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": inline_schema(V2WebhookEvent)}},
        },
    }
