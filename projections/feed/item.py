"""One event as clients read it: what happened, when, and who or what caused it.

A job's events are shared by its audit history (`GET /v1/videos/{id}/events`) and the tenant
event feed (`GET /v1/events`, `vidgate export events`), so both always show an event the same
way. The feed also carries the tenant's ledger entries (`ledger_item`): its account's money
movements, in dollars as `GET /v1/balance` shows them.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate

from events.account import MICROS, Account
from events.ids import video_id

ACTOR_FIELDS = ("source", "by")
ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic"})
CURRENCY = "USD"

LedgerEvent = (
    Account.CreditsGranted
    | Account.CreditsReserved
    | Account.CreditsSettled
    | Account.CreditsReleased
)
# Who moves the money: an operator grants (`vidgate credits grant`), a create reserves, and
# the gateway settles or releases when the job ends.
LEDGER_ACTORS = {
    "CreditsGranted": "admin",
    "CreditsReserved": "api",
    "CreditsSettled": "gateway",
    "CreditsReleased": "gateway",
}


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


def ledger_item(event: LedgerEvent) -> dict[str, Any]:
    """A money movement of the tenant's account; `version` is the account's."""
    kind = type(event).__name__
    job_id = getattr(event, "job_id", None)
    return {
        "object": "ledger.entry",
        "video_id": None if job_id is None else video_id(job_id),
        "type": kind,
        "version": event.originator_version,
        "occurred_at": event.timestamp.isoformat(),
        "actor": LEDGER_ACTORS[kind],
        "data": ledger_data(event),
    }


def ledger_data(event: LedgerEvent) -> dict[str, Any]:
    """`currency` and `amount` (dollars), and what the kind of movement adds."""
    data: dict[str, Any] = {"currency": CURRENCY, "amount": event.amount / MICROS}
    if isinstance(event, Account.CreditsGranted):
        data["note"] = event.note
    elif isinstance(event, Account.CreditsReserved):
        data["key_id"] = event.key
    elif isinstance(event, Account.CreditsSettled):
        data["reserved"] = event.reserved / MICROS
    else:
        data["reason"] = event.reason
    return data


def _actor(kind: str, payload: dict[str, Any]) -> str:
    if kind == "Submitted":
        return "api"
    if kind in ("DispatchIntended", "Dispatched"):
        # The worker that dispatched (`worker:<host>:<pid>`); events older than that field
        # name no worker.
        by = payload.get("by")
        return by if isinstance(by, str) else "dispatcher"
    for name in ACTOR_FIELDS:
        if isinstance(payload.get(name), str):
            return str(payload[name])
    return "unknown"
