"""The OpenAPI 3.1 document for every route vidgate serves (schemas: `openapi_schemas`)."""

from __future__ import annotations

import functools
from typing import Any

from events.apikey import ADMIN, VIDEOS_READ, VIDEOS_WRITE, WEBHOOKS_READ, WEBHOOKS_WRITE
from events.job import STATUSES
from projections.analytics.view import DIMENSIONS
from projections.feed.projection import FEED_TYPES
from service.catalog import PROVIDERS
from service.surfaces.openai.analytics import NO_GROUPING
from service.surfaces.openai.events_feed import DEFAULT_LIMIT as FEED_LIMIT
from service.surfaces.openai.events_feed import MAX_LIMIT as FEED_MAX_LIMIT
from service.surfaces.openai.shapes import COMPONENTS
from service.surfaces.openai.videos import MAX_IDEMPOTENCY_KEY
from service.surfaces.openai.webhook_endpoints import MAX_BODY as WEBHOOK_MAX_BODY
from service.surfaces.openapi.concurred import concurred_paths
from service.surfaces.openapi.jsonschema import component_schemas, ref
from service.surfaces.openapi.semantic import mark_semantic_fields
from service.surfaces.openapi.task_api import task_api_paths
from service.surfaces.openapi.v2_novakit import v2_novakit_paths
from service.surfaces.patterns import MESSAGE_ID_PATTERN, comma_list_pattern
from service.webhooks.policy import (
    DISABLE_AFTER,
    JITTER,
    OVERLOAD_MINIMUM,
    PROGRESS_DELAYS,
    TERMINAL_DELAYS,
)
from service.webhooks.sender import MAX_RESPONSE_STORED, REQUEST_TIMEOUT, USER_AGENT

Spec = dict[str, Any]

VERSION = "0.1.0"
ERRORS = {
    400: "Invalid request; `error.param` names the field at fault.",
    401: "Missing, malformed, unknown or revoked API key (`missing_api_key`, `invalid_api_key`).",
    403: "The API key lacks the scope this operation needs (`missing_scope`).",
    404: "No such video for this tenant (`not_found`); other tenants' videos are never revealed.",
    409: "The request conflicts with the video's state.",
    413: "The request body exceeds the server's limit (`request_too_large`).",
    415: "The body is neither JSON nor a form (`unsupported_media_type`).",
}
POLL_AFTER = {
    "openai-poll-after-ms": {
        "description": "Present while the video is unfinished: how long to wait before polling.",
        "schema": {"type": "integer", "minimum": 0},
    }
}
VIDEO_ID = {
    "name": "video_id",
    "in": "path",
    "required": True,
    "description": "A video id (`video_` and 32 hex digits); anything else is a 404.",
    "schema": {"type": "string", "examples": ["video_6f1c5a523a1e4f6b9a557d0c1f2b9e10"]},
}
ENDPOINT_ID = {
    "name": "endpoint_id",
    "in": "path",
    "required": True,
    "description": "A webhook endpoint id (`we_` and 32 hex digits); anything else is a 404.",
    "schema": {"type": "string", "examples": ["we_0b7e4c1d9a2f4e8b8c3d5f6a7b8c9d0e"]},
}
DELIVERY_ID = {
    "name": "delivery_id",
    "in": "path",
    "required": True,
    "description": "A delivery id (`dlv_` and 32 hex digits), from a deliveries list.",
    "schema": {"type": "string", "examples": ["dlv_3c9d1e2f4a5b4c6d8e7f9a0b1c2d3e4f"]},
}
NO_ENDPOINT = (404, "No such webhook endpoint for this tenant, or it was deleted (`not_found`).")


def _json(schema: Spec, description: str, headers: Spec | None = None) -> Spec:
    response: Spec = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        response["headers"] = headers
    return response


def _error_responses(*codes: int | tuple[int, str]) -> dict[str, Spec]:
    """Error responses in the `Error` shape; `(code, text)` overrides the default text."""
    responses: dict[str, Spec] = {}
    for item in codes:
        code, text = item if isinstance(item, tuple) else (item, ERRORS[item])
        responses[str(code)] = _json(ref("Error"), text)
        if code == 401:
            responses["401"]["headers"] = {"WWW-Authenticate": {"schema": {"const": "Bearer"}}}
    return responses


