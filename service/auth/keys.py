"""API keys: `vg_<random>`, shown once, stored only as a keyed hash."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from itsdangerous import Signer

PREFIX = "vg_"


def tenant_name_problem(tenant: str) -> str | None:
    """Why `tenant` is not a usable tenant name, or None if it is."""
    bare = tenant.replace("-", "").replace("_", "")
    if not tenant or len(tenant) > 64 or not bare.isalnum() or not bare.isascii():
        return "must be 1-64 letters, digits, '-' or '_'"
    return None


def new_api_key() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def key_hint(key: str) -> str:
    """What may be shown of a key after it was issued."""
    return f"{key[:3]}…{key[-4:]}"


class KeyHasher:
    """HMAC-SHA256 of a key under the server secret; the hash is the key's identity."""

    def __init__(self, secret: str) -> None:
        self._signer = Signer(
            secret, salt="vidgate.api-key.v1", digest_method=hashlib.sha256, key_derivation="hmac"
        )

    def hash(self, key: str) -> str:
        return self._signer.get_signature(key.encode()).decode()


def load_or_create_secret(configured: str | None, data_dir: Path) -> str:
    """The configured secret, else one kept in the data dir (created on first use)."""
    if configured:
        return configured
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
    tmp.write_text(secrets.token_urlsafe(48))
    tmp.chmod(0o600)
    try:
        os.link(tmp, path)  # atomic and exclusive: two first starts agree on one secret
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text().strip()
