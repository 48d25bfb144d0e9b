"""A key's limits: set with an event only when they change; nonsense is refused."""

from __future__ import annotations

import pytest

from events.apikey import ApiKey, KeyLimits


def new_key() -> ApiKey:
    key = ApiKey(key_hash="h", tenant="acme", scopes=["videos:write"], hint="vg_…abcd")
    key.collect_events()
    return key


def test_a_new_key_has_no_limits():
    assert new_key().limits == KeyLimits(None, None, None)


def test_setting_limits_appends_one_event_and_the_same_limits_none():
    key = new_key()
    key.set_limits(KeyLimits(rpm=10, max_concurrent=2), by="cli")
    key.set_limits(KeyLimits(rpm=10, max_concurrent=2), by="cli")
    events = key.collect_events()
    assert [type(e).__name__ for e in events] == ["LimitsSet"]
    assert key.limits == KeyLimits(rpm=10, max_concurrent=2, monthly_budget=None)


@pytest.mark.parametrize("field", ["rpm", "max_concurrent", "monthly_budget"])
@pytest.mark.parametrize("value", [0, -1, 1.5, "10"])
def test_a_limit_must_be_a_positive_whole_number(field, value):
    with pytest.raises(ValueError, match=field):
        KeyLimits(**{field: value})
