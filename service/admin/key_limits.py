"""The `--rpm`, `--max-concurrent` and `--monthly-budget` flags of `vidgate keys …`."""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

from events.apikey import KeyLimits
from service.billing.balance import AmountError, dollars, parse_dollars

FLAGS = {
    "rpm": "requests per minute (excess: 429 with Retry-After)",
    "max_concurrent": "unfinished jobs at once (excess submits: 429)",
    "monthly_budget": "dollars this key may spend per calendar month (UTC)",
}


class LimitError(ValueError):
    """A limit flag with a value that is not a limit."""


def add_limit_flags(parser: argparse.ArgumentParser, *, clearable: bool = False) -> None:
    for name, help_text in FLAGS.items():
        extra = "; 'none' removes the limit" if clearable else ""
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, help=help_text + extra)


def limits_from(args: argparse.Namespace, current: KeyLimits) -> KeyLimits:
    """`current` with the limits the flags name; `LimitError` naming the bad flag."""
    changes: dict[str, Any] = {}
    for name in FLAGS:
        text = getattr(args, name, None)
        if text is not None:
            changes[name] = _parse(name, text)
    return replace(current, **changes)


def _parse(name: str, text: str) -> int | None:
    flag = f"--{name.replace('_', '-')}"
    if text.strip().lower() == "none":
        return None
    if name == "monthly_budget":
        try:
            return parse_dollars(text)
        except AmountError as error:
            raise LimitError(f"{flag}: {error}") from None
    if not text.strip().isdigit() or int(text) < 1:
        raise LimitError(f"{flag} must be a whole number of at least 1, not {text!r}")
    return int(text)


def limits_object(limits: KeyLimits) -> dict[str, Any]:
    budget = limits.monthly_budget
    return {
        "rpm": limits.rpm,
        "max_concurrent": limits.max_concurrent,
        "monthly_budget": None if budget is None else dollars(budget),
    }
