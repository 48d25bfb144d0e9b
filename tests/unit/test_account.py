"""The credit ledger's rules: reserve, settle, release; the balance always adds up."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from events.account import (
    Account,
    Charge,
    InsufficientCredits,
    KeyLimitReached,
    account_id,
    to_micros,
)


def replayed(events: list) -> Account:
    account = None
    for event in events:
        account = event.mutate(account)
    assert isinstance(account, Account)
    return account


def funded(dollars: float) -> Account:
    account = Account(tenant="acme")
    account.grant(to_micros(dollars), note="top-up")
    return account


def test_an_account_id_is_derived_from_its_tenant():
    assert Account(tenant="acme").id == account_id("acme") != account_id("other")


def test_a_reservation_the_balance_cannot_cover_is_refused_and_appends_nothing():
    account = funded(1.00)
    account.collect_events()
    with pytest.raises(InsufficientCredits) as refused:
        account.reserve(uuid4(), to_micros(3.20))
    assert (refused.value.price, refused.value.available) == (3_200_000, 1_000_000)
    assert account.collect_events() == []


def test_five_dollars_cover_exactly_five_one_dollar_jobs():
    account = funded(5.00)
    for _ in range(5):
        account.reserve(uuid4(), to_micros(1.00))
    with pytest.raises(InsufficientCredits):
        account.reserve(uuid4(), to_micros(1.00))
    assert (account.available, account.reserved) == (0, 5_000_000)


def test_settling_spends_the_actual_cost_and_frees_the_rest():
    account, job = funded(5.00), uuid4()
    account.reserve(job, to_micros(3.20))
    account.settle(job, to_micros(2.50))
    assert (account.available, account.reserved, account.spent) == (2_500_000, 0, 2_500_000)


def test_releasing_gives_the_reservation_back():
    account, job = funded(5.00), uuid4()
    account.reserve(job, to_micros(3.20))
    account.release(job, reason="failed")
    assert (account.available, account.reserved, account.spent) == (5_000_000, 0, 0)


def test_settle_and_release_are_idempotent_per_job():
    account, job = funded(5.00), uuid4()
    account.reserve(job, to_micros(1.00))
    account.settle(job)
    account.collect_events()
    account.settle(job)
    account.release(job, reason="late failure")
    assert account.collect_events() == []
    assert (account.available, account.spent) == (4_000_000, 1_000_000)


def test_a_repeated_reservation_for_one_job_holds_the_money_once():
    account, job = funded(5.00), uuid4()
    account.reserve(job, to_micros(1.00))
    account.reserve(job, to_micros(1.00))
    assert account.reserved == 1_000_000


def test_a_grant_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        Account(tenant="acme").grant(0)


class Ledger(RuleBasedStateMachine):
    """Random interleavings of grants, reservations, settlements and releases."""

    def __init__(self) -> None:
        super().__init__()
        self.account = Account(tenant="acme")
        self.events = self.account.collect_events()
        self.jobs: list[UUID] = []
        self.granted = 0

    @rule(amount=st.integers(min_value=1, max_value=10_000_000))
    def grant(self, amount: int) -> None:
        self.account.grant(amount)
        self.granted += amount

    @rule(amount=st.integers(min_value=0, max_value=5_000_000))
    def reserve(self, amount: int) -> None:
        job = uuid4()
        try:
            self.account.reserve(job, amount)
        except InsufficientCredits:
            assert amount > self.account.available
            return
        self.jobs.append(job)

    @rule(data=st.data(), actual=st.none() | st.integers(min_value=0, max_value=5_000_000))
    def settle(self, data: st.DataObject, actual: int | None) -> None:
        if self.jobs:
            self.account.settle(data.draw(st.sampled_from(self.jobs)), actual)

    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        if self.jobs:
            self.account.release(data.draw(st.sampled_from(self.jobs)), reason="failed")

    @invariant()
    def the_balance_adds_up(self) -> None:
        account = self.account
        assert account.available + account.reserved + account.spent == self.granted

    @invariant()
    def replaying_the_ledger_gives_the_same_balance(self) -> None:
        self.events.extend(self.account.collect_events())
        again, account = replayed(self.events), self.account
        assert (again.available, again.reserved, again.spent) == (
            account.available,
            account.reserved,
            account.spent,
        )


TestLedger = Ledger.TestCase


def test_a_keys_open_jobs_are_capped_and_an_ended_job_frees_its_place():
    account = Account(tenant="acme")  # unmetered: only the key's limits apply
    first, second = uuid4(), uuid4()
    limit = Charge(0, key="k1", max_concurrent=2)
    account.reserve(first, limit)
    account.reserve(second, limit)
    with pytest.raises(KeyLimitReached) as reached:
        account.reserve(uuid4(), limit)
    assert (reached.value.kind, reached.value.limit, reached.value.used) == (
        "concurrent jobs",
        2,
        2,
    )
    account.reserve(uuid4(), Charge(0, key="k2", max_concurrent=2))  # another key counts apart
    account.release(first, reason="failed")
    account.reserve(uuid4(), limit)


def test_a_keys_monthly_budget_counts_what_it_spent_and_what_it_holds():
    account = Account(tenant="acme")
    budget = {"key": "k1", "monthly_budget": to_micros(5.00), "month": "2026-12"}
    held = uuid4()
    account.reserve(held, Charge(to_micros(3.20), **budget))
    with pytest.raises(KeyLimitReached) as reached:
        account.reserve(uuid4(), Charge(to_micros(3.20), **budget))
    assert reached.value.used == to_micros(3.20)
    account.settle(held, to_micros(1.00))  # settled below the price: the rest is freed
    account.reserve(uuid4(), Charge(to_micros(3.20), **budget))


def test_an_unmetered_account_enforces_no_balance_unless_prepaid():
    account = Account(tenant="acme")
    account.reserve(uuid4(), Charge(to_micros(9.00), key="k", max_concurrent=5))
    assert not account.metered and account.available == -to_micros(9.00)
    with pytest.raises(InsufficientCredits):
        account.reserve(uuid4(), Charge(1, prepaid=True))
