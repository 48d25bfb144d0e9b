"""The document's billing operation: `GET /v1/balance`."""

from __future__ import annotations

from typing import Any

from events.apikey import VIDEOS_READ
from service.surfaces.openai.shapes.billing import Balance
from service.surfaces.openapi.jsonschema import ref
from service.surfaces.openapi.operations import error_responses, json_answer, operation

Spec = dict[str, Any]


def billing_paths() -> Spec:
    balance = operation(
        "getBalance",
        "Get the tenant's balance",
        "billing",
        {
            "200": json_answer(ref(Balance), "The balance, read from the tenant's ledger."),
            **error_responses(401, 403),
        },
        scope=VIDEOS_READ,
        description="Credits are granted with `vidgate credits grant`; an unmetered tenant "
        "reads all zeros with `metered: false`.",
    )
    return {"/v1/balance": {"get": balance}}
