"""Upstream jobs across worker crashes and several workers (real processes on 127.0.0.1).

The upstreams are a separate `vidgate emulate` process, so they outlive the gateway like
real providers do; the gateways reach them through `VIDGATE_SANDBOX_URL`.
"""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.settings import Settings
from tests.e2e.api import assert_clean_history, client, history
from tests.e2e.server import free_port, run_vidgate, server_env
from tests.e2e.test_upstream_faults import POLL_ONLY_MODELS, WEBHOOK_MODELS, submit, wait_ended

pytestmark = pytest.mark.e2e
FAST_POLLS = {
    "VIDGATE_POLL_FIRST_MS": "200",
    "VIDGATE_POLL_GRACE_MS": "1500",
    "VIDGATE_POLL_CAP_MS": "500",
}


@contextmanager
def emulators(settings: Settings, tmp: Path, gateway_url: str, latency: float) -> Iterator[str]:
    """`vidgate emulate` on a free port; Sora's project webhook points at `gateway_url`."""
    port = free_port()
    env = server_env(
        settings,
        VIDGATE_EMULATE_LATENCY=str(latency),
        VIDGATE_PUBLIC_URL=gateway_url,
        VIDGATE_DATA_DIR=str(tmp / "emulate"),
    )
    env.pop("VIDGATE_DATABASE_URL", None)
    with run_vidgate(env, tmp / "emulate.log", "emulate", "--port", str(port), wait=False):
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "vidgate emulate did not start"
            time.sleep(0.05)
        yield url


def gateway_env(settings: Settings, sandbox_url: str, **extra: str) -> dict[str, str]:
    return server_env(
        settings, VIDGATE_SANDBOX="1", VIDGATE_SANDBOX_URL=sandbox_url, **FAST_POLLS, **extra
    )


def all_dispatched(http: httpx.Client, ids: list[str], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not all(any(e["type"] == "Dispatched" for e in history(http, vid)) for vid in ids):
        assert time.monotonic() < deadline, "jobs were not dispatched"
        time.sleep(0.1)


def test_killing_the_gateway_mid_flight_loses_and_duplicates_nothing(settings, tmp_path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    models = [*WEBHOOK_MODELS.values(), *POLL_ONLY_MODELS.values()]
    with emulators(settings, tmp_path, url, latency=3.0) as sandbox_url:
        env = gateway_env(settings, sandbox_url)
        with run_vidgate(env, log, port=port) as server, client(server.url) as http:
            ids = submit(http, models)
            all_dispatched(http, list(ids))
            server.kill()  # SIGKILL while every upstream job is still running
        time.sleep(3.5)  # the upstreams finish meanwhile; their webhooks find nobody
        with run_vidgate(env, log, port=port) as server, client(server.url) as http:
            ended = wait_ended(http, list(ids), timeout=60)
            for vid, video in ended.items():
                assert video["status"] == "completed", (ids[vid], video)
                assert_clean_history(history(http, vid))  # one Dispatched: no re-submission


@contextmanager
def web_and_two_workers(
    settings: Settings, store: str, tmp: Path, latency: float
) -> Iterator[tuple[str, httpx.Client, list[Any]]]:
    """`vidgate emulate`, a web-only process and two worker processes on one PostgreSQL
    schema: (the emulators' URL, a client of the web process, the two workers)."""
    if store != "postgres":
        pytest.skip("several workers need PostgreSQL (SQLite runs one)")
    web_port = free_port()
    with emulators(settings, tmp, f"http://127.0.0.1:{web_port}", latency) as sandbox_url:
        env = gateway_env(settings, sandbox_url)
        web_env = {**env, "VIDGATE_RUN_WORKERS": "false"}
        with (
            run_vidgate(web_env, tmp / "web.log", port=web_port) as web,
            run_vidgate(env, tmp / "worker1.log", "worker") as first,
            run_vidgate(env, tmp / "worker2.log", "worker") as second,
            client(web.url) as http,
        ):
            yield sandbox_url, http, [first, second]


def status_calls(requests: list[dict[str, Any]], upstream_id: str) -> list[dict[str, Any]]:
    """The emulator's log of GETs naming `upstream_id` (status calls and downloads)."""
    key = upstream_id.rpartition("/")[2].rpartition(":")[2]
    return [r for r in requests if r["method"] == "GET" and key in r["path"] + r["query"]]


def test_two_workers_never_poll_one_job_at_once_and_finish_them_all(
    settings, store, tmp_path
) -> None:
    models = list(POLL_ONLY_MODELS.values()) * 5
    with web_and_two_workers(settings, store, tmp_path, latency=4.0) as started:
        sandbox_url, http, (first, second) = started
        ids = submit(http, models)
        ended = wait_ended(http, list(ids), timeout=90)
        requests = httpx.get(f"{sandbox_url}/_requests").json()["data"]
        overlaps: dict[str, int] = defaultdict(int)
        for vid, video in ended.items():
            assert video["status"] == "completed", (ids[vid], video)
            events = history(http, vid)
            assert_clean_history(events)
            (dispatch,) = [e for e in events if e["type"] == "Dispatched"]
            upstream_id = dispatch["data"]["upstream_id"]
            completed_at = next(
                datetime.fromisoformat(e["occurred_at"]).timestamp()
                for e in events
                if e["type"] == "Completed"
            )
            # until the job completed, only the pollers asked about it (then: the mirror)
            calls = sorted(
                (c for c in status_calls(requests, upstream_id) if c["end"] <= completed_at),
                key=lambda c: c["start"],
            )
            assert calls, (ids[vid], upstream_id)
            for before, after in itertools.pairwise(calls):
                if after["start"] < before["end"]:
                    overlaps[vid] += 1
        assert not overlaps, f"status calls overlapped: {dict(overlaps)}"
        for worker in (first, second):  # both started together on a fresh schema
            assert worker.process.poll() is None, worker.output()[-3000:]
        # both polled (httpx logs each request): the work was shared, not one idle
        logs = [worker.output() for worker in (first, second)]
        assert all("HTTP Request: GET" in text for text in logs)
