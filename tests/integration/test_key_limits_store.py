"""Key limits on a real store: issued with the key in one save, changed later, reloaded."""

from __future__ import annotations

from events.apikey import ApiKey, KeyLimits


def test_limits_are_issued_with_the_key_and_can_be_changed(gateway):
    gateway.issue_key("hash-1", "acme", ["videos:write"], "vg_…0001", KeyLimits(rpm=10))
    assert [type(e).__name__ for e in gateway.events.get(ApiKey.create_id("hash-1"))] == [
        "Issued",
        "LimitsSet",
    ]
    gateway.set_key_limits("hash-1", KeyLimits(rpm=20, monthly_budget=5_000_000), by="cli")
    assert gateway.find_key("hash-1").limits == KeyLimits(20, None, 5_000_000)


def test_changing_the_limits_of_an_unknown_key_finds_nothing(gateway):
    assert gateway.set_key_limits("nope", KeyLimits(rpm=1), by="cli") is None
