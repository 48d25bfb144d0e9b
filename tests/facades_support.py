"""Shared by the v2 and NovaKit facade tests: one store per module, apps over it, helpers.

Two in-process apps keep the tests fast: a *validating* gateway (sandbox catalog, no
workers) records jobs and never runs them — enough to see what a request was mapped to —
and a *rendering* one runs every model against the in-process emulators with a tiny latency,
its jobs completing by the fallback poll (upstream webhooks cannot reach a TestClient app).
"""

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
from starlette.testclient import TestClient

from service.app import create_app
from service.settings import EmulatorSettings, Settings
from service.surfaces.openapi.document import openapi_document
from tests.conftest import ADMIN_KEY, PG_URL

NOWHERE = "http://127.0.0.1:9"  # nothing listens here


def png_data_uri(width: int = 64, height: int = 36) -> str:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 90, 200)).save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


PNG = png_data_uri()


@contextmanager
def store_settings(store: str, data_dir: Path) -> Iterator[Settings]:
    """Settings over a fresh store of the kind asked (a PostgreSQL schema of its own)."""
    base = Settings(
        data_dir=data_dir,
        follow_interval=0.01,
        poll_after_ms=50,
        bootstrap_api_key=ADMIN_KEY,
        secret_key="test-secret",
        allowed_private_networks="127.0.0.0/8",
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


def validating(settings: Settings) -> Settings:
    """Every model available, nothing dispatched: jobs stay queued. Bodies up to 2 MB."""
    return replace(
        settings, sandbox=True, sandbox_url=NOWHERE, run_workers=False, max_body_bytes=2_000_000
    )


def rendering(settings: Settings, **emulate: Any) -> Settings:
    """Every model renders in the emulators, fast; jobs complete by the fallback poll."""
    knobs = EmulatorSettings(**{"latency": 0.2, **emulate})
    return replace(
        settings,
        sandbox=True,
        emulate=knobs,
        poll_first=0.1,
        poll_grace=0.2,
        poll_cap=0.3,
        public_url=NOWHERE,
    )


@contextmanager
def client_for(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as c:
        yield c


@contextmanager
def gateway(store: str, data_dir: Path, configure: Any = validating) -> Iterator[TestClient]:
    """An app over a fresh store, configured by `configure` (`validating`, `rendering`)."""
    with store_settings(store, data_dir) as settings, client_for(configure(settings)) as client:
        yield client


def history(client: TestClient, video_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/v1/videos/{video_id}/events")
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def submitted(client: TestClient, video_id: str) -> dict[str, Any]:
    """What the job was submitted with: its `Submitted` event's data."""
    first = history(client, video_id)[0]
    assert first["type"] == "Submitted"
    data: dict[str, Any] = first["data"]
    return data


def documented(method: str, path: str, response: Any) -> Any:
    """The response's JSON body, once checked against the OpenAPI document."""
    doc = openapi_document()
    answers = doc["paths"][path][method]["responses"]
    spec = answers.get(str(response.status_code))
    assert spec is not None, f"{method} {path} → {response.status_code} is undocumented"
    schema = spec["content"]["application/json"]["schema"]
    body = response.json()
    OAS31Validator({**schema, "components": doc["components"]}).validate(body)
    return body
