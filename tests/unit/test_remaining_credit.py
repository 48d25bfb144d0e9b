"""What a key may still spend, and the seconds of video that buys."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from events.account import Account, Charge, to_micros
from events.apikey import KeyLimits
from service.billing.remaining import seconds_affordable, spendable

NOW = datetime(2026, 12, 7, tzinfo=UTC)
MONTH = "2026-12"


def account(granted: float = 0.0) -> Account:
    acct = Account(tenant="acme")
    if granted:
        acct.grant(to_micros(granted))
    return acct


def test_nothing_limits_an_unmetered_tenant_without_a_budget():
    assert spendable(None, "k", KeyLimits()) is None
    assert spendable(account(), "k", KeyLimits()) is None


def test_a_metered_tenant_may_spend_its_available_balance():
    acct = account(5.00)
    acct.reserve(uuid4(), Charge(to_micros(1.20)))
    assert spendable(acct, "k", KeyLimits(), now=NOW) == to_micros(3.80)


def test_prepaid_without_an_account_may_spend_nothing():
    assert spendable(None, "k", KeyLimits(), prepaid=True) == 0


def test_the_keys_budget_left_this_month_caps_the_balance():
    acct = account(5.00)
    job = uuid4()
    acct.reserve(job, Charge(to_micros(0.70), key="k", monthly_budget=to_micros(1.00), month=MONTH))
    limits = KeyLimits(monthly_budget=to_micros(1.00))
    assert spendable(acct, "k", limits, now=NOW) == to_micros(0.30)
    assert spendable(acct, "other", limits, now=NOW) == to_micros(1.00)


def test_overspent_is_zero_never_negative():
    acct = account(1.00)
    job = uuid4()
    acct.reserve(job, Charge(to_micros(1.00)))
    acct.settle(job, to_micros(1.50))  # the upstream reported more than the price
    assert spendable(acct, "k", KeyLimits(), now=NOW) == 0


def test_seconds_affordable_at_the_clips_price_per_second():
    assert seconds_affordable(to_micros(1.40), 0.60, 4) == 9
    assert seconds_affordable(to_micros(0.60), 0.60, 4) == 4
    assert seconds_affordable(None, 0.60, 4) is None
    assert seconds_affordable(to_micros(1.00), 0.0, 4) is None  # free: unlimited
    assert seconds_affordable(to_micros(1.00), None, 4) is None


@given(
    budget=st.integers(0, 10**12),
    cents=st.integers(1, 10**6),
    seconds=st.integers(1, 60),
)
def test_the_seconds_bought_never_cost_more_than_the_budget(budget, cents, seconds):
    price = cents / 100
    bought = seconds_affordable(budget, price, seconds)
    assert bought is not None and bought >= 0
    per_second = to_micros(price) / seconds
    assert bought * per_second <= budget + 1e-6 * budget + 1
    assert (bought + 1) * per_second > budget - 1e-6 * budget - 1
