"""Schemathesis hooks for `test_schema_fuzz`: the one check we narrow, and why.

`positive_data_acceptance` fails on any 4xx to schema-valid data. Some rules cannot be said in
JSON Schema: what a model supports (the catalog), fields compared with each other (`from` ≤
`to`), stored state (`at` before the video existed) and whether an image decodes. Each
operation lists those fields in `x-semantic-fields`; a 400 that names one of them is the
server applying such a rule, not a disagreement. Every other rejection still fails.
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance


def error_param(body: Any) -> str | None:
    """The field a 400 names, in any surface's error shape."""
    if not isinstance(body, dict):
        return None
    inner = body.get("error")
    for shape in (inner if isinstance(inner, dict) else {}, body):
        for key in ("param", "field"):
            if isinstance(shape.get(key), str):
                return str(shape[key])
    return None


@schemathesis.check
def positive_data_within_schema_rules(ctx: Any, response: Any, case: Any) -> bool | None:
    """`positive_data_acceptance`, except a 400 naming a declared semantic field."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except AssertionError:
        semantic = case.operation.definition.raw.get("x-semantic-fields", [])
        try:
            param = error_param(json.loads(response.content))
        except ValueError:
            param = None
        if response.status_code == 400 and param is not None and param in semantic:
            return None
        raise


@schemathesis.hook
def before_call(ctx: Any, case: Any, kwargs: Any) -> None:
    """Ask for the JSON answer where a live stream is documented: a stream of the feed (or
    of a job, with no workers running) never ends, and a fuzzer waits for the end of each
    answer. `test_event_streams` covers the streams."""
    if isinstance(case.query, dict) and str(case.query.get("stream", "")).lower() == "true":
        case.query["stream"] = "false"
    if isinstance(case.headers, dict):
        for name in [name for name in case.headers if name.lower() == "accept"]:
            if "event-stream" in str(case.headers[name]):
                del case.headers[name]
