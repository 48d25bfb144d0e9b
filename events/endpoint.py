"""The `WebhookEndpoint` aggregate: where a tenant wants its job events delivered.

Secrets are never stored: a secret is derived from the server secret, the endpoint id and
its `generation`; rotating bumps the generation and keeps the previous one signing until
`previous_expires_at` (epoch seconds, computed by the caller: event bodies have no clock).
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate, event

EVENT_FILTERS = ("progress", "completed", "failed", "canceled")


class EndpointDeleted(Exception):
    """The endpoint was deleted; it can no longer change."""


class WebhookEndpoint(Aggregate):
    TOPIC = "vidgate:WebhookEndpoint"

    class Event(Aggregate.Event):
        TOPIC = "vidgate:WebhookEndpoint.Event"

    class Registered(Event, Aggregate.Created):
        TOPIC = "vidgate:WebhookEndpoint.Registered"
        tenant: str
        url: str
        events: list[str]
        description: str
        enabled: bool

    class Updated(Event):
        TOPIC = "vidgate:WebhookEndpoint.Updated"
        changes: dict[str, Any]

        def apply(self, endpoint: WebhookEndpoint) -> None:
            for name, value in self.changes.items():
                setattr(endpoint, name, value)

    class SecretRotated(Event):
        TOPIC = "vidgate:WebhookEndpoint.SecretRotated"
        generation: int
        previous_expires_at: float

        def apply(self, endpoint: WebhookEndpoint) -> None:
            endpoint.previous_generation = endpoint.generation
            endpoint.generation = self.generation
            endpoint.previous_expires_at = self.previous_expires_at

    class Disabled(Event):
        TOPIC = "vidgate:WebhookEndpoint.Disabled"
        reason: str
        by: str

        def apply(self, endpoint: WebhookEndpoint) -> None:
            endpoint.enabled, endpoint.disabled_reason = False, self.reason

    class Enabled(Event):
        TOPIC = "vidgate:WebhookEndpoint.Enabled"
        by: str

        def apply(self, endpoint: WebhookEndpoint) -> None:
            endpoint.enabled, endpoint.disabled_reason = True, None

    class Deleted(Event):
        TOPIC = "vidgate:WebhookEndpoint.Deleted"
        by: str

        def apply(self, endpoint: WebhookEndpoint) -> None:
            endpoint.deleted, endpoint.enabled = True, False

    @event(Registered)
    def __init__(
        self, *, tenant: str, url: str, events: list[str], description: str, enabled: bool
    ) -> None:
        self.tenant, self.url, self.events = tenant, url, list(events)
        self.description, self.enabled = description, enabled
        self.generation, self.previous_generation = 1, 0
        self.previous_expires_at = 0.0
        self.disabled_reason: str | None = None
        self.deleted = False

    def update(self, **changes: Any) -> None:
        """Change url, events, description; `enabled` goes through enable/disable."""
        self._check_live()
        enabled = changes.pop("enabled", None)
        changed = {k: v for k, v in changes.items() if getattr(self, k) != v}
        if changed:
            self.trigger_event(self.Updated, changes=changed)
        if enabled is True:
            self.enable("api")
        elif enabled is False:
            self.disable("disabled by the tenant", "api")

    def rotate_secret(self, previous_expires_at: float) -> None:
        self._check_live()
        self.trigger_event(
            self.SecretRotated,
            generation=self.generation + 1,
            previous_expires_at=previous_expires_at,
        )

    def disable(self, reason: str, by: str) -> None:
        if self.enabled and not self.deleted:
            self.trigger_event(self.Disabled, reason=reason, by=by)

    def enable(self, by: str) -> None:
        self._check_live()
        if not self.enabled:
            self.trigger_event(self.Enabled, by=by)

    def delete(self, by: str) -> None:
        if not self.deleted:
            self.trigger_event(self.Deleted, by=by)

    def active_generations(self, now: float) -> list[int]:
        """The secret generations that sign right now, newest first."""
        if self.previous_generation and now < self.previous_expires_at:
            return [self.generation, self.previous_generation]
        return [self.generation]

    def _check_live(self) -> None:
        if self.deleted:
            raise EndpointDeleted(f"endpoint {self.id} was deleted")
