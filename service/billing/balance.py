"""A tenant's balance as clients and operators see it, and amounts in and out of micro-dollars."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from events.account import MICROS, Account

CURRENCY = "USD"
MAX_GRANT = Decimal(1_000_000_000)  # dollars; anything larger is a typo, not a top-up


class AmountError(ValueError):
    """An amount that is not a positive number of dollars with at most 6 decimals."""


def parse_dollars(text: str) -> int:
    """'5', '5.00' or '$5' → micro-dollars; `AmountError` naming what is wrong."""
    try:
        amount = Decimal(text.strip().removeprefix("$"))
    except InvalidOperation:
        raise AmountError(f"{text!r} is not an amount of dollars (e.g. 5.00)") from None
    if not amount.is_finite() or amount <= 0:
        raise AmountError(f"the amount must be a positive number of dollars, not {text!r}")
    if amount > MAX_GRANT:
        raise AmountError(f"the amount must be at most {MAX_GRANT:,} dollars")
    micros = amount * MICROS
    if micros != micros.to_integral_value():
        raise AmountError("the amount has more than 6 decimals (a micro-dollar is the unit)")
    return int(micros)


def dollars(micros: int) -> float:
    return micros / MICROS


def balance_object(account: Account | None) -> dict[str, Any]:
    """`{"object": "balance", …}`. An unmetered tenant (never granted credits) has no
    balance to enforce: `available` is null; `reserved` and `spent` still count the jobs of
    its limited keys, if any."""
    metered = account is not None and account.metered
    return {
        "object": "balance",
        "currency": CURRENCY,
        "metered": metered,
        "available": dollars(account.available) if account is not None and metered else None,
        "reserved": dollars(account.reserved) if account is not None else 0.0,
        "spent": dollars(account.spent) if account is not None else 0.0,
    }
