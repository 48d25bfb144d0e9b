"""The OpenAPI 3.1 document for every route vidgate serves, assembled from its parts."""

from __future__ import annotations

import functools
from typing import Any

from service.surfaces.openai.shapes import COMPONENTS
from service.surfaces.openapi.billing_paths import billing_paths
from service.surfaces.openapi.concurred import concurred_paths
from service.surfaces.openapi.feed_paths import analytics_paths, event_paths, model_paths
from service.surfaces.openapi.jsonschema import component_schemas
from service.surfaces.openapi.metering import add_metering_answers
from service.surfaces.openapi.operations import VERSION
from service.surfaces.openapi.ops_paths import ops_paths, upstream_paths
from service.surfaces.openapi.outgoing import outgoing_webhooks
from service.surfaces.openapi.semantic import mark_semantic_fields
from service.surfaces.openapi.task_api import task_api_paths
from service.surfaces.openapi.v2_novakit import v2_novakit_paths
from service.surfaces.openapi.video_paths import video_paths
from service.surfaces.openapi.webhook_paths import delivery_paths, endpoint_paths

Spec = dict[str, Any]


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
            {"name": "billing", "description": "The tenant's credits."},
            {"name": "ops", "description": "Probes and this document (no authentication)."},
            {"name": "upstream", "description": "What upstream providers call back."},
        ],
        "security": [{"bearer": []}],
        "paths": mark_semantic_fields(
            add_metering_answers(
                {
                    **ops_paths(),
                    **video_paths(),
                    **endpoint_paths(),
                    **delivery_paths(),
                    **model_paths(),
                    **billing_paths(),
                    **upstream_paths(),
                    **event_paths(),
                    **analytics_paths(),
                    **concurred_paths(),
                    **task_api_paths(),
                    **v2_novakit_paths(),
                }
            )
        ),
        "webhooks": outgoing_webhooks(),
        "components": {
            "schemas": component_schemas(COMPONENTS),
            "securitySchemes": {"bearer": BEARER},
        },
    }
