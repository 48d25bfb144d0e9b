"""The tenant's event feed, analytics, and the model catalog."""

from __future__ import annotations

from typing import Any

from events.apikey import VIDEOS_READ
from service.surfaces.openai.shapes.feed import Analytics, EventList
from service.surfaces.openai.shapes.models import Model, ModelList
from service.surfaces.openai.shapes.queries import AnalyticsQuery, EventFeedQuery
from service.surfaces.openapi.jsonschema import query_parameters, ref
from service.surfaces.openapi.operations import (
    LAST_EVENT_ID,
    STREAM_HOW,
    error_responses,
    json_answer,
    operation,
    streamed,
)

Spec = dict[str, Any]


def event_paths() -> Spec:
    """The tenant event feed (`service.surfaces.openai.events_feed`)."""
    parameters = [*query_parameters(EventFeedQuery), LAST_EVENT_ID]
    feed = operation(
        "listEvents",
        "The tenant's event feed",
        "events",
        {
            "200": streamed(
                json_answer(
                    ref(EventList),
                    "A page of the tenant's job events and ledger entries, oldest first.",
                ),
                "The feed from `after` on as Server-Sent Events, for as long as the client stays.",
            ),
            **error_responses(
                (
                    400,
                    "A bad `after`, `limit`, `type`, `stream` or `Last-Event-ID` "
                    "(`invalid_value`), or a "
                    "parameter not listed here (`unknown_parameter`).",
                ),
                401,
                403,
            ),
        },
        scope=VIDEOS_READ,
        parameters=parameters,
        description=(
            "Every job event of the tenant (`object: video.event`) and every movement of its "
            "credits (`object: ledger.entry`: CreditsGranted, CreditsReserved, CreditsSettled, "
            "CreditsReleased), in the order the event log recorded them, each with its "
            "`position` there: store the last `next_after` and ask again to tail the feed into "
            "your own warehouse (a page never skips or repeats an event). The feed trails the "
            "log by moments." + STREAM_HOW.format(id="is the event's `position`")
        ),
    )
    return {"/v1/events": {"get": feed}}


def analytics_paths() -> Spec:
    """The tenant's job figures (`service.surfaces.openai.analytics`)."""
    parameters = query_parameters(AnalyticsQuery)
    figures = operation(
        "getAnalytics",
        "The tenant's job figures",
        "analytics",
        {
            "200": json_answer(
                ref(Analytics),
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
            "200": json_answer(ref(ModelList), "The catalog."),
            **error_responses(401),
        },
        description="Any valid API key may list models.",
    )
    retrieve = operation(
        "retrieveModel",
        "Retrieve a model",
        "models",
        {
            "200": json_answer(ref(Model), "The model and its capabilities."),
            **error_responses(401, (404, "No model with this id or alias (`not_found`).")),
        },
        description="Any valid API key may read a model.",
    )
    return {
        "/v1/models": {"get": listing},
        "/v1/models/{model}": {"parameters": [name], "get": retrieve},
    }
