"""Schemathesis over `/openapi.json` with all checks: no 5xx, no schema/server disagreement,
on both stores (PostgreSQL refuses what SQLite stores, e.g. NUL in text).

Bounded (a few examples per operation, deterministic generation) so it is a test, not a soak.
The one narrowed check is explained in `schema_fuzz_checks`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from service.app import create_app
from service.settings import Settings
from tests.e2e.server import serve_in_thread

KEY = "vg_test_key_123"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(300)


def test_schemathesis_finds_no_disagreement(settings: Settings, tmp_path: Path) -> None:
    assert SCHEMATHESIS.exists(), "schemathesis is a dev dependency: pip install -e '.[dev]'"
    settings = replace(settings, bootstrap_api_key=KEY, run_workers=False)
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.integration.schema_fuzz_checks"}
    env["PYTHONPATH"] = str(ROOT)
    with serve_in_thread(lambda base: create_app(settings)) as url:
        command = [
            str(SCHEMATHESIS),
            "run",
            f"{url}/openapi.json",
            # Naming our check too makes schemathesis refuse to run if the hooks did not load.
            "--checks=all,positive_data_within_schema_rules",
            "--exclude-checks=positive_data_acceptance",
            "--max-examples=10",
            "--generation-deterministic",
            "--phases=examples,coverage,fuzzing",
            "--workers=1",
            "--continue-on-failure",
            "--no-color",
            f"--header=Authorization: Bearer {KEY}",
        ]
        # Run from tmp_path: schemathesis keeps a cache directory in its working directory.
        run = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True)
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-20_000:]
