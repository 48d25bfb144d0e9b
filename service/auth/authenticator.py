"""Bearer-key authentication and scope checks."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from events.apikey import ApiKey, KeyLimits
from events.app import Gateway
from service.auth.keys import KeyHasher
from service.limits.windows import RateWindows
from service.videos.errors import Forbidden, NotAuthenticated, RateLimited

CACHE_SECONDS = 5.0  # a revoked key (or a changed limit) applies within this long everywhere
MINUTE = 60.0


@dataclass(frozen=True)
class Principal:
    tenant: str
    scopes: tuple[str, ...]
    key_id: UUID
    limits: KeyLimits = field(default_factory=KeyLimits)

    def as_submitter(self) -> dict[str, Any]:
        """What a `CreateVideo` needs of the caller: its key and that key's limits."""
        return {"key": self.key_id.hex, "limits": self.limits}

    def require(self, scope: str) -> None:
        if scope not in self.scopes and "admin" not in self.scopes:
            raise Forbidden(f"this API key lacks the {scope!r} scope", code="missing_scope")


class Authenticator:
    def __init__(
        self,
        gateway: Gateway,
        hasher: KeyHasher,
        windows: RateWindows | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`windows` count the requests of keys with an `rpm` limit (shared by processes)."""
        self.gateway, self.hasher = gateway, hasher
        self.windows, self.clock = windows, clock
        self._cache: dict[str, tuple[Principal, float]] = {}

    async def authenticate(self, request: Request) -> Principal:
        """The caller's principal; a 401 saying what is wrong with the key, or a 429 when
        the key has used up its requests per minute (every request counts)."""
        principal = await self._principal(request)
        rpm = principal.limits.rpm
        if rpm is not None and self.windows is not None:
            verdict = await run_in_threadpool(
                self.windows.hit, principal.key_id.hex, rpm, MINUTE, self.clock()
            )
            if not verdict.allowed:
                raise RateLimited(verdict.limit, verdict.reset)
        return principal

    def sign_in(self, key: str) -> Principal:
        """The principal of a key typed into a sign-in form (a 401 if it is no valid key)."""
        return _principal(self.gateway.find_key(self.hasher.hash(key.strip())))

    def principal_of(self, key_id: UUID) -> Principal:
        """The principal of a key known by its id (a console session); read afresh, not from
        the cache, so that a revoked key's session ends with its next request."""
        return _principal(self.gateway.key_with_id(key_id))

    async def _principal(self, request: Request) -> Principal:
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
    limits = key.limits
    return Principal(tenant=key.tenant, scopes=tuple(key.scopes), key_id=key.id, limits=limits)


def _unauthorized(message: str, code: str) -> NotAuthenticated:
    return NotAuthenticated(message, code=code)
