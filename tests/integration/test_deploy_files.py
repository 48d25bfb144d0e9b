"""The Dockerfile and compose.yaml: linted, and configured the way vidgate reads settings.

There is no Docker engine on the test machines; the process layout compose describes (web-only
processes and workers on one PostgreSQL and one bucket) runs as plain processes in
tests/e2e/test_object_storage_e2e.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.app import create_app
from service.settings import Settings
from tests.e2e.server import free_port, serve_in_thread

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    result = subprocess.run(
        [str(hadolint), "--no-color", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_runs_as_a_numeric_non_root_user() -> None:
    users = re.findall(r"^USER (\S+)$", DOCKERFILE, flags=re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert users[-1].split(":")[0].isdigit()


def test_the_image_checks_its_health_on_healthz_and_serves_by_default() -> None:
    assert re.search(r"^HEALTHCHECK .*\n.*/healthz", DOCKERFILE, flags=re.MULTILINE)
    assert 'CMD ["vidgate", "serve"]' in DOCKERFILE


def test_the_image_copies_every_package_the_project_installs() -> None:
    found = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = [pattern.rstrip("*") for pattern in found["packages"]["find"]["include"]]
    assert packages
    for package in packages:
        assert f"COPY {package} ./{package}" in DOCKERFILE


def test_compose_runs_web_and_worker_on_postgresql_and_a_bucket() -> None:
    services = compose()["services"]
    assert {"web", "worker", "postgres", "s3"} <= services.keys()
    assert services["web"]["environment"]["VIDGATE_RUN_WORKERS"] == "false"
    assert services["worker"]["command"] == ["vidgate", "worker"]
    assert services["worker"]["healthcheck"] == {"disable": True}


@pytest.mark.parametrize("role", ["web", "worker"])
def test_each_roles_environment_is_valid_vidgate_settings(role: str, tmp_path: Path) -> None:
    """Its `/run/secrets/…` files replaced by local ones, the environment compose gives the
    role is read by `Settings.from_env` as a PostgreSQL + S3 deployment."""
    service = compose()["services"][role]
    declared = set(compose()["secrets"])
    values = {
        "database_url": "postgresql://vidgate:pw@postgres:5432/vidgate",
        "secret_key": "k" * 32,
        "aws_secret_access_key": "s3cret",
    }
    env = {}
    for name, value in service["environment"].items():
        if str(value).startswith("/run/secrets/"):
            secret = str(value).removeprefix("/run/secrets/")
            assert secret in declared and secret in service["secrets"], name
            (tmp_path / secret).write_text(values[secret] + "\n")
            value = str(tmp_path / secret)
        env[name] = str(value)
    settings = Settings.from_env(env)
    assert settings.database_url == values["database_url"]
    assert settings.secret_key == values["secret_key"]
    assert settings.storage.is_s3 and settings.storage.secret_access_key == "s3cret"
    assert settings.storage.endpoint_url == "http://s3:5000"
    assert settings.run_workers == (role == "worker")


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_the_healthcheck_command_passes_against_a_serving_gateway(settings: Settings) -> None:
    """The image's HEALTHCHECK, run as written against a real uvicorn on 127.0.0.1; and it
    fails when nothing listens."""
    found = re.search(r"^HEALTHCHECK .*\n\s+CMD (\[.*\])$", DOCKERFILE, flags=re.MULTILINE)
    assert found is not None
    command = json.loads(found.group(1))
    assert command[0] == "python"
    with serve_in_thread(lambda base: create_app(settings)) as base:
        port = base.rpartition(":")[2]
        healthy = subprocess.run(
            [sys.executable, *command[1:]], env={"PORT": port}, timeout=30, check=False
        )
    assert healthy.returncode == 0
    down = subprocess.run(
        [sys.executable, *command[1:]],
        env={"PORT": str(free_port())},
        timeout=30,
        check=False,
        capture_output=True,
    )
    assert down.returncode != 0
