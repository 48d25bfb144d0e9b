"""Dollar amounts typed by an operator, and the balance object."""

from __future__ import annotations

import pytest

from events.account import Account, to_micros
from service.billing.balance import AmountError, balance_object, parse_dollars


@pytest.mark.parametrize(
    ("text", "micros"),
    [("5", 5_000_000), ("5.00", 5_000_000), ("$0.000001", 1), (" 3.2 ", 3_200_000)],
)
def test_dollars_become_micro_dollars(text, micros):
    assert parse_dollars(text) == micros


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("five", "not an amount"),
        ("0", "positive"),
        ("-1", "positive"),
        ("nan", "positive"),
        ("inf", "positive"),
        ("1e12", "at most"),
        ("0.0000001", "6 decimals"),
    ],
)
def test_a_bad_amount_says_what_is_wrong(text, problem):
    with pytest.raises(AmountError, match=problem):
        parse_dollars(text)


def test_a_tenant_without_an_account_is_unmetered():
    assert balance_object(None) == {
        "object": "balance",
        "currency": "USD",
        "metered": False,
        "available": None,
        "reserved": 0.0,
        "spent": 0.0,
    }


def test_the_balance_shows_dollars():
    account = Account(tenant="acme")
    account.grant(to_micros(5.00))
    account.reserve(account.id, to_micros(1.25))
    assert balance_object(account)["available"] == 3.75
    assert balance_object(account)["reserved"] == 1.25
