"""Fixtures shared by every tier: settings for each store, and an API client.

Store-parametrised tests run once on SQLite and once on PostgreSQL. PostgreSQL runs when
VIDGATE_TEST_DATABASE_URL is set (and then fails loudly if the server is unreachable);
without it those cases skip with a reason. Each PostgreSQL test gets its own schema.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from starlette.testclient import TestClient

from service.app import create_app
from service.settings import Settings
from tests.s3_server import S3Server, moto_server

PG_URL = os.environ.get("VIDGATE_TEST_DATABASE_URL")
ADMIN_KEY = "vg_test_admin_key_0001"
STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture
def pg_schema() -> Iterator[str]:
    if not PG_URL:
        pytest.skip("PostgreSQL tests need VIDGATE_TEST_DATABASE_URL (see .ci/run)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:  # unreachable → the test errors
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield schema
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def settings_for(store: str, data_dir: Path, request: pytest.FixtureRequest) -> Settings:
    base = Settings(
        data_dir=data_dir,
        follow_interval=0.01,
        poll_after_ms=50,
        bootstrap_api_key=ADMIN_KEY,
        secret_key="test-secret",
        allowed_private_networks="127.0.0.0/8",  # test webhook receivers live on loopback
        # PostgreSQL workers claim jobs: a killed one's jobs are taken over after its lease.
        dispatch_lease=8.0,
        submit_timeout=4.0,
    )
    if store == "postgres":
        schema = request.getfixturevalue("pg_schema")
        return replace(base, database_url=PG_URL, database_schema=schema)
    return base


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(store: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """Settings for a fresh store of the current kind (SQLite, then PostgreSQL)."""
    return settings_for(store, tmp_path / "var", request)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The app with its workers, in-process, authenticated as the admin of `default`."""
    app = create_app(settings)
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A real S3 API (moto's server) on 127.0.0.1, started on first use, one per test
    process; each test takes its own bucket (`s3_server.new_bucket()`)."""
    with moto_server(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server


# Tiers in the order their files should start. `--dist loadfile` hands files to the two test
# processes in collection order (`--no-loadscope-reorder` in pyproject.toml; xdist otherwise
# sorts files by test count, which put the minutes-long one-test e2e files last, where one
# process ran them while the other had nothing left). Long files first, the thousands of
# quick unit tests last to even the processes out.
TIERS_SLOWEST_FIRST = ("e2e", "browser", "contract", "integration", "unit")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def tier(item: pytest.Item) -> int:
        folder = item.nodeid.split("/")[1] if item.nodeid.startswith("tests/") else ""
        return TIERS_SLOWEST_FIRST.index(folder) if folder in TIERS_SLOWEST_FIRST else 0

    items.sort(key=tier)  # stable: files keep their order within a tier
