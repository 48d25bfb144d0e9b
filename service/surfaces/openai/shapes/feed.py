"""The tenant event feed and the analytics figures."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from service.surfaces.openai.shapes.videos import EventType, LedgerEntryType
from service.surfaces.patterns import VIDEO_ID_PATTERN
from service.surfaces.shapes import Shape


class Event(Shape):
    """One job event in the tenant's event feed."""

    object: Literal["video.event"]
    position: int = Field(
        description=(
            "The event's position in the event log: increasing, unique across "
            "tenants (so gaps are other tenants' events); the `after` cursor."
        ),
        ge=1,
    )
    video_id: str = Field(description="The video the event belongs to.", pattern=VIDEO_ID_PATTERN)
    type: EventType = Field(description="The event's kind.")
    version: int = Field(description="The event's position in the job's history (from 1).", ge=1)
    occurred_at: str = Field(
        description="When it was recorded (ISO 8601).", json_schema_extra={"format": "date-time"}
    )
    actor: str = Field(
        description="Who or what caused it: `api`, `dispatcher`, a provider, or `unknown`."
    )
    data: dict[str, Any] = Field(description="The event's recorded fields, which depend on `type`.")


class LedgerData(Shape):
    """What a ledger entry moved; the fields beyond `amount` depend on `type`."""

    currency: Literal["USD"]
    amount: float = Field(
        description="Dollars, exact to a micro-dollar (as `GET /v1/balance` shows them): "
        "granted, reserved, settled (spent) or released (given back).",
        ge=0,
    )
    note: str | SkipJsonSchema[None] = Field(
        default=None, description="CreditsGranted: the operator's note (may be empty)."
    )
    key_id: str | None = Field(
        default=None,
        description="CreditsReserved: the id of the API key that created the video (vidgate's "
        "id for the key, never the key itself; null where none was recorded).",
    )
    reserved: Annotated[float, Field(ge=0)] | SkipJsonSchema[None] = Field(
        default=None,
        description="CreditsSettled: what was held for the video; `amount` is what it cost "
        "(the upstream's reported cost, else the price).",
    )
    reason: str | SkipJsonSchema[None] = Field(
        default=None,
        description="CreditsReleased: the failure code, or `canceled` (before dispatch).",
    )


class LedgerEntry(Shape):
    """A movement of the tenant's credits, in the event feed among the job events."""

    object: Literal["ledger.entry"]
    position: int = Field(
        description="The entry's position in the event log (the `after` cursor).", ge=1
    )
    video_id: str | None = Field(
        description="The video the money was reserved, settled or released for; null for a grant.",
        pattern=VIDEO_ID_PATTERN,
    )
    type: LedgerEntryType = Field(
        description="Granted (credits added), Reserved (held at a create), Settled (spent "
        "when the video completed, or was canceled after dispatch), Released (given back "
        "when it failed or was canceled before dispatch)."
    )
    version: int = Field(
        description="The entry's position in the tenant account's history (from 1).", ge=1
    )
    occurred_at: str = Field(
        description="When it was recorded (ISO 8601).", json_schema_extra={"format": "date-time"}
    )
    actor: Literal["admin", "api", "gateway"] = Field(
        description="`admin` (a grant), `api` (a create's reservation), `gateway` (settled "
        "or released as the video ended)."
    )
    data: LedgerData


class EventList(Shape):
    """A page of the tenant's event feed, in log order: job events and ledger entries."""

    object: Literal["list"]
    data: list[Annotated[Event | LedgerEntry, Field(discriminator="object")]]
    has_more: bool = Field(description="Whether more events follow `next_after` already.")
    next_after: int = Field(
        description=(
            "The `after` of the next page: the last event's position, or the "
            "`after` asked for when the page is empty."
        ),
        ge=0,
    )


class Analytics(Shape):
    """A tenant's job figures, per group."""

    object: Literal["analytics"]
    group_by: list[Literal["day", "model", "provider"]] = Field(
        description="The dimensions the groups are keyed by (empty: one group, the totals)."
    )
    from_: str | None = Field(
        description="The first submission day counted.",
        json_schema_extra={"format": "date"},
        alias="from",
    )
    to: str | None = Field(
        description="The last submission day counted.", json_schema_extra={"format": "date"}
    )
    model: str | None = Field(description="Only this model's jobs (its id, aliases resolved).")
    provider: str | None = Field(description="Only this provider's jobs.")
    data: list[AnalyticsGroup] = Field(description="Ordered by the group keys.")


