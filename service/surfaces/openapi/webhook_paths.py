"""Webhook endpoints and deliveries: register, rotate, recover, redeliver."""

from __future__ import annotations

from typing import Any

from events.apikey import VIDEOS_READ, WEBHOOKS_READ, WEBHOOKS_WRITE
from service.surfaces.openai.shapes.deliveries import WebhookDelivery, WebhookDeliveryList
from service.surfaces.openai.shapes.queries import DeliveriesQuery
from service.surfaces.openai.shapes.webhooks import (
    CreateWebhookEndpointRequest,
    DefaultWebhookSecret,
    RecoverWebhookDeliveriesRequest,
    RotateWebhookSecretRequest,
    UpdateWebhookEndpointRequest,
    WebhookEndpoint,
    WebhookEndpointDeleted,
    WebhookEndpointList,
    WebhookEndpointWithSecret,
    WebhookRecovery,
)
from service.surfaces.openapi.jsonschema import query_parameters, ref
from service.surfaces.openapi.operations import (
    DELIVERY_ID,
    ENDPOINT_ID,
    NO_ENDPOINT,
    VIDEO_ID,
    body,
    body_errors,
    error_responses,
    json_answer,
    operation,
)

Spec = dict[str, Any]


def _create_endpoint() -> Spec:
    return operation(
        "createWebhookEndpoint",
        "Register a webhook endpoint",
        "webhooks",
        {
            "201": json_answer(
                ref(WebhookEndpointWithSecret),
                "The endpoint, with its signing `secret` (shown only here and on rotation).",
            ),
            **body_errors("`missing_required_parameter` for `url`, `invalid_value`, "),
        },
        scope=WEBHOOKS_WRITE,
        requestBody=body(CreateWebhookEndpointRequest),
        description=(
            "From now on, every event of the tenant's videos whose kind the endpoint subscribes to "
            "is POSTed to `url` (see the `videoEvent` webhook)."
        ),
    )


def endpoint_paths() -> Spec:
    listing = operation(
        "listWebhookEndpoints",
        "List webhook endpoints",
        "webhooks",
        {
            "200": json_answer(ref(WebhookEndpointList), "Every endpoint of the tenant, by id."),
            **error_responses(401, 403),
        },
        scope=WEBHOOKS_READ,
        description="Read from a view that trails writes by a moment: an "
        "endpoint registered a moment ago may be missing yet.",
    )
    retrieve = operation(
        "retrieveWebhookEndpoint",
        "Retrieve a webhook endpoint",
        "webhooks",
        {
            "200": json_answer(ref(WebhookEndpoint), "The endpoint (without its secret)."),
            **error_responses(401, 403, NO_ENDPOINT),
        },
        scope=WEBHOOKS_READ,
    )
    update = operation(
        "updateWebhookEndpoint",
        "Update a webhook endpoint",
        "webhooks",
        {
            "200": json_answer(ref(WebhookEndpoint), "The updated endpoint."),
            **body_errors("`invalid_value`, ", NO_ENDPOINT),
        },
        scope=WEBHOOKS_WRITE,
        requestBody=body(UpdateWebhookEndpointRequest),
        description=(
            "Changes only the fields given; send `{}` to change nothing (an empty body is a 400). "
            "`enabled: true` re-enables an endpoint the sender disabled; `enabled: false` abandons "
            "its waiting deliveries."
        ),
    )
    delete = operation(
        "deleteWebhookEndpoint",
        "Delete a webhook endpoint",
        "webhooks",
        {
            "200": json_answer(
                ref(WebhookEndpointDeleted), "Deleted; its waiting deliveries are abandoned."
            ),
            **error_responses(401, 403, NO_ENDPOINT),
        },
        scope=WEBHOOKS_WRITE,
    )
    rotate = operation(
        "rotateWebhookEndpointSecret",
        "Rotate an endpoint's secret",
        "webhooks",
        {
            "200": json_answer(
                ref(WebhookEndpointWithSecret), "The endpoint with its new `secret`."
            ),
            **body_errors("`invalid_value` for `grace_period_seconds`, ", NO_ENDPOINT),
        },
        scope=WEBHOOKS_WRITE,
        requestBody=body(RotateWebhookSecretRequest, required=False),
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
    return operation(
        "recoverWebhookDeliveries",
        "Send failed deliveries again",
        "webhooks",
        {
            "200": json_answer(ref(WebhookRecovery), "How many deliveries were queued again."),
            **body_errors(
                "`invalid_value` for `since` or `until`, or `since` not before `until`, ",
                NO_ENDPOINT,
            ),
            **error_responses(
                (409, "The endpoint is disabled (`endpoint_disabled`): enable it first.")
            ),
        },
        scope=WEBHOOKS_WRITE,
        requestBody=body(RecoverWebhookDeliveriesRequest, required=False),
        description="Queues again, for one attempt each, the endpoint's `failed` and `abandoned` "
        "deliveries created in the window (progress updates superseded by newer ones excepted), "
        "e.g. after an outage of the receiver.",
    )


def _endpoint_deliveries() -> Spec:
    return operation(
        "listWebhookEndpointDeliveries",
        "List an endpoint's deliveries",
        "webhooks",
        {
            "200": json_answer(
                ref(WebhookDeliveryList),
                "The endpoint's latest deliveries, newest first, with their attempts.",
            ),
            **error_responses(
                (400, "`limit` is not an integer from 1 to 200 (`invalid_value`)."),
                401,
                403,
                NO_ENDPOINT,
            ),
        },
        scope=WEBHOOKS_READ,
        parameters=query_parameters(DeliveriesQuery),
    )


def delivery_paths() -> Spec:
    by_video = operation(
        "listVideoDeliveries",
        "List a video's webhook deliveries",
        "webhooks",
        {
            "200": json_answer(
                ref(WebhookDeliveryList),
                "Every delivery of the video's events, to "
                "every destination, in event order, with their attempts.",
            ),
            **error_responses(401, 403, 404),
        },
        scope=VIDEOS_READ,
        description="Also available for deleted videos.",
    )
    redeliver = operation(
        "redeliverWebhook",
        "Send a delivery again",
        "webhooks",
        {
            "202": json_answer(
                ref(WebhookDelivery),
                "Queued for one immediate attempt (`status` "
                "`pending`); this answer's `attempts` is always empty: follow the "
                "deliveries lists for the outcome.",
            ),
            **error_responses(
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
    secret = operation(
        "retrieveDefaultWebhookSecret",
        "The tenant's default webhook secret",
        "webhooks",
        {
            "200": json_answer(
                ref(DefaultWebhookSecret),
                "The secret that signs webhooks sent to a video's `webhook_url`.",
            ),
            **error_responses(401, 403),
        },
        scope=WEBHOOKS_READ,
    )
    return {
        "/v1/webhooks/default/secret": {"get": secret},
        "/v1/videos/{video_id}/deliveries": {"parameters": [VIDEO_ID], "get": by_video},
        "/v1/deliveries/{delivery_id}/redeliver": {"parameters": [DELIVERY_ID], "post": redeliver},
    }
