"""The query parameters of the `/v1` operations that take them, declared once."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from projections.analytics.view import DIMENSIONS
from projections.feed.projection import FEED_TYPES
from service.surfaces.openai.analytics import NO_GROUPING
from service.surfaces.openai.events_feed import DEFAULT_LIMIT as FEED_LIMIT
from service.surfaces.openai.events_feed import MAX_LIMIT as FEED_MAX_LIMIT
from service.surfaces.patterns import comma_list_pattern
from service.surfaces.shapes import RequestShape

Status = Literal["queued", "in_progress", "completed", "failed", "canceled"]
Provider = Literal[
    "local",
    "veo",
    "vertex-veo",
    "fal",
    "replicate",
    "minimax",
    "luma",
    "runway",
    "sora",
    "kling",
    "seedance",
]
# An empty value means "not given".
Day = Annotated[str, Field(json_schema_extra={"format": "date"})] | Literal[""]


class ListVideosQuery(RequestShape):
    """`GET /v1/videos`."""

    after: Annotated[str, Field(pattern=r"^(video_[0-9a-fA-F]{32})?$")] | SkipJsonSchema[None] = (
        Field(
            default=None, description="Return videos after this id (the previous page's `last_id`)."
        )
    )
    limit: int = Field(default=20, ge=1, le=100, description="Page size.")
    order: Literal["asc", "desc"] = Field(default="desc", description="By creation time.")
    status: Status | SkipJsonSchema[None] = Field(
        default=None, description="Only videos in this status."
    )
    model: str | SkipJsonSchema[None] = Field(
        default=None, description="Only videos of this model (id or alias)."
    )


class EventFeedQuery(RequestShape):
    """`GET /v1/events`."""

    after: int = Field(
        default=0,
        ge=0,
        description="Events after this position: 0 (the default) from the oldest, then "
        "the previous page's `next_after`.",
    )
    limit: int = Field(default=FEED_LIMIT, ge=1, le=FEED_MAX_LIMIT, description="Page size.")
    type: (
        Annotated[
            str, Field(pattern=comma_list_pattern(FEED_TYPES, any_case=True, empty_items=True))
        ]
        | SkipJsonSchema[None]
    ) = Field(
        default=None,
        description="Only events of these types: one, or several separated by commas, in "
        "any case (the parameter may also repeat).",
        examples=["Completed,Failed"],
    )
    stream: bool = Field(
        default=False,
        description="`true`: a live stream of Server-Sent Events from `after` on (as "
        "`Accept: text/event-stream` asks), instead of a page.",
    )


class AnalyticsQuery(RequestShape):
    """`GET /v1/analytics`."""

    group_by: (
        Annotated[
            str, Field(pattern=comma_list_pattern((*DIMENSIONS, NO_GROUPING), empty_items=True))
        ]
        | SkipJsonSchema[None]
    ) = Field(
        default=None,
        description="Group by any of `day`, `model`, `provider` (comma-separated, or "
        "repeated), or `none` (the default): one group, the totals.",
        examples=["day", "model,provider"],
    )
    from_: Day | SkipJsonSchema[None] = Field(
        default=None,
        alias="from",
        description="The first UTC day of submission counted.",
        examples=["2025-11-25"],
    )
    to: Day | SkipJsonSchema[None] = Field(
        default=None,
        description="The last UTC day of submission counted (inclusive).",
        examples=["2025-11-25"],
    )
    model: str | SkipJsonSchema[None] = Field(
        default=None, description="Only this model's jobs (id or alias)."
    )
    provider: Provider | Literal[""] | SkipJsonSchema[None] = Field(
        default=None, description="Only this provider's jobs."
    )


class VideoAtQuery(RequestShape):
    """`GET /v1/videos/{video_id}`."""

    at: str | SkipJsonSchema[None] = Field(
        default=None,
        description="Time travel: the video as it was at this version (1 is the submission; "
        "see `version` in its events) or at this ISO 8601 time with a zone (its last "
        "version recorded by then). Such a past state has no poll hint.",
        examples=["2", "2026-01-01T12:00:00Z"],
    )


class ContentQuery(RequestShape):
    """`GET /v1/videos/{video_id}/content`."""

    variant: Literal["video", "thumbnail"] = Field(
        default="video",
        description="`video` (MP4) or `thumbnail` (JPEG of a middle frame); "
        "`spritesheet` is a 400 `unsupported_variant`.",
    )
    index: int = Field(
        default=0,
        ge=0,
        description="Which video of a job that made several (Midjourney: 4): 0, the first, "
        "by default. Past the last one is a 400.",
    )


class DeliveriesQuery(RequestShape):
    """`GET /v1/webhook_endpoints/{endpoint_id}/deliveries`."""

    limit: int = Field(default=50, ge=1, le=200, description="How many deliveries to return.")
