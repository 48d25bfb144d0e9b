"""The feed carries every kind of job event, and time travel reads `at` strictly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from eventsourcing.domain import Aggregate

from events.job import Job
from projections.feed.projection import FEED_EVENTS, FEED_TYPES
from service.surfaces.errors import ApiError
from service.surfaces.openai.time_travel import parse_at


def test_the_feed_follows_every_job_event():
    kinds = {
        value
        for name, value in vars(Job).items()
        if isinstance(value, type)
        and issubclass(value, Aggregate.Event)
        and name not in ("Event", "Created")
    }
    assert set(FEED_EVENTS) == kinds
    assert tuple(kind.__name__ for kind in FEED_EVENTS) == FEED_TYPES


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("3", 3),
        (" 12 ", 12),
        ("2026-01-02T03:04:05Z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2026-01-02T04:04:05+01:00", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ],
)
def test_at_is_a_version_or_a_zoned_time(raw, expected):
    assert parse_at(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "v2", "-1", "2026-01-02", "2026-01-02T03:04:05", "١", "9" * 30]
)
def test_anything_else_is_a_400_naming_at(raw):
    with pytest.raises(ApiError) as refused:
        parse_at(raw)
    assert (refused.value.status, refused.value.param) == (400, "at")
