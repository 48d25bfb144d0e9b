"""One job event as clients read it: what happened, when, and who or what caused it.

Shared by a job's audit history (`GET /v1/videos/{id}/events`) and the tenant event feed
(`GET /v1/events`, `vidgate export events`), so both always show an event the same way.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate

ACTOR_FIELDS = ("source", "by")
ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic"})


def history_item(event: Aggregate.Event) -> dict[str, Any]:
    payload = {key: value for key, value in vars(event).items() if key not in ENVELOPE}
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
    if kind in ("DispatchIntended", "Dispatched"):
        return "dispatcher"
    for name in ACTOR_FIELDS:
        if isinstance(payload.get(name), str):
            return str(payload[name])
    return "unknown"
