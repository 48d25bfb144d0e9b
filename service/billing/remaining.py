"""What a caller may still spend, and how many seconds of a model's video that buys."""

from __future__ import annotations

from datetime import UTC, datetime

from events.account import Account, month_of, to_micros
from events.apikey import KeyLimits


def spendable(
    account: Account | None,
    key: str | None,
    limits: KeyLimits,
    *,
    prepaid: bool = False,
    now: datetime | None = None,
) -> int | None:
    """Micro-dollars the next submits of `key` may still reserve: the tenant's available
    balance where it is metered (or `prepaid` is required), capped by what is left of the
    key's monthly budget. None when nothing limits it."""
    bounds: list[int] = []
    if account is not None and account.metered:
        bounds.append(account.available)
    elif prepaid:
        bounds.append(account.available if account is not None else 0)
    if limits.monthly_budget is not None and key is not None:
        month = month_of(now or datetime.now(UTC))
        committed = account.committed(key, month) if account is not None else 0
        bounds.append(limits.monthly_budget - committed)
    return max(0, min(bounds)) if bounds else None


def seconds_affordable(budget: int | None, price: float | None, seconds: float) -> int | None:
    """Whole seconds of video at `price` dollars per `seconds`-long clip that `budget`
    micro-dollars buy; None when unlimited (no budget, or the video is free)."""
    if budget is None or not price or seconds <= 0:
        return None
    clip = to_micros(price)
    # budget × seconds ÷ clip, not budget ÷ (clip ÷ seconds): one rounding instead of two
    return int(budget * seconds // clip) if clip > 0 else None
