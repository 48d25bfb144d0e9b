"""The declared shapes agree with the constants the code decides by (no drift)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from projections.analytics.view import DIMENSIONS
from projections.deliveries.view import ABANDONED, FAILED, PENDING, SUCCEEDED
from projections.feed.projection import FEED_TYPES
from service.catalog import ASPECT_RATIOS, MODES, PROVIDERS, RESOLUTIONS
from service.surfaces.openai.shapes import COMPONENTS
from service.surfaces.openai.shapes.webhooks import CreateWebhookEndpointRequest
from service.surfaces.openapi.jsonschema import component_schemas
from service.videos.request import MAX_SEED
from service.webhooks.fields import DEFAULT_GRACE, MAX_DESCRIPTION, MAX_GRACE, MAX_URL

SCHEMAS = component_schemas(COMPONENTS)


def prop(shape: str, *path: str) -> Any:
    node: Any = SCHEMAS[shape]
    for name in path:
        node = node["properties"][name]
    return node


def options(node: dict[str, Any]) -> list[Any]:
    """The enum of a property, of its items, or of its first typed option."""
    for candidate in (node, node.get("items", {}), *node.get("anyOf", [])):
        if "enum" in candidate:
            return [value for value in candidate["enum"] if value is not None]
    raise AssertionError(node)


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (prop("CreateVideoRequest", "aspect_ratio"), list(ASPECT_RATIOS)),
        (prop("CreateVideoRequest", "resolution"), list(RESOLUTIONS)),
        (prop("Model", "capabilities", "modes"), list(MODES)),
        (prop("Model", "provider"), list(PROVIDERS)),
        (prop("Analytics", "group_by"), list(DIMENSIONS)),
        (prop("Event", "type"), list(FEED_TYPES)),
        (prop("WebhookDelivery", "status"), [PENDING, SUCCEEDED, FAILED, ABANDONED]),
    ],
)
def test_enumerations_are_the_codes_own(node, expected):
    assert options(node) == expected


def test_limits_are_the_codes_own():
    grace = prop("RotateWebhookSecretRequest", "grace_period_seconds")
    assert (grace["maximum"], grace["default"]) == (MAX_GRACE, DEFAULT_GRACE)
    assert prop("CreateWebhookEndpointRequest", "url")["maxLength"] == MAX_URL
    assert prop("CreateWebhookEndpointRequest", "description")["maxLength"] == MAX_DESCRIPTION
    seed = prop("CreateVideoRequest", "seed")["anyOf"][0]
    assert seed["maximum"] == MAX_SEED


def test_the_shapes_validate_what_they_describe():
    CreateWebhookEndpointRequest.model_validate({"url": "https://example.com/h"})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        CreateWebhookEndpointRequest.model_validate({"url": "https://example.com/h", "x": 1})
