"""Standard Webhooks signatures, computed with itsdangerous (never hand-written HMAC).

Secrets are derived, not stored: `whsec_` + base64(HMAC-SHA256(server secret, scope:gen)).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence

from itsdangerous import Signer
from itsdangerous.encoding import base64_decode, base64_encode
from itsdangerous.signer import HMACAlgorithm

SECRET_PREFIX = "whsec_"


class SecretDeriver:
    """Turns the server secret into per-endpoint webhook secrets (32 random-looking bytes)."""

    def __init__(self, server_secret: str) -> None:
        self._key = server_secret.encode()
        self._hmac = HMACAlgorithm(hashlib.sha256)

    def raw(self, scope: str, generation: int) -> bytes:
        return self._hmac.get_signature(self._key, f"webhook-secret:{scope}:{generation}".encode())

    def secret(self, scope: str, generation: int) -> str:
        """The `whsec_…` form shown to the tenant."""
        return SECRET_PREFIX + base64.b64encode(self.raw(scope, generation)).decode()


def sign(msg_id: str, timestamp: int, body: bytes, keys: Sequence[bytes]) -> str:
    """The `webhook-signature` header: one `v1,<base64>` per active key, space-separated."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    return " ".join(f"v1,{_signature(key, content)}" for key in keys)


def verifies(msg_id: str, timestamp: int, body: bytes, key: bytes, header: str) -> bool:
    """Whether any `v1,` entry of a `webhook-signature` header is ours for `key`.

    itsdangerous compares in constant time; only the base64 alphabet is converted back.
    """
    content = f"{msg_id}.{timestamp}.".encode() + body
    signer = Signer(key, digest_method=hashlib.sha256, key_derivation="none")
    for entry in header.split():
        version, _, given = entry.partition(",")
        try:
            raw = base64.b64decode(given, validate=True)
        except ValueError:
            continue
        if version == "v1" and signer.verify_signature(content, base64_encode(raw)):
            return True
    return False


def _signature(key: bytes, content: bytes) -> str:
    # itsdangerous with no key derivation is plain HMAC-SHA256 in URL-safe, unpadded base64;
    # Standard Webhooks wants standard base64, so only the alphabet is converted.
    signer = Signer(key, digest_method=hashlib.sha256, key_derivation="none")
    return base64.b64encode(base64_decode(signer.get_signature(content))).decode()


def endpoint_scope(endpoint_id: str) -> str:
    """What a registered endpoint's secrets are derived for (its id in hex)."""
    return f"endpoint:{endpoint_id}"


def tenant_scope(tenant: str) -> str:
    """What the tenant's default secret (for per-job `webhook_url`s) is derived for."""
    return f"tenant:{tenant}"
