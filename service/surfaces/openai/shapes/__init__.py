"""Request and response shapes of the OpenAI-compatible `/v1` surface, declared once.

`COMPONENTS` are the shapes the OpenAPI document names under `components.schemas`.
"""

from __future__ import annotations

from pydantic import BaseModel

from service.surfaces.openai.shapes import (
    billing,
    create,
    deliveries,
    feed,
    models,
    ops,
    videos,
    webhooks,
)

COMPONENTS: tuple[type[BaseModel], ...] = (
    videos.Error,
    videos.Video,
    videos.VideoList,
    videos.VideoDeleted,
    create.CreateVideoRequest,
    create.CreateVideoMultipart,
    create.ImageUrl,
    videos.VideoEvent,
    videos.VideoEventList,
    feed.Event,
    feed.LedgerEntry,
    feed.EventList,
    feed.Analytics,
    feed.AnalyticsGroup,
    models.Model,
    models.ModelList,
    ops.Health,
    ops.Readiness,
    billing.Balance,
    webhooks.WebhookEndpoint,
    webhooks.WebhookEndpointWithSecret,
    webhooks.WebhookEndpointList,
    webhooks.WebhookEndpointDeleted,
    webhooks.CreateWebhookEndpointRequest,
    webhooks.UpdateWebhookEndpointRequest,
    webhooks.RotateWebhookSecretRequest,
    webhooks.RecoverWebhookDeliveriesRequest,
    webhooks.WebhookRecovery,
    webhooks.DefaultWebhookSecret,
    deliveries.WebhookDelivery,
    deliveries.WebhookDeliveryAttempt,
    deliveries.WebhookDeliveryList,
    deliveries.WebhookPayload,
)
