"""One entry of a job's audit history: what happened, when, and who or what caused it."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate

ACTOR_FIELDS = ("source", "by")


def history_item(event: Aggregate.Event) -> dict[str, Any]:
    payload = {
        key: value
        for key, value in vars(event).items()
        if key not in ("originator_id", "originator_version", "timestamp", "originator_topic")
    }
    kind = type(event).__name__
    return {
        "object": "video.event",
        "type": kind,
        "version": event.originator_version,
        "occurred_at": event.timestamp.isoformat(),
        "actor": _actor(kind, payload),
        "data": payload,
    }


def _actor(kind: str, payload: dict[str, Any]) -> str:
    if kind == "Submitted":
        return "api"
    if kind == "Dispatched":
        return "dispatcher"
    for name in ACTOR_FIELDS:
        if isinstance(payload.get(name), str):
            return str(payload[name])
    return "unknown"