class AnalyticsGroupLatencySubmitToDispatch(Shape):
    """Submission to the first dispatch."""

    count: int = Field(description="How many jobs the percentiles cover.", ge=0)
    p50: float | None = Field(
        description="The 50th percentile (`percentile_cont`), null without jobs."
    )
    p90: float | None = Field(
        description="The 90th percentile (`percentile_cont`), null without jobs."
    )
    p99: float | None = Field(
        description="The 99th percentile (`percentile_cont`), null without jobs."
    )


class AnalyticsGroupLatencyDispatchToComplete(Shape):
    """First dispatch to completion."""

    count: int = Field(description="How many jobs the percentiles cover.", ge=0)
    p50: float | None = Field(
        description="The 50th percentile (`percentile_cont`), null without jobs."
    )
    p90: float | None = Field(
        description="The 90th percentile (`percentile_cont`), null without jobs."
    )
    p99: float | None = Field(
        description="The 99th percentile (`percentile_cont`), null without jobs."
    )


class AnalyticsGroupLatencySubmitToComplete(Shape):
    """Submission to completion."""

    count: int = Field(description="How many jobs the percentiles cover.", ge=0)
    p50: float | None = Field(
        description="The 50th percentile (`percentile_cont`), null without jobs."
    )
    p90: float | None = Field(
        description="The 90th percentile (`percentile_cont`), null without jobs."
    )
    p99: float | None = Field(
        description="The 99th percentile (`percentile_cont`), null without jobs."
    )


class AnalyticsGroupLatency(Shape):
    """Latency percentiles, seconds."""

    submit_to_dispatch: AnalyticsGroupLatencySubmitToDispatch = Field(
        description="Submission to the first dispatch."
    )
    dispatch_to_complete: AnalyticsGroupLatencyDispatchToComplete = Field(
        description="First dispatch to completion."
    )
    submit_to_complete: AnalyticsGroupLatencySubmitToComplete = Field(
        description="Submission to completion."
    )


class AnalyticsGroupSignals(Shape):
    """State changes (Progressed, Completed, Failed) by where they came from."""

    webhook: int = Field(ge=0)
    poll: int = Field(ge=0)
    other: int = Field(description="The local renderer, the dispatcher …", ge=0)
    webhook_share: Annotated[float, Field(ge=0, le=1)] | None = Field(
        description="webhook / all (null: none)."
    )
    poll_share: Annotated[float, Field(ge=0, le=1)] | None = Field(
        description="poll / all (null: none)."
    )


class AnalyticsGroup(Shape):
    """One group's figures; its keys are present as grouped."""

    day: str | SkipJsonSchema[None] = Field(
        default=None,
        description="UTC day of submission (grouped by day).",
        json_schema_extra={"format": "date"},
    )
    model: str | SkipJsonSchema[None] = Field(
        default=None, description="The model (grouped by model)."
    )
    provider: str | SkipJsonSchema[None] = Field(
        default=None, description="The provider the job was routed to (grouped by provider)."
    )
    submitted: int = Field(ge=0)
    completed: int = Field(ge=0)
    failed: int = Field(ge=0)
    canceled: int = Field(ge=0)
    unfinished: int = Field(description="Submitted and not ended yet.", ge=0)
    failures: dict[str, Annotated[int, Field(ge=0)]] = Field(
        description="Failed jobs by failure code."
    )
    output_seconds: float = Field(
        description="Completed jobs' output duration (else the seconds asked for).", ge=0
    )
    estimated_cost: float = Field(description="The estimates of every submitted job (USD).")
    cost: float = Field(
        description=(
            "Completed jobs: the upstream's reported cost where it gave one, else "
            "the estimate (USD)."
        )
    )
    spent: float | None = Field(
        description=(
            "What the tenant's credit ledger settled for the group's jobs (USD): the "
            "`CreditsSettled` amounts, i.e. the upstream's reported cost, else the price "
            "reserved at submit; failed jobs and those canceled before dispatch spend "
            "nothing. Null when none of the group's jobs was charged (an unmetered tenant: "
            "see `cost`)."
        ),
        ge=0,
    )
    latency: AnalyticsGroupLatency = Field(description="Latency percentiles, seconds.")
    signals: AnalyticsGroupSignals = Field(
        description="State changes (Progressed, Completed, Failed) by where they came from."
    )
