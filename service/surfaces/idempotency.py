"""The `Idempotency-Key` header, read the same way on every surface.

With a key, the job id is derived from the tenant and the key (`events.ids`), so a retried
create returns the first job (in the surface's shape) instead of making a second, billable
one; the same key with a different request is a 409 `idempotency_key_reused`
(`service.videos.commands`), told by each surface in its own error shape.
"""

from __future__ import annotations

from starlette.requests import Request

from service.surfaces.errors import invalid

HEADER = "Idempotency-Key"
MAX_KEY = 255
# How a refusal about the key names it: by the header (the core calls it `idempotency_key`).
NAMES = {"idempotency_key": HEADER}


def idempotency_key(request: Request) -> str | None:
    """The request's key, or None; a blank, too long or unprintable one is a 400."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not key.strip() or len(key) > MAX_KEY or not key.isprintable():
        raise invalid(HEADER, f"{HEADER} must be 1-{MAX_KEY} printable characters")
    return key
