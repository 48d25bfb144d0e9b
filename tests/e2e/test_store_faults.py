"""Store faults under a real server: while the store is unreachable (PostgreSQL cut off) or
full (SQLite on a full disk), a create is a 503 with Retry-After and nothing half-written;
when the store is back, vidgate recovers by itself, every acknowledged job is there, and the
workers carry on with them."""

from __future__ import annotations

import errno
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from tests.conftest import PG_URL, settings_for
from tests.e2e.api import TINY, assert_clean_history, client, completed, history, wait_for
from tests.e2e.cuttable_proxy import cuttable_proxy
from tests.e2e.server import run_vidgate, server_env

pytestmark = pytest.mark.e2e
RECOVERY = 30.0  # seconds a healed store may take to serve creates again


def via_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = f"{parts.username + '@' if parts.username else ''}127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def accepted_until(http: httpx.Client, deadline: float) -> str:
    """Submit until a create is accepted (the store is back); its video id."""
    while True:
        answer = http.post("/v1/videos", json=TINY)
        if answer.status_code == 202:
            return str(answer.json()["id"])
        assert answer.status_code == 503, answer.text
        assert time.monotonic() < deadline, "vidgate did not recover by itself"
        time.sleep(0.2)


@pytest.mark.postgres
def test_a_postgresql_outage_is_a_503_and_vidgate_recovers_by_itself(pg_schema, tmp_path, request):
    assert PG_URL is not None
    target = urlsplit(PG_URL)
    with cuttable_proxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy:
        settings = replace(
            settings_for("sqlite", tmp_path / "var", request),
            database_url=via_port(PG_URL, proxy.port),
            database_schema=pg_schema,
        )
        with (
            run_vidgate(server_env(settings), tmp_path / "server.log") as server,
            client(server.url) as http,
        ):
            before = [http.post("/v1/videos", json=TINY) for _ in range(3)]
            assert {answer.status_code for answer in before} == {202}
            proxy.cut()
            during = [http.post("/v1/videos", json=TINY) for _ in range(5)]
            assert {answer.status_code for answer in during} == {503}, [a.text for a in during]
            assert all(answer.headers.get("retry-after") for answer in during)
            assert http.get("/readyz").status_code == 503
            proxy.restore()
            after = accepted_until(http, time.monotonic() + RECOVERY)
            ids = [answer.json()["id"] for answer in before] + [after]
            # Pools dropped their dead connections: no request fails once the store is back.
            assert [http.get(f"/v1/videos/{i}").status_code for i in ids] == [200] * len(ids)
            for video_id in ids:  # acknowledged before the outage, carried on after it
                wait_for(http, video_id, completed, timeout=60)
                assert_clean_history(history(http, video_id))


@contextmanager
def small_disk(path: Path, megabytes: int) -> Iterator[Path]:
    """A tmpfs of `megabytes` at `path` (needs root, as CI has; skipped with the reason if
    the mount is refused)."""
    path.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"a full disk needs a small tmpfs, and mounting one failed: {mounted.stderr}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the disk is full; the file."""
    filler = disk / "filler"
    chunk = b"\0" * 65536
    with filler.open("wb") as out:
        try:
            while True:
                out.write(chunk)
                out.flush()
        except OSError as error:
            assert error.errno == errno.ENOSPC
    return filler


def submitted_ids(http: httpx.Client) -> set[str]:
    """The video of every `Submitted` in the tenant's feed (read after the workers ran)."""
    feed = http.get("/v1/events", params={"type": "Submitted", "limit": 1000}).json()["data"]
    return {entry["video_id"] for entry in feed}


def test_a_full_disk_under_sqlite_is_a_503_with_nothing_half_written(tmp_path, request):
    with small_disk(tmp_path / "disk", 16) as disk:
        settings = settings_for("sqlite", disk / "var", request)
        web_only = server_env(settings, VIDGATE_RUN_WORKERS="false")
        log = tmp_path / "server.log"
        accepted: list[str] = []
        with run_vidgate(web_only, log) as server, client(server.url) as http:
            accepted += [accepted_until(http, time.monotonic() + 5) for _ in range(3)]
            filler = fill(disk)
            answers = [http.post("/v1/videos", json=TINY) for _ in range(50)]
            statuses = {answer.status_code for answer in answers}
            assert statuses <= {202, 503}, [a.text for a in answers if a.status_code >= 500]
            assert 503 in statuses, "the full disk refused nothing"
            assert all(a.headers.get("retry-after") for a in answers if a.status_code == 503)
            accepted += [a.json()["id"] for a in answers if a.status_code == 202]
            os.unlink(filler)
            accepted.append(accepted_until(http, time.monotonic() + RECOVERY))
        with run_vidgate(server_env(settings), log) as server, client(server.url) as http:
            for video_id in accepted:  # each acknowledged job, whole: it runs to the end
                wait_for(http, video_id, completed, timeout=60)
                assert_clean_history(history(http, video_id))
            deadline = time.monotonic() + 30
            while submitted_ids(http) != set(accepted):  # and a refused one left nothing
                assert time.monotonic() < deadline, (submitted_ids(http), accepted)
                time.sleep(0.2)
