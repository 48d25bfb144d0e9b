"""The tenant's event feed, analytics, and the model catalog."""

from __future__ import annotations

from typing import Any

from events.apikey import VIDEOS_READ
from projections.analytics.view import DIMENSIONS
from projections.feed.projection import FEED_TYPES
from service.catalog import PROVIDERS
from service.surfaces.openai.analytics import NO_GROUPING
from service.surfaces.openai.events_feed import DEFAULT_LIMIT as FEED_LIMIT
from service.surfaces.openai.events_feed import MAX_LIMIT as FEED_MAX_LIMIT
from service.surfaces.openapi.jsonschema import ref
from service.surfaces.openapi.operations import error_responses, json_answer, operation, query
from service.surfaces.patterns import comma_list_pattern

Spec = dict[str, Any]


def event_paths() -> Spec:
    """The tenant event feed (`service.surfaces.openai.events_feed`)."""
    parameters = [
        query(
            "after",
            "Events after this position: 0 (the default) from the oldest, then "
            "the previous page's `next_after`.",
            {"type": "integer", "minimum": 0, "default": 0},
        ),
        query(
            "limit",
            "Page size.",
            {"type": "integer", "minimum": 1, "maximum": FEED_MAX_LIMIT, "default": FEED_LIMIT},
        ),
        query(
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
    feed = operation(
        "listEvents",
        "The tenant's event feed",
        "events",
        {
            "200": json_answer(
                ref("EventList"), "A page of the tenant's job events, oldest first."
            ),
            **error_responses(
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


def analytics_paths() -> Spec:
    """The tenant's job figures (`service.surfaces.openai.analytics`)."""
    # An empty value means "not given".
    day = {
        "anyOf": [{"type": "string", "format": "date"}, {"const": ""}],
        "examples": ["2025-11-25"],
    }
    groups = comma_list_pattern((*DIMENSIONS, NO_GROUPING), empty_items=True)
    parameters = [
        query(
            "group_by",
            "Group by any of `day`, `model`, `provider` (comma-separated, or "
            "repeated), or `none` (the default): one group, the totals.",
            {
                "type": "string",
                "pattern": groups,
                "examples": ["day", "model,provider"],
            },
        ),
        query("from", "The first UTC day of submission counted.", day),
        query("to", "The last UTC day of submission counted (inclusive).", day),
        query("model", "Only this model's jobs (id or alias).", {"type": "string"}),
        query(
            "provider",
            "Only this provider's jobs.",
            {"type": "string", "enum": ["", *PROVIDERS]},
        ),
    ]
    figures = operation(
        "getAnalytics",
        "The tenant's job figures",
        "analytics",
        {
            "200": json_answer(
                ref("Analytics"),
                "Counts, failure codes, latency percentiles, output "
                "seconds, cost and signal sources, per group.",
            ),
            **error_responses(
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


def model_paths() -> Spec:
    name = {
        "name": "model",
        "in": "path",
        "required": True,
        "description": "A model id or alias (it may contain `/`).",
        "schema": {"type": "string"},
    }
    listing = operation(
        "listModels",
        "List models",
        "models",
        {
            "200": json_answer(ref("ModelList"), "The catalog."),
            **error_responses(401),
        },
        description="Any valid API key may list models.",
    )
    retrieve = operation(
        "retrieveModel",
        "Retrieve a model",
        "models",
        {
            "200": json_answer(ref("Model"), "The model and its capabilities."),
            **error_responses(401, (404, "No model with this id or alias (`not_found`).")),
        },
        description="Any valid API key may read a model.",
    )
    return {
        "/v1/models": {"get": listing},
        "/v1/models/{model}": {"parameters": [name], "get": retrieve},
    }
