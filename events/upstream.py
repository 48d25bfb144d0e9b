"""The upstream-id index: which job a provider's own id belongs to.

Providers that post every webhook to one fixed URL (OpenAI's Sora) name only their own id;
the link, saved in the same transaction as `Dispatched`, resolves it to our job. Its id is
derived from the provider and upstream id, so the store's uniqueness keeps it single.
"""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from events.ids import NAMESPACE


def upstream_link_id(provider: str, upstream_id: str) -> UUID:
    return uuid5(NAMESPACE, f"/upstream/{provider}/{upstream_id}")


class UpstreamLink(Aggregate):
    TOPIC = "vidgate:UpstreamLink"

    class Event(Aggregate.Event):
        TOPIC = "vidgate:UpstreamLink.Event"

    class Linked(Event, Aggregate.Created):
        TOPIC = "vidgate:UpstreamLink.Linked"
        provider: str
        upstream_id: str
        job_id: UUID

    @staticmethod
    def create_id(provider: str, upstream_id: str) -> UUID:
        return upstream_link_id(provider, upstream_id)

    @event(Linked)
    def __init__(self, *, provider: str, upstream_id: str, job_id: UUID) -> None:
        self.provider, self.upstream_id, self.job_id = provider, upstream_id, job_id
