"""Everything a process holds while it runs, built once from settings (the composition root)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from eventsourcing.persistence import TrackingRecorder
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteTrackingRecorder

from events.apikey import DEFAULT_SCOPES
from events.app import Gateway
from projections.deliveries_postgres import PostgresDeliveriesView
from projections.deliveries_sqlite import SQLiteDeliveriesView
from projections.deliveries_store import SQLDeliveriesView
from projections.jobs_postgres import PostgresJobsView
from projections.jobs_sqlite import SQLiteJobsView
from projections.jobs_view import JobsView
from service.auth import Authenticator
from service.catalog import Catalog, default_catalog
from service.keys import KeyHasher, key_hint, load_or_create_secret, new_api_key
from service.settings import Settings
from service.signing import SecretDeriver
from service.storage import Storage
from service.stores import build_gateway, build_view

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    gateway: Gateway
    jobs_view: JobsView
    storage: Storage
    catalog: Catalog
    hasher: KeyHasher
    authenticator: Authenticator
    deliveries_view: SQLDeliveriesView
    deriver: SecretDeriver
    wakers: list[Callable[[], None]] = field(default_factory=list)

    def wake_sender(self) -> None:
        """Tell an in-process sender that deliveries were queued (others poll)."""
        for wake in self.wakers:
            wake()

    def close(self) -> None:
        self.gateway.close()
        close_view(self.jobs_view)
        close_view(self.deliveries_view)


def close_view(view: object) -> None:
    """Close the connections of a view (a TrackingRecorder over its own datastore)."""
    datastore = getattr(view, "datastore", None)
    if datastore is not None:
        datastore.close()


def build_runtime(settings: Settings) -> Runtime:
    gateway = build_gateway(settings)
    secret = load_or_create_secret(settings.secret_key, settings.data_dir)
    hasher = KeyHasher(secret)
    return Runtime(
        settings=settings,
        gateway=gateway,
        jobs_view=build_view(settings, "jobs", SQLiteJobsView, PostgresJobsView),
        storage=Storage(settings.data_dir),
        catalog=default_catalog(),
        hasher=hasher,
        authenticator=Authenticator(gateway, hasher),
        deliveries_view=build_view(
            settings, "deliveries", SQLiteDeliveriesView, PostgresDeliveriesView
        ),
        deriver=SecretDeriver(secret),
    )


def build_dispatch_tracking(settings: Settings) -> TrackingRecorder:
    """Where the dispatcher keeps its position in the event log."""
    view: TrackingRecorder = build_view(
        settings, "dispatcher", SQLiteTrackingRecorder, PostgresTrackingRecorder
    )
    return view


def issue_key(
    rt: Runtime, tenant: str, scopes: tuple[str, ...] = DEFAULT_SCOPES, key: str | None = None
) -> str:
    """Store a key (a new random one unless given) and return it in the clear, once."""
    key = key or new_api_key()
    rt.gateway.issue_key(rt.hasher.hash(key), tenant, scopes, key_hint(key))
    return key


def ensure_bootstrap_key(rt: Runtime) -> str | None:
    """The configured bootstrap key exists for `default`; with no keys at all, make one.

    Returns a key only when it was just created and must be shown (once).
    """
    if rt.settings.bootstrap_api_key:
        issue_key(rt, "default", (*DEFAULT_SCOPES, "admin"), rt.settings.bootstrap_api_key)
        return None
    if rt.gateway.has_any_key():
        return None
    return issue_key(rt, "default", (*DEFAULT_SCOPES, "admin"))
