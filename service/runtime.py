"""Everything a process holds while it runs, built once from settings (the composition root)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from eventsourcing.persistence import TrackingRecorder
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteTrackingRecorder

from events.apikey import DEFAULT_SCOPES, KeyLimits
from events.app import Gateway
from projections.analytics.view import AnalyticsView
from projections.deliveries.postgres import PostgresDeliveriesView
from projections.deliveries.sqlite import SQLiteDeliveriesView
from projections.deliveries.store import SQLDeliveriesView
from projections.feed.postgres import PostgresFeedView
from projections.feed.sqlite import SQLiteFeedView
from projections.feed.view import FeedView
from projections.jobs.postgres import PostgresJobsView
from projections.jobs.sqlite import SQLiteJobsView
from projections.jobs.view import JobsView
from service.auth.authenticator import Authenticator
from service.auth.keys import KeyHasher, key_hint, load_or_create_secret, new_api_key
from service.catalog import Catalog, default_catalog
from service.limits.windows import PostgresRateWindows, RateWindows, SQLiteRateWindows
from service.metrics import Metrics
from service.persistence.blue_green import LiveView
from service.persistence.stores import (
    build_analytics_view,
    build_gateway,
    build_live_view,
    build_view,
)
from service.providers.callbacks import CallbackTokens, InputLinks
from service.providers.registry import BUILT_IN, enabled_providers
from service.settings import Settings
from service.storage.links import OutputLinks
from service.storage.store import Storage, build_storage
from service.videos.signals import Signals
from service.webhooks.signing import SecretDeriver

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
    callbacks: CallbackTokens
    links: InputLinks
    output_links: OutputLinks  # the compatible surfaces' keyless video and thumbnail URLs
    signals: Signals
    metrics: Metrics
    feed_view: FeedView  # the tenant event feed (GET /v1/events, vidgate export)
    analytics_view: AnalyticsView  # per-job figures (GET /v1/analytics; vidgate replay)
    rate_windows: RateWindows  # requests per key and minute, counted with other processes
    enabled_providers: frozenset[str] = BUILT_IN
    secret: str = field(default="", repr=False)  # the server secret (console sessions sign with it)
    wakers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def credits_required(self) -> bool:
        return self.settings.credits_required

    def wake_sender(self) -> None:
        """Tell an in-process sender that deliveries were queued (others poll)."""
        for wake in self.wakers:
            wake()

    def close(self) -> None:
        self.gateway.close()
        close_view(self.jobs_view)
        close_view(self.deliveries_view)
        close_view(self.feed_view)
        close_view(self.analytics_view)
        close_view(self.rate_windows)


def close_view(view: object) -> None:
    """Close the connections of a view (a TrackingRecorder over its own datastore)."""
    if isinstance(view, LiveView):  # a rebuildable view: every generation it opened
        view.close_generations()
        return
    datastore = getattr(view, "datastore", None)
    if datastore is not None:
        datastore.close()


def build_runtime(settings: Settings) -> Runtime:
    gateway = build_gateway(settings)
    # Rebuildable (vidgate replay): follows its live generation while the process runs.
    jobs_view = cast(JobsView, build_live_view(settings, "jobs", SQLiteJobsView, PostgresJobsView))
    metrics = Metrics()
    metrics.count_jobs_with(jobs_view.count_by_state)
    secret = load_or_create_secret(settings.secret_key, settings.data_dir)
    hasher = KeyHasher(secret)
    keys = [secret]  # the last key signs; earlier ones (after a rotation) still verify
    windows = cast(
        RateWindows, build_view(settings, "limits", SQLiteRateWindows, PostgresRateWindows)
    )
    return Runtime(
        settings=settings,
        gateway=gateway,
        jobs_view=jobs_view,
        storage=build_storage(settings),
        catalog=default_catalog(),
        hasher=hasher,
        authenticator=Authenticator(gateway, hasher, windows),
        deliveries_view=build_view(
            settings, "deliveries", SQLiteDeliveriesView, PostgresDeliveriesView
        ),
        deriver=SecretDeriver(secret),
        callbacks=CallbackTokens(keys, settings.base_url),
        links=InputLinks(keys, settings.base_url),
        output_links=OutputLinks(keys, max_age=settings.output_link_ttl),
        signals=Signals(gateway, metrics),
        metrics=metrics,
        feed_view=build_view(settings, "feed", SQLiteFeedView, PostgresFeedView),
        analytics_view=build_analytics_view(settings),
        rate_windows=windows,
        enabled_providers=enabled_providers(settings),
        secret=secret,
    )


def build_dispatch_tracking(settings: Settings) -> TrackingRecorder:
    """Where the dispatcher keeps its position in the event log."""
    return build_tracking(settings, "dispatcher")


def build_tracking(settings: Settings, name: str) -> TrackingRecorder:
    """Where a follower of the event log (dispatcher, mirror …) keeps its position."""
    view: TrackingRecorder = build_view(
        settings, name, SQLiteTrackingRecorder, PostgresTrackingRecorder
    )
    return view


def issue_key(
    rt: Runtime,
    tenant: str,
    scopes: tuple[str, ...] = DEFAULT_SCOPES,
    key: str | None = None,
    limits: KeyLimits | None = None,
) -> str:
    """Store a key (a new random one unless given) and return it in the clear, once."""
    key = key or new_api_key()
    rt.gateway.issue_key(rt.hasher.hash(key), tenant, scopes, key_hint(key), limits)
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
