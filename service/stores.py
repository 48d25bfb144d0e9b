"""Builds the event store and the views from settings: SQLite files or PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from eventsourcing.persistence import InfrastructureFactory, TrackingRecorder
from eventsourcing.utils import Environment

from events.app import Gateway
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
    return {"PERSISTENCE_MODULE": "eventsourcing.postgres", **_postgres_env(settings)}


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
        "POSTGRES_POOL_SIZE": "2",
        "POSTGRES_MAX_OVERFLOW": "40",  # ≥ the threadpool, so threads never queue on the pool
        "POSTGRES_CONNECT_TIMEOUT": "5",
        "POSTGRES_LOCK_TIMEOUT": "5",
    }


def build_gateway(settings: Settings) -> Gateway:
    return Gateway(env=store_env(settings, "events"))


def build_view(settings: Settings, name: str, sqlite_class: type[T], pg_class: type[T]) -> T:
    """A tracking recorder (view) called `name`, in its own SQLite file or PG tables."""
    env = Environment(name, store_env(settings, name))
    factory: Any = InfrastructureFactory.construct(env)
    return factory.tracking_recorder(pg_class if settings.uses_postgres else sqlite_class)  # type: ignore[no-any-return]
