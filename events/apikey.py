"""The `ApiKey` aggregate: a tenant's credential, stored only as a keyed hash."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from events.ids import api_key_id

VIDEOS_WRITE, VIDEOS_READ, ADMIN = "videos:write", "videos:read", "admin"
WEBHOOKS_WRITE, WEBHOOKS_READ = "webhooks:write", "webhooks:read"
# NovaKit's one scope for its video routes ("Required scope: video"); they also accept
# `videos:write` (create) and `videos:read` (read), so vidgate's default keys work there too.
VIDEO = "video"
SCOPES = (VIDEOS_WRITE, VIDEOS_READ, WEBHOOKS_WRITE, WEBHOOKS_READ, ADMIN, VIDEO)
DEFAULT_SCOPES = (VIDEOS_WRITE, VIDEOS_READ, WEBHOOKS_WRITE, WEBHOOKS_READ)


@dataclass(frozen=True)
class KeyLimits:
    """What one key may do; None is no limit. `monthly_budget` is in micro-dollars."""

    rpm: int | None = None
    max_concurrent: int | None = None
    monthly_budget: int | None = None

    def __post_init__(self) -> None:
        for name in ("rpm", "max_concurrent", "monthly_budget"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive whole number or None")


class ApiKey(Aggregate):
    TOPIC = "vidgate:ApiKey"

    class Event(Aggregate.Event):
        TOPIC = "vidgate:ApiKey.Event"

    class Issued(Event, Aggregate.Created):
        TOPIC = "vidgate:ApiKey.Issued"
        key_hash: str
        tenant: str
        scopes: list[str]
        hint: str

    class Revoked(Event):
        TOPIC = "vidgate:ApiKey.Revoked"
        by: str

        def apply(self, key: ApiKey) -> None:
            key.revoked = True

    class LimitsSet(Event):
        TOPIC = "vidgate:ApiKey.LimitsSet"
        rpm: int | None
        max_concurrent: int | None
        monthly_budget: int | None
        by: str

        def apply(self, key: ApiKey) -> None:
            key.limits = KeyLimits(self.rpm, self.max_concurrent, self.monthly_budget)

    @staticmethod
    def create_id(key_hash: str) -> UUID:
        return api_key_id(key_hash)

    @event(Issued)
    def __init__(self, *, key_hash: str, tenant: str, scopes: list[str], hint: str) -> None:
        self.key_hash, self.tenant, self.scopes, self.hint = key_hash, tenant, list(scopes), hint
        self.revoked = False
        self.limits = KeyLimits()

    def allows(self, scope: str) -> bool:
        """Whether this key may act with `scope` (`admin` may do everything)."""
        return not self.revoked and (scope in self.scopes or ADMIN in self.scopes)

    def set_limits(self, limits: KeyLimits, by: str) -> None:
        if limits != self.limits:
            self.trigger_event(
                self.LimitsSet,
                rpm=limits.rpm,
                max_concurrent=limits.max_concurrent,
                monthly_budget=limits.monthly_budget,
                by=by,
            )

    def revoke(self, by: str) -> None:
        if not self.revoked:
            self.trigger_event(self.Revoked, by=by)
