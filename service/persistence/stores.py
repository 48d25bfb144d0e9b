"""Builds the event store and the views from settings: SQLite files or PostgreSQL."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import unquote, urlsplit

import psycopg
from eventsourcing.persistence import InfrastructureFactory, TrackingRecorder
from eventsourcing.utils import Environment

from events.app import Gateway
from projections.analytics.postgres import PostgresAnalyticsView
from projections.analytics.sqlite import SQLiteAnalyticsView
from projections.analytics.view import AnalyticsView
from projections.inflight.postgres import PostgresInflightView
from projections.inflight.sqlite import SQLiteInflightView
from projections.inflight.view import InflightView
from service.persistence.blue_green import LiveView, Pointer
from service.settings import Settings, SettingsError

T = TypeVar("T", bound=TrackingRecorder)


def store_env(settings: Settings, name: str) -> dict[str, str]:
    """The eventsourcing environment for the store called `name` (`vidgate`, a view…)."""
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            # Each SQLite view gets its own file: the library's tracking table ignores names.
            "SQLITE_DBNAME": str(Path(settings.data_dir) / f"{name}.sqlite"),
            "SQLITE_LOCK_TIMEOUT": "10",
        }
    return {"PERSISTENCE_MODULE": "service.persistence.guarded_postgres", **_postgres_env(settings)}


def _postgres_env(settings: Settings) -> dict[str, str]:
    url = urlsplit(settings.database_url or "")
    dbname = unquote(url.path.lstrip("/"))
    if not dbname:
        raise SettingsError("VIDGATE_DATABASE_URL must name a database: postgresql://…/NAME")
    return {
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": unquote(url.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(url.password or ""),
        "POSTGRES_SCHEMA": settings.database_schema,
        "POSTGRES_POOL_SIZE": str(settings.db_pool_size),
        "POSTGRES_MAX_OVERFLOW": str(settings.db_max_overflow),
        "POSTGRES_CONNECT_TIMEOUT": "5",
        "POSTGRES_LOCK_TIMEOUT": "5",
        "APPLICATION_NAME": settings.pg_application_name,
    }


# A fixed key for pg_advisory_lock while creating tables: "vidgate ddl" (any constant works).
DDL_LOCK_KEY = 0x76696467_0064646C


@contextmanager
def creating_tables(settings: Settings) -> Iterator[None]:
    """Held while a store creates its tables. Two PostgreSQL processes running `CREATE TABLE
    IF NOT EXISTS` at once can both create: the loser fails on `pg_type`'s unique index (seen
    when two workers started together on a fresh schema). On SQLite both insert the library's
    `__migration__` tracking row and the loser fails. So: an advisory lock, or a file lock."""
    if not settings.uses_postgres:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        with open(Path(settings.data_dir) / "ddl.lock", "a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # released when the file closes
            yield
        return
    with psycopg.connect(
        str(settings.database_url),
        autocommit=True,
        connect_timeout=5,
        application_name=settings.pg_application_name,
    ) as conn:
        scope = (DDL_LOCK_KEY >> 32, f"{settings.database_schema}:ddl")
        conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", scope)
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", scope)


def build_gateway(settings: Settings) -> Gateway:
    env = store_env(settings, "events")
    if settings.aggregate_cache:
        env["AGGREGATE_CACHE_MAXSIZE"] = str(settings.aggregate_cache)
    with creating_tables(settings):
        return Gateway(env=env)


def build_view(settings: Settings, name: str, sqlite_class: type[T], pg_class: type[T]) -> T:
    """A tracking recorder (view) called `name`, in its own SQLite file or PG tables."""
    env = Environment(name, store_env(settings, name))
    factory: Any = InfrastructureFactory.construct(env)
    with creating_tables(settings):
        return factory.tracking_recorder(pg_class if settings.uses_postgres else sqlite_class)  # type: ignore[no-any-return]


def build_inflight_view(settings: Settings) -> InflightView:
    """The poller's work list: `inflight.sqlite` under the data dir, or the schema's tables."""
    view: InflightView = build_view(settings, "inflight", SQLiteInflightView, PostgresInflightView)
    return view


# Rebuildable views (`vidgate replay`): opened through their generation pointer.


def build_live_view(
    settings: Settings, name: str, sqlite_class: type[T], pg_class: type[T], *, pinned: bool = False
) -> LiveView:
    """The live generation of view `name`, followed while the process runs (see
    `service.persistence.blue_green`); `pinned` for a projection's writer."""
    return LiveView(
        name,
        lambda generation: build_view(settings, generation, sqlite_class, pg_class),
        Pointer(settings),
        pinned=pinned,
    )


def build_analytics_view(settings: Settings, *, pinned: bool = False) -> AnalyticsView:
    """Per-job analytics rows: `analytics.sqlite` (or a later generation) or PG tables."""
    live = build_live_view(
        settings, "analytics", SQLiteAnalyticsView, PostgresAnalyticsView, pinned=pinned
    )
    return cast(AnalyticsView, live)
