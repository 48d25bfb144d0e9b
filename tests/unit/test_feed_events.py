"""The feed carries every kind of job event and every ledger entry (mapped to its public
shape), and time travel reads `at` strictly."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate

from events.account import Account, Charge
from events.job import Job
from projections.feed.projection import (
    FEED_EVENTS,
    FEED_TYPES,
    JOB_EVENTS,
    LEDGER_EVENTS,
    FeedProjection,
    ledger_event,
)
from projections.feed.view import FeedEntry
from service.surfaces.errors import ApiError
from service.surfaces.openai.shapes.feed import EventList, LedgerEntry
from service.surfaces.openai.time_travel import parse_at


def kinds_of(aggregate: type[Aggregate], *left_out: str) -> set[type]:
    return {
        value
        for name, value in vars(aggregate).items()
        if isinstance(value, type)
        and issubclass(value, Aggregate.Event)
        and name not in ("Event", "Created", *left_out)
    }


def test_the_feed_follows_every_job_event_and_every_movement_of_money():
    assert set(JOB_EVENTS) == kinds_of(Job)
    assert set(LEDGER_EVENTS) == kinds_of(Account, "Opened")  # Opened moves no money
    assert (*JOB_EVENTS, *LEDGER_EVENTS) == FEED_EVENTS
    assert tuple(kind.__name__ for kind in FEED_EVENTS) == FEED_TYPES


def test_the_feed_reads_the_account_opening_to_learn_its_tenant():
    topics = set(FeedProjection.topics)
    assert "vidgate:Account.Opened" in topics
    assert "vidgate:Account.Snapshot" not in topics


def ledger_events() -> tuple[Account, UUID]:
    """An account granted $5, which reserved $3.20 for one job and $1 for another; the
    first settled at $2.75, the second was released."""
    account, first, second = Account(tenant="acme"), uuid4(), uuid4()
    account.grant(5_000_000, note="trial")
    account.reserve(first, Charge(3_200_000, key="k1"))
    account.reserve(second, 1_000_000)
    account.settle(first, 2_750_000)
    account.release(second, reason="content_policy")
    return account, first


def public_entries(account: Account | None = None) -> list[dict]:
    account = account or ledger_events()[0]
    events = account.collect_events()[1:]  # after Opened
    rows = [ledger_event(e, position) for position, e in enumerate(events, start=10)]
    entries = [FeedEntry(**vars(row), tenant="acme") for row in rows]
    return [entry.public_item() for entry in entries]


def test_ledger_entries_show_dollars_as_the_balance_does():
    granted, reserved, _, settled, released = public_entries()
    assert granted["data"] == {"currency": "USD", "amount": 5.0, "note": "trial"}
    assert reserved["data"] == {"currency": "USD", "amount": 3.2, "key_id": "k1"}
    assert settled["data"] == {"currency": "USD", "amount": 2.75, "reserved": 3.2}
    assert released["data"] == {"currency": "USD", "amount": 1.0, "reason": "content_policy"}


def test_a_ledger_entry_names_its_video_except_a_grant():
    account, first = ledger_events()
    granted, reserved, _, settled, _ = public_entries(account)
    assert granted["video_id"] is None
    assert reserved["video_id"] == settled["video_id"] == f"video_{first.hex}"
    assert [e["actor"] for e in public_entries()] == ["admin", "api", "api", "gateway", "gateway"]
    assert [e["version"] for e in public_entries()] == [2, 3, 4, 5, 6]
    assert list(granted)[:3] == ["object", "position", "video_id"]


def test_ledger_entries_fit_their_declared_shape():
    entries = public_entries()
    for entry in entries:
        LedgerEntry.model_validate(entry)
    page = EventList.model_validate(
        {"object": "list", "data": entries, "has_more": False, "next_after": 14}
    )
    assert [type(item) for item in page.data] == [LedgerEntry] * 5


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
