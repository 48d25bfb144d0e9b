"""Bearer-key authentication and scope checks."""

from __future__ import annotations

import time
from dataclasses import dataclass
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from events.apikey import ApiKey
from events.app import Gateway
from service.auth.keys import KeyHasher
from service.videos.errors import Forbidden, NotAuthenticated

CACHE_SECONDS = 5.0  # a revoked key stops working within this long on every process


@dataclass(frozen=True)
class Principal:
    tenant: str
    scopes: tuple[str, ...]
    key_id: UUID

    def require(self, scope: str) -> None:
        if scope not in self.scopes and "admin" not in self.scopes:
            raise Forbidden(f"this API key lacks the {scope!r} scope", code="missing_scope")


class Authenticator:
    def __init__(self, gateway: Gateway, hasher: KeyHasher) -> None:
        self.gateway, self.hasher = gateway, hasher
        self._cache: dict[str, tuple[Principal, float]] = {}

    async def authenticate(self, request: Request) -> Principal:
        """The caller's principal, or a 401 saying what is wrong with the key."""
        key = _bearer(request.headers.get("authorization"))
        key_hash = self.hasher.hash(key)
        cached = self._cache.get(key_hash)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        found = await run_in_threadpool(self.gateway.find_key, key_hash)
        principal = _principal(found)
        self._cache[key_hash] = (principal, time.monotonic() + CACHE_SECONDS)
        return principal


def _bearer(header: str | None) -> str:
    if not header:
        raise _unauthorized("missing API key: send 'Authorization: Bearer vg_…'", "missing_api_key")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise _unauthorized("the Authorization header must be 'Bearer <key>'", "invalid_api_key")
    return key.strip()


def _principal(key: ApiKey | None) -> Principal:
    if key is None or key.revoked:
        raise _unauthorized("incorrect or revoked API key", "invalid_api_key")
    return Principal(tenant=key.tenant, scopes=tuple(key.scopes), key_id=key.id)


def _unauthorized(message: str, code: str) -> NotAuthenticated:
    return NotAuthenticated(message, code=code)
