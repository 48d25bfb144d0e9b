"""What the facade tests share: sandbox gateways per store, images, and the OpenAPI check."""

from __future__ import annotations

import base64
import io
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from openapi_schema_validator import OAS31Validator
from PIL import Image

from service.settings import EmulatorSettings, Settings
from tests.conftest import ADMIN_KEY, PG_URL


@contextmanager
def store_settings(store: str, data_dir: Path) -> Iterator[Settings]:
    """Sandbox settings on a fresh store of the kind (PostgreSQL: a schema of its own)."""
    base = Settings(
        data_dir=data_dir,
        follow_interval=0.01,
        poll_after_ms=50,
        bootstrap_api_key=ADMIN_KEY,
        secret_key="test-secret",
        allowed_private_networks="127.0.0.0/8",
        sandbox=True,
        emulate=EmulatorSettings(latency=0.2),
        poll_first=0.05,
        poll_grace=0.1,
        poll_cap=0.2,
    )
    if store == "sqlite":
        yield base
        return
    if not PG_URL:
        pytest.skip("PostgreSQL tests need VIDGATE_TEST_DATABASE_URL (see .ci/run)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield replace(base, database_url=PG_URL, database_schema=schema)
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def png_data_uri() -> str:
    out = io.BytesIO()
    Image.new("RGB", (64, 36), (30, 90, 200)).save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def check(doc: dict[str, Any], method: str, path: str, response: Any) -> Any:
    """The body, once shown to match what the OpenAPI document says of this response."""
    documented = doc["paths"][path][method]["responses"].get(str(response.status_code))
    assert documented is not None, f"{method} {path} → {response.status_code} undocumented"
    schema = documented["content"]["application/json"]["schema"]
    OAS31Validator({**schema, "components": doc["components"]}).validate(response.json())
    return response.json()


def without_workers(settings: Settings) -> Settings:
    """A web-only gateway: nothing is dispatched, so accepted jobs stay queued and a refused
    request can be shown to append nothing; bodies over 64 KiB are refused. (Its sandbox URL
    is never called: there are no workers.)"""
    nowhere = "http://127.0.0.1:9"
    return replace(settings, run_workers=False, max_body_bytes=64 * 1024, sandbox_url=nowhere)
