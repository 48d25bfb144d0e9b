"""Validation of webhook fields: destination URLs, event filters, time windows."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from events.endpoint import EVENT_FILTERS
from service.videos.errors import InvalidField
from service.videos.urls import parsed_web_url

MAX_URL = 2048
MAX_DESCRIPTION = 500
DEFAULT_GRACE = 24 * 3600
MAX_GRACE = 7 * 24 * 3600


def webhook_url(value: Any, param: str) -> str:
    """An http(s) URL with a host; where it may connect is checked when it is called.

    It must also parse as the sender's httpx parses it: a URL httpx refuses (a bad port or
    IDNA host) would otherwise be accepted here and then fail every delivery attempt.
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidField(param, lambda n: f"{n(param)} must be an http(s) URL")
    url = value.strip()
    if len(url) > MAX_URL or not url.isprintable():
        raise InvalidField(param, lambda n: f"{n(param)} must be ≤ {MAX_URL} printable characters")
    parts = parsed_web_url(url)
    if parts is None:
        raise InvalidField(
            param, lambda n: f"{n(param)} must be a well-formed http(s) URL with a host"
        )
    if "@" in parts.netloc:
        raise InvalidField(
            param, lambda n: f"{n(param)} must not contain userinfo (user:password@)"
        )
    return url


def event_filter(value: Any, param: str) -> list[str]:
    """A non-empty subset of the event kinds, in canonical order; None means all of them."""
    if value is None:
        return list(EVENT_FILTERS)
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        kinds = ", ".join(EVENT_FILTERS)
        raise InvalidField(
            param,
            lambda n: f"{n(param)} must be a non-empty list of {kinds}",
            allowed=EVENT_FILTERS,
        )
    unknown = sorted({i.strip() for i in items} - set(EVENT_FILTERS))
    if unknown:
        kinds = ", ".join(EVENT_FILTERS)
        raise InvalidField(
            param,
            lambda n: f"{n(param)}: unknown {unknown[0]!r}; use {kinds}",
            allowed=EVENT_FILTERS,
        )
    return [kind for kind in EVENT_FILTERS if kind in {i.strip() for i in items}]


def description(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_DESCRIPTION:
        raise InvalidField(
            "description",
            lambda n: f"{n('description')} must be a string of ≤ {MAX_DESCRIPTION} chars",
        )
    return value


def flag(value: Any, param: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidField(param, lambda n: f"{n(param)} must be true or false")
    return value


def grace_period(fields: Mapping[str, Any]) -> int:
    value = fields.get("grace_period_seconds", DEFAULT_GRACE)
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 60.0 is the integer JSON Schema says it is
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_GRACE:
        raise InvalidField(
            "grace_period_seconds", lambda n: f"{n('grace_period_seconds')} must be 0 … {MAX_GRACE}"
        )
    return value


def moment(value: Any, param: str, default: float) -> float:
    """A unix time (number) or an ISO 8601 timestamp with a zone, as epoch seconds."""
    if value is None:
        return default
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except OverflowError:  # an integer beyond float range
            seconds = math.inf
        if math.isfinite(seconds):  # JSON's NaN and Infinity parse too
            return seconds
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed.timestamp()
    raise InvalidField(
        param, lambda n: f"{n(param)} must be unix seconds or an ISO 8601 time with a zone"
    )


def known_fields(fields: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise InvalidField(unknown[0], f"unknown parameter {unknown[0]!r}", "unknown_parameter")
