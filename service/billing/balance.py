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
    """`{"object": "balance", …}`; a tenant without an account is unmetered (all zero)."""
    available = reserved = spent = 0
    if account is not None:
        available, reserved, spent = account.available, account.reserved, account.spent
    return {
        "object": "balance",
        "currency": CURRENCY,
        "metered": account is not None,
        "available": dollars(available),
        "reserved": dollars(reserved),
        "spent": dollars(spent),
    }
