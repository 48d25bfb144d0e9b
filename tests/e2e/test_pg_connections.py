"""PostgreSQL connections per process: one shared pool, named per process, bounded.

Four `vidgate serve` processes on one schema (the issue: a second one failed on a default
server's `max_connections` of 100) all serve; each holds few connections while idle and at
most its pool's maximum under load, counted in `pg_stat_activity` by `application_name`.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import psycopg
import pytest

from service.settings import Settings
from tests.e2e.api import TINY, client, completed, submit_video, wait_for
from tests.e2e.server import _wait_healthy as wait_healthy
from tests.e2e.server import run_vidgate, server_env

PROCESSES = 4
IDLE_MOST = 10  # the bound for an idle process
BURST = 24  # submits per process, 16 at a time over the four


def connections(settings: Settings, name: str) -> int:
    with psycopg.connect(str(settings.database_url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (name,)
        ).fetchone()
    return int(row[0]) if row else 0


@pytest.mark.parametrize("store", ["postgres"])
def test_four_processes_serve_each_within_its_connection_bound(settings, tmp_path):
    # + the workers' leader lock and the LISTEN that wakes them on new events
    bound = settings.db_pool_size + settings.db_max_overflow + 2
    names = [f"vidgate-e2e-{tmp_path.name[-12:]}-{n}" for n in range(PROCESSES)]
    with contextlib.ExitStack() as stack:
        servers = [
            stack.enter_context(
                run_vidgate(
                    server_env(
                        replace(settings, data_dir=tmp_path / f"var{n}"),
                        VIDGATE_DB_APPLICATION_NAME=name,
                    ),
                    tmp_path / f"serve{n}.log",
                    wait=False,  # they start together; each is waited for below
                )
            )
            for n, name in enumerate(names)
        ]
        for server in servers:  # their table checks take turns (an advisory lock): be patient
            wait_healthy(server, timeout=180.0)
        idle = {name: connections(settings, name) for name in names}
        assert all(0 < count <= IDLE_MOST for count in idle.values()), idle
        https = [stack.enter_context(client(str(server.url))) for server in servers]
        videos = [submit_video(http) for http in https]  # each serves …
        for http, video in zip(https, videos, strict=True):  # … and its job completes
            wait_for(http, video["id"], completed)
        with ThreadPoolExecutor(16) as pool:  # a burst of submits on every process at once
            answers = list(
                pool.map(
                    lambda n: https[n % PROCESSES].post("/v1/videos", json=TINY),
                    range(BURST * PROCESSES),
                )
            )
        assert [a.status_code for a in answers] == [202] * BURST * PROCESSES
        busy = {name: connections(settings, name) for name in names}
        assert all(count <= bound for count in busy.values()), busy
