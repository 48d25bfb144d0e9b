"""The answers metering adds: 429 on every authenticated operation, 402 on each video create.

Each is documented in the operation's own surface's error shape, taken from its 401 answer
(every authenticated operation has one), so the compatible surfaces keep theirs.
"""

from __future__ import annotations

import copy
from typing import Any

Spec = dict[str, Any]

CREATES = frozenset(
    {
        ("post", "/v1/videos"),
        ("post", "/api/v1/video/generate"),
        ("post", "/v2/videos/generate"),
        ("post", "/api/v1/videos/generations"),
        ("post", "/v1/video/generations"),
    }
)
METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})
RATE_HEADERS = {
    "Retry-After": "Seconds until the key's window renews.",
    "RateLimit-Limit": "The key's requests per minute (`vidgate keys limits`).",
    "RateLimit-Remaining": "Requests left in the window: 0 here.",
    "RateLimit-Reset": "Seconds until the window renews.",
}
TOO_MANY = (
    "The API key used up its requests per minute (`rate_limited`); every authenticated "
    "request counts. Retry after `Retry-After` seconds."
)
NO_CREDITS = (
    "The tenant is metered and its available credits can't cover this video's price "
    "(`insufficient_credits`; the message names both). Nothing was created."
)


def add_metering_answers(paths: Spec) -> Spec:
    """`paths` with the 429 and 402 answers added where they can happen."""
    for path, item in paths.items():
        for method, operation in item.items():
            if method not in METHODS:
                continue  # a path item's shared `parameters`
            responses = operation.get("responses", {})
            unauthorized = responses.get("401")
            if unauthorized is None:
                continue
            responses.setdefault("429", _like(unauthorized, TOO_MANY, RATE_HEADERS))
            if (method, path) in CREATES:
                responses.setdefault("402", _like(unauthorized, NO_CREDITS, {}))
    return paths


def _like(answer: Spec, description: str, headers: dict[str, str]) -> Spec:
    like: Spec = {"description": description, "content": copy.deepcopy(answer["content"])}
    if headers:
        like["headers"] = {
            name: {"description": text, "schema": {"type": "integer", "minimum": 0}}
            for name, text in headers.items()
        }
    return like
