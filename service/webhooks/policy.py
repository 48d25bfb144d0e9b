"""What an attempt's result means for a delivery: done, retry when, or give up.

Pure functions of the result, the delivery and the time: the sender's clock and jitter
are injected, so the whole schedule runs in tests without sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime

from projections.deliveries.view import ABANDONED, FAILED, PENDING, SUCCEEDED, DeliveryRow, Outcome

# Seconds to wait after attempt n fails (the first attempt is immediate): Svix's schedule.
TERMINAL_DELAYS = (5, 300, 1800, 7200, 18000, 36000, 36000)
PROGRESS_DELAYS = (5, 30)  # progress is soon stale: retried briefly, then superseded anyway
OVERLOAD_MINIMUM = 60.0  # 429s and timeouts wait at least this long
JITTER = 0.2
DISABLE_AFTER = 5 * 24 * 3600.0  # an endpoint failing this long is disabled


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None = None
    error: str | None = None
    timed_out: bool = False
    refused: bool = False  # the destination is not one vidgate may connect to
    retry_after: str | None = None


def decide(
    delivery: DeliveryRow, result: AttemptResult, now: float, rng: Callable[[], float]
) -> Outcome:
    """The delivery's next state after `result`."""
    code = result.status_code
    if code is not None and 200 <= code < 300:
        return Outcome(SUCCEEDED, now, code, None)
    error = result.error or _describe(code)
    if code == 410 or result.refused:
        return Outcome(ABANDONED, now, code, error)
    delays = PROGRESS_DELAYS if delivery.event_type == "progress" else TERMINAL_DELAYS
    if delivery.manual or delivery.attempts >= len(delays):
        return Outcome(FAILED, now, code, error)  # manual retries are single-shot
    return Outcome(
        PENDING, now + _wait(delays[delivery.attempts], code, result, now, rng), code, error
    )


def _wait(
    base: float, code: int | None, result: AttemptResult, now: float, rng: Callable[[], float]
) -> float:
    """The scheduled delay ±20%, but never sooner than a minute after an overload, nor
    sooner than `Retry-After` asked (which is honoured within [base, 2·base])."""
    floor = 0.0
    if code == 429 or result.timed_out:
        base, floor = max(base, OVERLOAD_MINIMUM), OVERLOAD_MINIMUM
    asked = _retry_after(result.retry_after, now)
    if asked is not None:
        floor = max(floor, min(asked, 2 * base))
        base = min(max(asked, base), 2 * base)
    return max(base * (1 + JITTER * (2 * rng() - 1)), floor)


def _retry_after(value: str | None, now: float) -> float | None:
    """`Retry-After` as seconds from now (delta-seconds or an HTTP date), if it parses."""
    if not value:
        return None
    if value.strip().isdecimal():
        return float(value.strip())
    try:
        moment = parsedate_to_datetime(value)
        if moment.tzinfo is None:  # "-0000": HTTP dates are always GMT
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp() - now
    except (TypeError, ValueError, OverflowError):
        return None


def _describe(code: int | None) -> str:
    if code is None:
        return "no response"
    if 300 <= code < 400:
        return f"HTTP {code}: redirects are not followed"
    return f"HTTP {code}"


def should_disable(failing_since: float | None, now: float) -> bool:
    return failing_since is not None and now - failing_since >= DISABLE_AFTER
