"""A create request on each compatible surface, and how to read its answers (for tests).

Each answers at once (Concurred's Veo models are async, NovaKit with `async=true`), so a
gateway without workers serves them too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Body = dict[str, Any]


@dataclass(frozen=True)
class Surface:
    name: str
    create: str  # the path, with its query
    body: Body
    job: Callable[[Body], str]  # the id a client of this surface keeps
    error: Callable[[Body], tuple[str | None, str | None]]  # (code, field) of a refusal

    def __str__(self) -> str:
        return self.name

    def other_body(self) -> Body:
        """The same request with another prompt."""
        return {**self.body, "prompt": f"{self.body['prompt']}, at night"}


SURFACES = [
    Surface(
        "concurred",
        "/api/v1/video/generate",
        {"model": "veo-3.1-fast", "prompt": "a fox in snow", "duration": "4"},
        lambda b: b["data"]["operation_id"],
        lambda b: (b["error"]["code"], b["error"]["param"]),
    ),
    Surface(
        "v2",
        "/v2/videos/generate",
        {"model": "veo-3.1-fast", "prompt": "a fox in snow", "parameters": {"duration": 4}},
        lambda b: b["jobId"],
        lambda b: (b["code"], b["field"]),
    ),
    Surface(
        "novakit",
        "/api/v1/videos/generations?async=true",
        {"prompt": "a fox in snow", "duration_seconds": 5},
        lambda b: b["id"],
        lambda b: (b["code"], b["param"]),
    ),
    Surface(
        "task_api",
        "/v1/video/generations",
        {"model": "kling-v2-5-turbo", "prompt": "a fox in snow", "duration": 5},
        lambda b: b["task_id"],
        lambda b: (b["error"]["code"], b["error"]["param"]),
    ),
]
