"""Settings: the only place that reads the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


class SettingsError(ValueError):
    """An environment variable has a value vidgate cannot use (the message names it)."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("var")
    database_url: str | None = None
    database_schema: str = "public"
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str | None = None
    bootstrap_api_key: str | None = None
    run_workers: bool = True
    max_body_bytes: int = 25 * 1024 * 1024
    follow_interval: float = 0.05
    local_concurrency: int = 2
    local_frame_delay: float = 0.0
    poll_after_ms: int = 1000
    public_url: str | None = None
    allowed_private_networks: str = ""
    delivery_lease_seconds: float = 60.0

    @property
    def base_url(self) -> str:
        """Where clients reach this gateway (links in webhook payloads)."""
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def uses_postgres(self) -> bool:
        return self.database_url is not None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        url = env.get("VIDGATE_DATABASE_URL") or None
        if url is not None and not url.startswith(("postgresql://", "postgres://")):
            raise SettingsError("VIDGATE_DATABASE_URL must start with postgresql://")
        return cls(
            data_dir=Path(env.get("VIDGATE_DATA_DIR") or "var"),
            database_url=url,
            database_schema=env.get("VIDGATE_DATABASE_SCHEMA") or "public",
            host=env.get("HOST") or "127.0.0.1",
            port=_int(env, "PORT", 8000, 1, 65535),
            secret_key=env.get("VIDGATE_SECRET_KEY") or None,
            bootstrap_api_key=_bootstrap_key(env),
            run_workers=_bool(env, "VIDGATE_RUN_WORKERS", True),
            max_body_bytes=_int(env, "VIDGATE_MAX_BODY_BYTES", 25 * 1024 * 1024, 1024, 2**31),
            follow_interval=_int(env, "VIDGATE_FOLLOW_INTERVAL_MS", 50, 1, 60_000) / 1000,
            local_concurrency=_int(env, "VIDGATE_LOCAL_CONCURRENCY", 2, 1, 64),
            local_frame_delay=_int(env, "VIDGATE_LOCAL_FRAME_DELAY_MS", 0, 0, 10_000) / 1000,
            poll_after_ms=_int(env, "VIDGATE_POLL_AFTER_MS", 1000, 0, 600_000),
            public_url=_url(env, "VIDGATE_PUBLIC_URL"),
            allowed_private_networks=_networks(env, "VIDGATE_ALLOWED_PRIVATE_NETWORKS"),
            delivery_lease_seconds=float(_int(env, "VIDGATE_DELIVERY_LEASE_SECONDS", 60, 1, 3600)),
        )


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _bootstrap_key(env: Mapping[str, str]) -> str | None:
    key = env.get("VIDGATE_BOOTSTRAP_API_KEY") or None
    if key is not None and (len(key) < 8 or any(ch.isspace() for ch in key)):
        raise SettingsError("VIDGATE_BOOTSTRAP_API_KEY must be 8+ characters without spaces")
    return key


def _url(env: Mapping[str, str], name: str) -> str | None:
    raw = (env.get(name) or "").strip().rstrip("/")
    if raw and not raw.startswith(("http://", "https://")):
        raise SettingsError(f"{name} must be an http(s) URL, got {raw!r}")
    return raw or None


def _networks(env: Mapping[str, str], name: str) -> str:
    import ipaddress

    raw = env.get(name) or ""
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise SettingsError(f"{name}: {entry!r} is not a network like 127.0.0.0/8") from None
    return raw