def _query(name: str, description: str, schema: Spec) -> Spec:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def _op(
    op_id: str,
    summary: str,
    tag: str,
    responses: Spec,
    *,
    scope: str | None = None,
    description: str | None = None,
    **extra: Any,
) -> Spec:
    """An operation; `scope` names the API-key scope it needs (`admin` also suffices)."""
    operation: Spec = {"operationId": op_id, "summary": summary, "tags": [tag]}
    if description:
        operation["description"] = description
    if scope:
        operation["security"] = [{"bearer": [scope]}]
        note = f"Needs the `{scope}` scope (or `{ADMIN}`)."
        operation["description"] = f"{description} {note}" if description else note
    return {**operation, **extra, "responses": responses}


def _ops_paths() -> Spec:
    """Probes and this document: no API key (`security: []`)."""
    return {
        "/healthz": {
            "get": _op(
                "healthz",
                "Liveness probe",
                "ops",
                {
                    "200": _json(ref("Health"), "The process is up."),
                },
                security=[],
            )
        },
        "/readyz": {
            "get": _op(
                "readyz",
                "Readiness probe",
                "ops",
                {
                    "200": _json(ref("Readiness"), "The event store answers."),
                    "503": _json(ref("Readiness"), "The event store does not answer."),
                },
                security=[],
            )
        },
        "/openapi.json": {
            "get": _op(
                "getOpenApi",
                "This OpenAPI document",
                "ops",
                {
                    "200": _json({"type": "object"}, "The OpenAPI 3.1 document."),
                },
                security=[],
            )
        },
        "/metrics": {
            "get": _op(
                "metrics",
                "Prometheus metrics",
                "ops",
                {
                    "200": {
                        "description": "Prometheus text exposition format.",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                },
                security=[],
            )
        },
    }


def _upstream_paths() -> Spec:
    """What upstream providers call: no API key; signed tokens and signatures instead."""
    hook = {
        "type": "object",
        "properties": {
            "ok": {"type": "boolean"},
            "outcome": {"type": "string"},
            "error": {"type": "string"},
        },
    }
    answers = {
        "200": _json(
            hook,
            "Accepted (`outcome` accepted), or a duplicate that changed "
            "nothing (`duplicate`). MiniMax's challenge is echoed back.",
        ),
        "202": _json(hook, "An unsigned hint whose status fetch failed; the poller follows up."),
        "401": _json(
            hook,
            "Forged, expired or tampered token, bad provider signature, or "
            "another job's webhook: nothing was appended.",
        ),
        "404": _json(hook, "The provider is not enabled, or the token names no job."),
        "413": _json(hook, "The body is larger than 1 MiB."),
        "503": _json(hook, "Our store is down or the dispatch is not recorded yet: retry."),
    }
    provider = {
        "name": "provider",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
        "description": "fal, replicate, minimax, luma …",
    }
    token = {
        "name": "token",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
        "description": "The signed, expiring token vidgate put in the callback URL.",
    }
    return {
        "/hooks/{provider}/{token}": {
            "parameters": [provider, token],
            "post": _op(
                "receiveUpstreamWebhook",
                "An upstream provider's webhook for one job",
                "upstream",
                answers,
                security=[],
                description="Verified on the raw body before parsing: the "
                "token, then the provider's own signature (fal ED25519 + user id, Replicate "
                "Standard Webhooks). Unsigned callbacks (MiniMax, Luma, Kling) only trigger a "
                "status fetch.",
            ),
        },
        "/hooks/sora": {
            "post": _op(
                "receiveOpenAIWebhook",
                "OpenAI's project webhook (video.completed/failed)",
                "upstream",
                answers,
                security=[],
                description="Standard Webhooks signed with "
                "VIDGATE_OPENAI_WEBHOOK_SECRET; the video id names the job.",
            )
        },
        "/v1/inputs/{token}": {
            "parameters": [
                {"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "get": _op(
                "getInput",
                "An uploaded input image, for an upstream",
                "upstream",
                {
                    "200": {"description": "The image.", "content": {"image/*": {}}},
                    "403": _json(ref("Error"), "The link is forged or expired."),
                    "404": _json(ref("Error"), "The input is no longer stored."),
                },
                security=[],
            ),
        },
    }


def _create_video() -> Spec:
    created = "the video object; poll `GET /v1/videos/{video_id}` until it is finished."
    body = {
        "required": True,
        "content": {
            "application/json": {"schema": ref("CreateVideoRequest")},
            "multipart/form-data": {
                "schema": ref("CreateVideoMultipart"),
                "encoding": {"input_reference": {"contentType": "image/*"}},
            },
        },
    }
    replay = (
        "Makes retries safe: the same key and request return the first video (200); the "
        "same key with a different request is a 409. Printable, not blank."
    )
    text = {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY}
    key = {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": replay,
        "schema": text,
    }
    return _op(
        "createVideo",
        "Create a video",
        "videos",
        {
            "200": _json(ref("Video"), f"Idempotent replay: {created}", POLL_AFTER),
            "202": _json(ref("Video"), f"Accepted: {created}", POLL_AFTER),
            **_error_responses(
                (
                    400,
                    "Invalid request (`invalid_value`, `unknown_parameter`, "
                    "`missing_required_parameter`, `too_long`, `model_not_found`, `invalid_json`, "
                    "`invalid_form`, `invalid_image`, `unsupported_parameter`); `error.param` "
                    "names the field (or `Idempotency-Key`).",
                ),
                401,
                403,
                (
                    409,
                    "This Idempotency-Key was used with a different request "
                    "(`idempotency_key_reused`), or its video was deleted (`video_deleted`).",
                ),
                413,
                415,
            ),
        },
        scope=VIDEOS_WRITE,
        parameters=[key],
        requestBody=body,
        description=(
            "Queues a text-to-video or image-to-video job. Send JSON, or a form (multipart, or "
            "url-encoded without a file) to upload the first frame as `input_reference`."
        ),
    )


def _list_videos() -> Spec:
    parameters = [
        _query(
            "after",
            "Return videos after this id (the previous page's `last_id`).",
            {"type": "string", "pattern": r"^(video_[0-9a-fA-F]{32})?$"},
        ),
        _query(
            "limit", "Page size.", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}
        ),
        _query(
            "order",
            "By creation time.",
            {"type": "string", "enum": ["asc", "desc"], "default": "desc"},
        ),
        _query("status", "Only videos in this status.", {"type": "string", "enum": list(STATUSES)}),
        _query("model", "Only videos of this model (id or alias).", {"type": "string"}),
    ]
    return _op(
        "listVideos",
        "List videos",
        "videos",
        {
            "200": _json(ref("VideoList"), "A page of the tenant's videos."),
            **_error_responses(
                (
                    400,
                    "A bad query parameter (`invalid_value`, or "
                    "`unknown_parameter` for a name not listed here).",
                ),
                401,
                403,
            ),
        },
        scope=VIDEOS_READ,
        parameters=parameters,
    )


def _video_paths() -> Spec:
    at = _query(
        "at",
        "Time travel: the video as it was at this version (1 is the submission; "
        "see `version` in its events) or at this ISO 8601 time with a zone (its last "
        "version recorded by then). Such a past state has no poll hint.",
        {"type": "string", "examples": ["2", "2026-01-01T12:00:00Z"]},
    )
    retrieve = _op(
        "retrieveVideo",
        "Retrieve a video",
        "videos",
        {
            "200": _json(ref("Video"), "The video object.", POLL_AFTER),
            **_error_responses(
                (
                    400,
                    "`at` is not a version the video had (from 1 to its latest), "
                    "is a time before it existed, or is neither (`invalid_value`).",
                ),
                401,
                403,
                404,
            ),
        },
        scope=VIDEOS_READ,
        parameters=[at],
    )
    delete = _op(
        "deleteVideo",
        "Delete a video",
        "videos",
        {
            "200": _json(ref("VideoDeleted"), "Deleted, with its files."),
            **_error_responses(401, 403, 404),
        },
        scope=VIDEOS_WRITE,
        description="Cancels the job first if it is unfinished.",
    )
    cancel = _op(
        "cancelVideo",
        "Cancel a video",
        "videos",
        {
            "200": _json(ref("Video"), "The canceled video (canceling twice is harmless)."),
            **_error_responses(
                401, 403, 404, (409, "The video already completed or failed (`invalid_state`).")
            ),
        },
        scope=VIDEOS_WRITE,
    )
    events = _op(
        "listVideoEvents",
        "A video's audit history",
        "videos",
        {
            "200": _json(ref("VideoEventList"), "Every event of the job, oldest first."),
            **_error_responses(401, 403, 404),
        },
        scope=VIDEOS_READ,
        description="Also available for deleted videos.",
    )
    return {
        "/v1/videos": {"post": _create_video(), "get": _list_videos()},
        "/v1/videos/{video_id}": {"parameters": [VIDEO_ID], "get": retrieve, "delete": delete},
        "/v1/videos/{video_id}/content": {"parameters": [VIDEO_ID], "get": _download_content()},
        "/v1/videos/{video_id}/cancel": {"parameters": [VIDEO_ID], "post": cancel},
        "/v1/videos/{video_id}/events": {"parameters": [VIDEO_ID], "get": events},
    }


def _event_paths() -> Spec:
    """The tenant event feed (`service.surfaces.openai.events_feed`)."""
    parameters = [
        _query(
            "after",
            "Events after this position: 0 (the default) from the oldest, then "
            "the previous page's `next_after`.",
            {"type": "integer", "minimum": 0, "default": 0},
        ),
        _query(
            "limit",
            "Page size.",
            {"type": "integer", "minimum": 1, "maximum": FEED_MAX_LIMIT, "default": FEED_LIMIT},
        ),
        _query(
            "type",
            "Only events of these types: one, or several separated by commas, in "
            "any case (the parameter may also repeat).",
            {
                "type": "string",
                "pattern": comma_list_pattern(FEED_TYPES, any_case=True, empty_items=True),
                "examples": ["Completed,Failed"],
            },
        ),
    ]
    feed = _op(
        "listEvents",
        "The tenant's event feed",
        "events",
        {
            "200": _json(ref("EventList"), "A page of the tenant's job events, oldest first."),
            **_error_responses(
                (
                    400,
                    "A bad `after`, `limit` or `type` (`invalid_value`), or a "
                    "parameter not listed here (`unknown_parameter`).",
                ),
                401,
                403,
            ),
        },
        scope=VIDEOS_READ,
        parameters=parameters,
        description=(
            "Every job event of the tenant, in the order the event log recorded them, each with "
            "its `position` there: store the last `next_after` and ask again to tail the feed "
            "into your own warehouse (a page never skips or repeats an event). The feed trails "
            "the log by moments."
        ),
    )
    return {"/v1/events": {"get": feed}}


def _analytics_paths() -> Spec:
    """The tenant's job figures (`service.surfaces.openai.analytics`)."""
    # An empty value means "not given".
    day = {
        "anyOf": [{"type": "string", "format": "date"}, {"const": ""}],
        "examples": ["2025-11-25"],
    }
    groups = comma_list_pattern((*DIMENSIONS, NO_GROUPING), empty_items=True)
    parameters = [
        _query(
            "group_by",
            "Group by any of `day`, `model`, `provider` (comma-separated, or "
            "repeated), or `none` (the default): one group, the totals.",
            {
                "type": "string",
                "pattern": groups,
                "examples": ["day", "model,provider"],
            },
        ),
        _query("from", "The first UTC day of submission counted.", day),
        _query("to", "The last UTC day of submission counted (inclusive).", day),
        _query("model", "Only this model's jobs (id or alias).", {"type": "string"}),
        _query(
            "provider",
            "Only this provider's jobs.",
            {"type": "string", "enum": ["", *PROVIDERS]},
        ),
    ]
    figures = _op(
        "getAnalytics",
        "The tenant's job figures",
        "analytics",
        {
            "200": _json(
                ref("Analytics"),
                "Counts, failure codes, latency percentiles, output "
                "seconds, cost and signal sources, per group.",
            ),
            **_error_responses(
                (
                    400,
                    "A bad `group_by`, `from`, `to` or `provider` "
                    "(`invalid_value`), `from` after `to`, or a parameter not "
                    "listed here (`unknown_parameter`).",
                ),
                401,
                403,
            ),
        },
        scope=VIDEOS_READ,
        parameters=parameters,
        description=(
            "Jobs count on the UTC day they were submitted. Read from a view that trails the "
            "event log by moments."
        ),
    )
    return {"/v1/analytics": {"get": figures}}


def _download_content() -> Spec:
    files = {
        kind: {"schema": {"type": "string", "format": "binary"}}
        for kind in ("video/mp4", "image/jpeg")
    }
    choice = {"type": "string", "enum": ["video", "thumbnail"], "default": "video"}
    variant = _query(
        "variant",
        "`video` (MP4) or `thumbnail` (JPEG of a middle frame); "
        "`spritesheet` is a 400 `unsupported_variant`.",
        choice,
    )
    errors = _error_responses(
        (
            400,
            "`variant` is not `video` or `thumbnail` (`invalid_value`, `unsupported_variant`); "
            "a malformed `Range` header gets a plain-text 400.",
        ),
        401,
        403,
        (404, "No such video (`not_found`), or its file is missing from storage."),
        (409, "The video is not completed yet (`video_not_ready`)."),
    )
    errors["400"]["content"]["text/plain"] = {"schema": {"type": "string"}}
    return _op(
        "downloadVideoContent",
        "Download a video's file",
        "videos",
        {
            "200": {"description": "The file.", "content": files},
            "206": {"description": "Part of the file, for a `Range` request.", "content": files},
            **errors,
            "416": {"description": "The `Range` lies outside the file (empty body)."},
        },
        scope=VIDEOS_READ,
        parameters=[variant],
    )


def _model_paths() -> Spec:
    name = {
        "name": "model",
        "in": "path",
        "required": True,
        "description": "A model id or alias (it may contain `/`).",
        "schema": {"type": "string"},
    }
    listing = _op(
        "listModels",
        "List models",
        "models",
        {
            "200": _json(ref("ModelList"), "The catalog."),
            **_error_responses(401),
        },
        description="Any valid API key may list models.",
    )
    retrieve = _op(
        "retrieveModel",
        "Retrieve a model",
        "models",
        {
            "200": _json(ref("Model"), "The model and its capabilities."),
            **_error_responses(401, (404, "No model with this id or alias (`not_found`).")),
        },
        description="Any valid API key may read a model.",
    )
    return {
        "/v1/models": {"get": listing},
        "/v1/models/{model}": {"parameters": [name], "get": retrieve},
    }


def _body(name: str, *, required: bool = True) -> Spec:
    return {"required": required, "content": {"application/json": {"schema": ref(name)}}}


def _body_errors(codes: str, *more: int | tuple[int, str]) -> dict[str, Spec]:
    """The errors of an operation that reads a JSON body (at most 64 KiB)."""
    return _error_responses(
        (
            400,
            f"Invalid request ({codes}`unknown_parameter`, `invalid_json`); `error.param` "
            "names the field.",
        ),
        401,
        403,
        *more,
        (413, f"The body is larger than {WEBHOOK_MAX_BODY} bytes (`request_too_large`)."),
        415,
    )


def _create_endpoint() -> Spec:
    return _op(
        "createWebhookEndpoint",
        "Register a webhook endpoint",
        "webhooks",
        {
            "201": _json(
                ref("WebhookEndpointWithSecret"),
                "The endpoint, with its signing `secret` (shown only here and on rotation).",
            ),
            **_body_errors("`missing_required_parameter` for `url`, `invalid_value`, "),
        },
        scope=WEBHOOKS_WRITE,
        requestBody=_body("CreateWebhookEndpointRequest"),
        description=(
            "From now on, every event of the tenant's videos whose kind the endpoint subscribes to "
            "is POSTed to `url` (see the `videoEvent` webhook)."
        ),
    )


def _endpoint_paths() -> Spec:
    listing = _op(
        "listWebhookEndpoints",
        "List webhook endpoints",
        "webhooks",
        {
            "200": _json(ref("WebhookEndpointList"), "Every endpoint of the tenant, by id."),
            **_error_responses(401, 403),
        },
        scope=WEBHOOKS_READ,
        description="Read from a view that trails writes by a moment: an "
        "endpoint registered a moment ago may be missing yet.",
    )
    retrieve = _op(
        "retrieveWebhookEndpoint",
        "Retrieve a webhook endpoint",
        "webhooks",
        {
            "200": _json(ref("WebhookEndpoint"), "The endpoint (without its secret)."),
            **_error_responses(401, 403, NO_ENDPOINT),
        },
        scope=WEBHOOKS_READ,
    )
    update = _op(
        "updateWebhookEndpoint",
        "Update a webhook endpoint",
        "webhooks",
        {
            "200": _json(ref("WebhookEndpoint"), "The updated endpoint."),
            **_body_errors("`invalid_value`, ", NO_ENDPOINT),
        },
        scope=WEBHOOKS_WRITE,
        requestBody=_body("UpdateWebhookEndpointRequest"),
        description=(
            "Changes only the fields given; send `{}` to change nothing (an empty body is a 400). "
            "`enabled: true` re-enables an endpoint the sender disabled; `enabled: false` abandons "
            "its waiting deliveries."
        ),
    )
    delete = _op(
        "deleteWebhookEndpoint",
        "Delete a webhook endpoint",
        "webhooks",
        {
            "200": _json(
                ref("WebhookEndpointDeleted"), "Deleted; its waiting deliveries are abandoned."
            ),
            **_error_responses(401, 403, NO_ENDPOINT),
        },
        scope=WEBHOOKS_WRITE,
    )
    rotate = _op(
        "rotateWebhookEndpointSecret",
        "Rotate an endpoint's secret",
        "webhooks",
        {
            "200": _json(ref("WebhookEndpointWithSecret"), "The endpoint with its new `secret`."),
            **_body_errors("`invalid_value` for `grace_period_seconds`, ", NO_ENDPOINT),
        },
        scope=WEBHOOKS_WRITE,
        requestBody=_body("RotateWebhookSecretRequest", required=False),
        description="Issues a new secret. Until the grace period ends, webhooks carry two "
        "signatures (new and previous secret), so receivers can switch without losing "
        "messages.",
    )
    return {
        "/v1/webhook_endpoints": {"post": _create_endpoint(), "get": listing},
        "/v1/webhook_endpoints/{endpoint_id}": {
            "parameters": [ENDPOINT_ID],
            "get": retrieve,
            "patch": update,
            "delete": delete,
        },
        "/v1/webhook_endpoints/{endpoint_id}/rotate_secret": {
            "parameters": [ENDPOINT_ID],
            "post": rotate,
        },
        "/v1/webhook_endpoints/{endpoint_id}/recover": {
            "parameters": [ENDPOINT_ID],
            "post": _recover(),
        },
        "/v1/webhook_endpoints/{endpoint_id}/deliveries": {
            "parameters": [ENDPOINT_ID],
            "get": _endpoint_deliveries(),
        },
    }


def _recover() -> Spec:
    return _op(
        "recoverWebhookDeliveries",
        "Send failed deliveries again",
        "webhooks",
        {
            "200": _json(ref("WebhookRecovery"), "How many deliveries were queued again."),
            **_body_errors(
                "`invalid_value` for `since` or `until`, or `since` not before `until`, ",
                NO_ENDPOINT,
            ),
            **_error_responses(
                (409, "The endpoint is disabled (`endpoint_disabled`): enable it first.")
            ),
        },
        scope=WEBHOOKS_WRITE,
        requestBody=_body("RecoverWebhookDeliveriesRequest", required=False),
        description="Queues again, for one attempt each, the endpoint's `failed` and `abandoned` "
        "deliveries created in the window (progress updates superseded by newer ones excepted), "
        "e.g. after an outage of the receiver.",
    )


def _endpoint_deliveries() -> Spec:
    limit = _query(
        "limit",
        "How many deliveries to return.",
        {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
    )
    return _op(
        "listWebhookEndpointDeliveries",
        "List an endpoint's deliveries",
        "webhooks",
        {
            "200": _json(
                ref("WebhookDeliveryList"),
                "The endpoint's latest deliveries, newest first, with their attempts.",
            ),
            **_error_responses(
                (400, "`limit` is not an integer from 1 to 200 (`invalid_value`)."),
                401,
                403,
                NO_ENDPOINT,
            ),
        },
        scope=WEBHOOKS_READ,
        parameters=[limit],
    )


def _delivery_paths() -> Spec:
    by_video = _op(
        "listVideoDeliveries",
        "List a video's webhook deliveries",
        "webhooks",
        {
            "200": _json(
                ref("WebhookDeliveryList"),
                "Every delivery of the video's events, to "
                "every destination, in event order, with their attempts.",
            ),
            **_error_responses(401, 403, 404),
        },
        scope=VIDEOS_READ,
        description="Also available for deleted videos.",
    )
    redeliver = _op(
        "redeliverWebhook",
        "Send a delivery again",
        "webhooks",
        {
            "202": _json(
                ref("WebhookDelivery"),
                "Queued for one immediate attempt (`status` "
                "`pending`); this answer's `attempts` is always empty: follow the "
                "deliveries lists for the outcome.",
            ),
            **_error_responses(
                401,
                403,
                (404, "No such delivery for this tenant (`not_found`)."),
                (
                    409,
                    "The delivery is being sent right now "
                    "(`delivery_in_flight`), or its endpoint is disabled "
                    "(`endpoint_disabled`).",
                ),
            ),
        },
        scope=WEBHOOKS_WRITE,
        description="Sends the same message (same `webhook-id`, new "
        "timestamp and signature) again now, whatever its status: a delivery waiting for a "
        "scheduled retry is brought forward and keeps its schedule; any other gets one manual "
        "attempt, not retried. A progress update of a video still rendering may be superseded "
        "(`abandoned`) by the video's next event before it goes out.",
    )
    secret = _op(
        "retrieveDefaultWebhookSecret",
        "The tenant's default webhook secret",
        "webhooks",
        {
            "200": _json(
                ref("DefaultWebhookSecret"),
                "The secret that signs webhooks sent to a video's `webhook_url`.",
            ),
            **_error_responses(401, 403),
        },
        scope=WEBHOOKS_READ,
    )
    return {
        "/v1/webhooks/default/secret": {"get": secret},
        "/v1/videos/{video_id}/deliveries": {"parameters": [VIDEO_ID], "get": by_video},
        "/v1/deliveries/{delivery_id}/redeliver": {"parameters": [DELIVERY_ID], "post": redeliver},
    }


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


def _webhooks() -> Spec:
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
        "`webhook_url` (signed with the tenant's default secret) and to every enabled webhook "
        "endpoint of the tenant that subscribes to its kind (signed with the endpoint's secret), "
        "following Standard Webhooks (https://www.standardwebhooks.com). Delivery is at least "
        f"once and unordered: dedupe by `webhook-id`, order by `sequence`. `User-Agent: "
        f"{USER_AGENT}`; redirects are not followed. A failed attempt is retried after "
        f"{terminal} (progress updates: {progress}; each ±{JITTER:.0%}) and then marked "
        "`failed`; a progress update still waiting is superseded by the video's next event. An "
        f"endpoint that answers 410 or has failed every delivery for {DISABLE_AFTER / 86400:g} "
        "days is disabled."
    )
    operation = _op(
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
        requestBody=_body("WebhookPayload"),
        description=description,
    )
    return {"videoEvent": {"post": operation}}


BEARER = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "vg_…",
    "description": "An API key (`vg_…`), e.g. from `vidgate keys create`.",
}
INFO = {
    "title": "vidgate",
    "version": VERSION,
    "summary": "A self-hosted, event-sourced gateway for AI video generation.",
    "description": (
        "Compatible with the OpenAI Videos API. Every `/v1` route needs "
        "`Authorization: Bearer vg_…`; keys carry the scopes `videos:read`, `videos:write`, "
        "`webhooks:read`, `webhooks:write`, `video` (NovaKit's) and `admin` (which implies "
        "them all). Every error body of the canonical API has the `Error` shape (the "
        "compatible surfaces keep their own: `x-surface`); an unexpected failure is a 500 "
        "with `error.code` `internal_error`. Video events can be pushed to you as signed "
        "webhooks (`webhooks`)."
    ),
    "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
}


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The document, built once (callers must not mutate it)."""
    return {
        "openapi": "3.1.0",
        "info": INFO,
        "tags": [
            {"name": "videos", "description": "Generate, poll, download and manage videos."},
            {"name": "events", "description": "The tenant's job events, for replay elsewhere."},
            {"name": "analytics", "description": "Job figures per day, model and provider."},
            {"name": "webhooks", "description": "Video events pushed to your URLs, signed."},
            {"name": "models", "description": "The model catalog and its capabilities."},
            {"name": "ops", "description": "Probes and this document (no authentication)."},
            {"name": "upstream", "description": "What upstream providers call back."},
        ],
        "security": [{"bearer": []}],
        "paths": mark_semantic_fields(
            {
                **_ops_paths(),
                **_video_paths(),
                **_endpoint_paths(),
                **_delivery_paths(),
                **_model_paths(),
                **_upstream_paths(),
                **_event_paths(),
                **_analytics_paths(),
                **concurred_paths(),
                **task_api_paths(),
                **v2_novakit_paths(),
            }
        ),
        "webhooks": _webhooks(),
        "components": {
            "schemas": component_schemas(COMPONENTS),
            "securitySchemes": {"bearer": BEARER},
        },
    }
