"""The account a process keeps between submits (`events.hot_accounts`) is never trusted
over the store: two gateways on one store stand for two web processes; what one saves on
the account, the other's next submit sees (by a failed save and a reload, or a fresh look
before a refusal)."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest

from events.account import Charge, InsufficientCredits, KeyLimitReached, to_micros
from events.app import Gateway
from service.persistence.stores import build_gateway
from service.settings import Settings
from tests.helpers import SUBMISSION


@pytest.fixture
def other(settings: Settings, gateway: Gateway) -> Iterator[Gateway]:
    """A second gateway on the same store (`gateway` created the tables)."""
    app = build_gateway(settings)
    yield app
    app.close()


def submit(gateway: Gateway, dollars: float, **charge):
    fields = {**SUBMISSION, "idempotency_key": None, "request_hash": uuid4().hex}
    return gateway.submit_charged(fields, Charge(to_micros(dollars), **charge))


def balance(gateway: Gateway) -> tuple[int, int, int]:
    account = gateway.find_account("acme")
    assert account is not None
    return account.available, account.reserved, account.spent


def test_a_grant_made_elsewhere_is_seen_before_a_refusal(gateway, other):
    gateway.grant_credits("acme", to_micros(1.00))
    submit(gateway, 1.00)  # the kept copy now has nothing available
    other.grant_credits("acme", to_micros(2.00))
    _job, created = submit(gateway, 2.00)
    assert created
    assert balance(other) == (0, to_micros(3.00), 0)


def test_submits_from_two_processes_interleave_without_losing_a_reservation(gateway, other):
    gateway.grant_credits("acme", to_micros(10.00))
    for n in range(10):
        submit(gateway if n % 2 else other, 1.00)
    assert balance(gateway) == (0, to_micros(10.00), 0)
    with pytest.raises(InsufficientCredits):
        submit(gateway, 0.01)
    with pytest.raises(InsufficientCredits):
        submit(other, 0.01)


def test_a_settlement_elsewhere_frees_the_money_for_the_next_submit(gateway, other):
    gateway.grant_credits("acme", to_micros(2.00))
    job, _ = submit(gateway, 2.00)
    other.update_job(job.id, lambda j: j.fail("upstream_error", "boom", "poll"))  # released
    _again, created = submit(gateway, 2.00)
    assert created
    assert balance(other) == (0, to_micros(2.00), 0)


def test_an_ended_job_elsewhere_frees_the_keys_place(gateway, other):
    limited = {"key": "k1", "max_concurrent": 1}
    first, _ = submit(gateway, 0.0, **limited)
    with pytest.raises(KeyLimitReached):
        submit(gateway, 0.0, **limited)
    other.update_job(first.id, lambda j: j.cancel("api"))
    _second, created = submit(gateway, 0.0, **limited)
    assert created


def test_a_grant_in_the_same_process_drops_the_kept_copy(gateway):
    gateway.grant_credits("acme", to_micros(1.00))
    submit(gateway, 1.00)
    gateway.grant_credits("acme", to_micros(1.00))
    _job, created = submit(gateway, 1.00)
    assert created
    assert balance(gateway) == (0, to_micros(2.00), 0)
