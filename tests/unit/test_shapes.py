"""The declared shapes agree with the constants the code decides by (no drift)."""

from __future__ import annotations

from typing import Any, get_args

import pytest
from pydantic import ValidationError

from events.endpoint import EVENT_FILTERS
from events.job import STATUSES
from projections.analytics.view import DIMENSIONS
from projections.deliveries.view import ABANDONED, FAILED, PENDING, SUCCEEDED
from projections.feed.projection import JOB_TYPES, LEDGER_TYPES
from service.catalog import ASPECT_RATIOS, MODES, PROVIDERS, RESOLUTIONS
from service.surfaces import concurred as concurred_api
from service.surfaces import novakit, novakit_request, task_api, v2
from service.surfaces.concurred_shapes import ConcurredGenerateRequest, ConcurredStatusQuery
from service.surfaces.novakit_shapes import NovaKitGenerationRequest, NovaKitJob
from service.surfaces.openai import analytics, events_feed
from service.surfaces.openai.shapes import COMPONENTS
from service.surfaces.openai.shapes.queries import AnalyticsQuery, EventFeedQuery, Provider, Status
from service.surfaces.openai.shapes.webhooks import CreateWebhookEndpointRequest
from service.surfaces.openapi.jsonschema import component_schemas, inline_schema
from service.surfaces.shapes import wire_names
from service.surfaces.task_api_shapes import CreateTaskRequest, Task
from service.surfaces.v2_shapes import V2Error, V2GenerateRequest, V2Job
from service.videos.request import MAX_SEED, MAX_USER
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
        (prop("Event", "type"), list(JOB_TYPES)),
        (prop("VideoEvent", "type"), list(JOB_TYPES)),
        (prop("LedgerEntry", "type"), list(LEDGER_TYPES)),
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


def test_the_facade_shapes_use_the_facades_own_values():
    concurred = inline_schema(ConcurredGenerateRequest)["properties"]
    assert concurred["model"]["enum"] == list(concurred_api.MODELS)
    assert concurred["model"]["default"] == concurred_api.DEFAULT_MODEL
    v2_request = inline_schema(V2GenerateRequest)["properties"]
    assert v2_request["prompt"]["maxLength"] == v2.MAX_PROMPT
    assert v2_request["webhookEvents"]["items"]["enum"] == list(EVENT_FILTERS)
    assert options(inline_schema(V2Job)["properties"]["status"]) == list(v2.STATUSES.values())
    assert options(inline_schema(V2Error)["properties"]["error"]) == sorted(set(v2.ERRORS.values()))
    nk = inline_schema(NovaKitGenerationRequest)["properties"]
    assert nk["model"]["default"] == novakit_request.DEFAULT_MODEL
    assert (nk["duration_seconds"]["default"], nk["fps"]["default"]) == (
        novakit_request.DEFAULT_SECONDS,
        novakit_request.DEFAULT_FPS,
    )
    assert nk["resolution"]["default"] == novakit_request.DEFAULT_RESOLUTION
    assert nk["aspect_ratio"]["default"] == novakit_request.DEFAULT_ASPECT
    assert options(nk["mode"]) == list(novakit_request.MODES)
    nk_status = inline_schema(NovaKitJob)["properties"]["status"]
    assert options(nk_status) == list(novakit.STATUSES.values())
    task = inline_schema(Task)["properties"]
    assert options(task["status"]) == sorted(set(task_api.STATUSES.values()))
    request = inline_schema(CreateTaskRequest)["properties"]
    assert set(request["metadata"]["properties"]) == set(task_api.METADATA)
    assert request["user"]["maxLength"] == MAX_USER


def test_the_query_shapes_name_the_parameters_the_surfaces_take():
    assert wire_names(EventFeedQuery) == set(events_feed.PARAMETERS)
    assert wire_names(AnalyticsQuery) == set(analytics.PARAMETERS)
    assert list(get_args(Status)) == list(STATUSES)
    assert list(get_args(Provider)) == list(PROVIDERS)


def test_the_concurred_status_query_takes_the_facades_providers():
    provider = inline_schema(ConcurredStatusQuery)["properties"]["provider"]
    assert provider["enum"] == list(concurred_api.PROVIDERS)
