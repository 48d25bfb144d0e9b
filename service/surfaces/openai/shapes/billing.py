"""The tenant's balance (`GET /v1/balance`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from service.surfaces.shapes import Shape


class Balance(Shape):
    """A tenant's credits in dollars: available + reserved + spent = everything granted."""

    object: Literal["balance"]
    currency: Literal["USD"]
    metered: bool = Field(
        description="Whether submits are charged: the tenant was granted credits (or the "
        "gateway runs with VIDGATE_CREDITS_REQUIRED)."
    )
    available: float | None = Field(
        description="What new jobs may reserve; null when the tenant is unmetered."
    )
    reserved: float = Field(description="Held for jobs that have not ended yet.")
    spent: float = Field(description="Settled for jobs that completed (or were canceled late).")
