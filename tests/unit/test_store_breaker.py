"""The breaker in front of each PostgreSQL pool (`service.persistence.guarded_postgres`)."""

from __future__ import annotations

import pytest

from service.persistence.guarded_postgres import PROBE_INTERVAL, Breaker, StoreDown


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def armed() -> tuple[Breaker, Clock]:
    clock = Clock()
    breaker = Breaker(clock)
    breaker.done(breaker.enter(), reached=True)
    return breaker, clock


def test_before_any_connection_a_failure_does_not_open_it():
    breaker = Breaker(Clock())
    breaker.done(breaker.enter(), reached=False)  # e.g. a process starting before its database
    assert breaker.enter() is False  # the next caller tries (and waits) as the library would


def test_after_a_failure_callers_fail_at_once_until_a_probe_is_due():
    breaker, clock = armed()
    breaker.done(breaker.enter(), reached=False)
    with pytest.raises(StoreDown):
        breaker.enter()
    clock.now += PROBE_INTERVAL
    assert breaker.enter() is True  # one probe
    with pytest.raises(StoreDown):
        breaker.enter()  # not two at once
    breaker.done(True, reached=False)
    with pytest.raises(StoreDown):
        breaker.enter()  # the failed probe waits its interval again


def test_a_probe_that_connects_closes_it_and_counts_the_outage_once():
    breaker, clock = armed()
    breaker.done(breaker.enter(), reached=False)
    clock.now += PROBE_INTERVAL
    breaker.done(breaker.enter(), reached=False)
    clock.now += PROBE_INTERVAL
    breaker.done(breaker.enter(), reached=True)
    assert breaker.enter() is False
    assert breaker.outages == 1
