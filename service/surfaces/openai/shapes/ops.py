"""The probes' answers (`/healthz`, `/readyz`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from service.surfaces.shapes import Shape


class Health(Shape):
    """Liveness."""

    status: Literal["ok"]


class Readiness(Shape):
    """Whether the event store answers."""

    status: Literal["ready", "unavailable"] = Field(description="`ready`, or `unavailable` (503).")
    store: Literal["sqlite", "postgresql"] = Field(description="The event store in use.")
    backlog: dict[str, int] | None = Field(
        default=None,
        description="Per worker loop, the events recorded that it has not looked at yet (0 "
        "when caught up); absent in a process that runs no workers.",
    )
