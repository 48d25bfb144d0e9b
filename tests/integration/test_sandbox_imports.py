"""With sandbox mode off, a running gateway imports no emulator (`service.sandbox.*`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# A fresh interpreter: the test process itself has imported the emulators for other tests.
PROGRAM = """
import json, sys
from starlette.testclient import TestClient
from service.app import create_app
from service.settings import Settings

settings = Settings.from_env({"VIDGATE_DATA_DIR": sys.argv[1]})
with TestClient(create_app(settings)) as client:  # the lifespan runs the workers too
    assert client.get("/healthz").status_code == 200
print(json.dumps(sorted(name for name in sys.modules if name.startswith("service."))))
"""


def modules_of_a_running_gateway(data_dir: Path) -> list[str]:
    run = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(data_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    loaded: list[str] = json.loads(run.stdout.strip().splitlines()[-1])
    return loaded


def test_without_sandbox_mode_no_emulator_is_imported(tmp_path):
    loaded = modules_of_a_running_gateway(tmp_path / "var")
    assert "service.providers.registry" in loaded  # the providers themselves are there
    assert [name for name in loaded if name.startswith("service.sandbox")] == []
