"""The `deliveries` view: client webhook deliveries derived from the event log.

The projection writes rows in the same transaction as its tracking position (so a crash
can never lose a delivery: the event store is the outbox). The sender then works the rows
as a queue: it claims due ones with a lease longer than its request timeout, and records
each attempt. One SQL text serves SQLite and PostgreSQL; only placeholders and types differ.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PENDING, SUCCEEDED, FAILED, ABANDONED = "pending", "succeeded", "failed", "abandoned"


@dataclass(frozen=True)
class Target:
    """Where one job event goes: a registered endpoint or the job's own `webhook_url`."""

    url: str
    endpoint_id: str | None  # None: the per-job callback, signed with the tenant's secret


@dataclass(frozen=True)
class EndpointRow:
    endpoint_id: str
    tenant: str
    url: str
    events: list[str]
    enabled: bool
    generation: int
    previous_generation: int
    previous_expires_at: float
    failing_since: float | None


@dataclass(frozen=True)
class DeliveryRow:
    delivery_id: str
    msg_id: str
    tenant: str
    job_id: str
    endpoint_id: str | None
    url: str
    event_type: str
    payload: str
    sequence: int
    status: str
    attempts: int
    manual: bool
    created_at: float
    next_attempt_at: float
    lease_token: str | None
    last_status_code: int | None
    last_error: str | None
    updated_at: float


@dataclass(frozen=True)
class AttemptRow:
    attempt_id: str
    delivery_id: str
    msg_id: str
    attempted_at: float
    status_code: int | None
    latency_ms: float
    response: str | None
    error: str | None
    trigger: str


@dataclass(frozen=True)
class Outcome:
    """What an attempt led to; `next_attempt_at` only when the status stays pending."""

    status: str
    next_attempt_at: float
    status_code: int | None
    error: str | None


class DeliveriesSQL:
    """Table names and DDL per backend."""

    def __init__(
        self, prefix: str, placeholder: str, text: str, real: str, schema: str | None = None
    ) -> None:
        self.p, self.prefix = placeholder, prefix
        table = f'"{schema}".{prefix}' if schema else prefix  # index names stay unqualified
        self.endpoints, self.jobs = f"{table}endpoints", f"{table}jobs"
        self.deliveries, self.attempts = f"{table}deliveries", f"{table}attempts"
        self.ddl = [
            f"CREATE TABLE IF NOT EXISTS {self.endpoints} (endpoint_id {text} PRIMARY KEY, "
            f"tenant {text} NOT NULL, url {text} NOT NULL, events {text} NOT NULL, "
            "enabled INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, generation INTEGER "
            f"NOT NULL, previous_generation INTEGER NOT NULL, previous_expires_at {real} NOT NULL,"
            f" failing_since {real})",
            f"CREATE TABLE IF NOT EXISTS {self.jobs} (job_id {text} PRIMARY KEY, tenant {text} "
            f"NOT NULL, url {text}, events {text}, progress INTEGER NOT NULL DEFAULT 0)",
            f"CREATE TABLE IF NOT EXISTS {self.deliveries} (delivery_id {text} PRIMARY KEY, "
            f"msg_id {text} NOT NULL, tenant {text} NOT NULL, job_id {text} NOT NULL, "
            f"endpoint_id {text}, url {text} NOT NULL, event_type {text} NOT NULL, "
            f"payload {text} NOT NULL, sequence INTEGER NOT NULL, status {text} NOT NULL, "
            "attempts INTEGER NOT NULL, manual INTEGER NOT NULL DEFAULT 0, "
            f"created_at {real} NOT NULL, next_attempt_at {real} NOT NULL, lease_until {real}, "
            f"lease_token {text}, last_status_code INTEGER, last_error {text}, "
            f"updated_at {real} NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {prefix}deliveries_due ON {self.deliveries} "
            "(status, next_attempt_at)",
            f"CREATE INDEX IF NOT EXISTS {prefix}deliveries_job ON {self.deliveries} (job_id)",
            f"CREATE INDEX IF NOT EXISTS {prefix}deliveries_endpoint ON {self.deliveries} "
            "(endpoint_id, created_at)",
            f"CREATE TABLE IF NOT EXISTS {self.attempts} (attempt_id {text} PRIMARY KEY, "
            f"delivery_id {text} NOT NULL, msg_id {text} NOT NULL, attempted_at {real} NOT NULL, "
            f"status_code INTEGER, latency_ms {real} NOT NULL, response {text}, error {text}, "
            f"trigger {text} NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {prefix}attempts_delivery ON {self.attempts} "
            "(delivery_id, attempted_at)",
        ]

    def q(self, sql: str) -> str:
        """SQL written with `?` placeholders, in this backend's style."""
        return sql.replace("?", self.p)


def endpoint_from(record: Mapping[str, Any]) -> EndpointRow:
    return EndpointRow(
        endpoint_id=record["endpoint_id"],
        tenant=record["tenant"],
        url=record["url"],
        events=json.loads(record["events"]),
        enabled=bool(record["enabled"]),
        generation=record["generation"],
        previous_generation=record["previous_generation"],
        previous_expires_at=record["previous_expires_at"],
        failing_since=record["failing_since"],
    )


def delivery_from(record: Mapping[str, Any]) -> DeliveryRow:
    fields = {name: record[name] for name in DeliveryRow.__dataclass_fields__}
    fields["manual"] = bool(fields["manual"])
    return DeliveryRow(**fields)


def attempt_from(record: Mapping[str, Any]) -> AttemptRow:
    return AttemptRow(**{name: record[name] for name in AttemptRow.__dataclass_fields__})
