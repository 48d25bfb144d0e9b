"""`vidgate export events` as a real process: a progress bar on stderr, a Parquet file."""

from __future__ import annotations

import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from service.persistence.stores import build_gateway
from tests.e2e.server import server_env
from tests.helpers import SUBMISSION

pytestmark = pytest.mark.e2e


def test_vidgate_export_events_writes_parquet(settings, tmp_path):
    gateway = build_gateway(settings)
    try:
        for _ in range(3):
            job, _ = gateway.submit(**SUBMISSION, idempotency_key=None)
            gateway.update_job(job.id, lambda j: j.cancel("api"))
    finally:
        gateway.close()
    out = tmp_path / "events.parquet"
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "export", "events", "--tenant", "acme", "-o", out],
        env=server_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "exported 6 events" in done.stderr
    table = pq.read_table(out)
    assert table.column("type").to_pylist() == ["Submitted", "Canceled"] * 3
