"""A provider capped at two concurrent jobs, through real uvicorn and the emulators: six jobs
submitted at once all complete, none fails, and never more than two are out upstream."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.e2e.api import assert_clean_history, client, history
from tests.e2e.server import free_port, run_vidgate
from tests.e2e.test_upstream_faults import WEBHOOK_MODELS, submit, wait_ended
from tests.e2e.test_upstream_workers import emulators, gateway_env

pytestmark = pytest.mark.e2e
CAP, JOBS = 2, 6


def when(events: list[dict[str, Any]], kind: str) -> float:
    """When the job's first `kind` event happened (unix seconds)."""
    return next(
        datetime.fromisoformat(e["occurred_at"]).timestamp() for e in events if e["type"] == kind
    )


def gauge(metrics: str, name: str) -> float | None:
    found = re.search(rf'^{name}{{provider="fal"}} (\S+)$', metrics, re.MULTILINE)
    return float(found.group(1)) if found else None


def fal_creates(sandbox_url: str) -> list[float]:
    """When each create the fal emulator accepted started, in order."""
    log = httpx.get(f"{sandbox_url}/_requests").json()["data"]
    return sorted(
        r["start"]
        for r in log
        if r["method"] == "POST" and r["path"].startswith("/fal/") and r["status"] < 300
    )


def test_a_capped_provider_never_has_more_than_its_cap_out_and_finishes_every_job(
    settings, tmp_path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with emulators(settings, tmp_path, url, latency=1.5) as sandbox_url:
        env = gateway_env(settings, sandbox_url, VIDGATE_PROVIDER_CONCURRENCY=f"fal={CAP}")
        with (
            run_vidgate(env, tmp_path / "serve.log", port=port) as server,
            client(server.url) as http,
        ):
            ids = list(submit(http, [WEBHOOK_MODELS["fal"]] * JOBS))
            during = http.get("/metrics").text
            ended = wait_ended(http, ids, timeout=120)
            after = http.get("/metrics").text
            histories = {vid: history(http, vid) for vid in ids}
        creates = fal_creates(sandbox_url)
    for vid, video in ended.items():
        assert video["status"] == "completed", (vid, video)
        assert_clean_history(histories[vid])  # one intent, one Dispatched: no failure, no retry
    # Ours: at each intent, at most CAP jobs (this one included) intended and not yet ended.
    windows = [(when(h, "DispatchIntended"), when(h, "Completed")) for h in histories.values()]
    for start, _ in windows:
        assert sum(s <= start < end for s, end in windows) <= CAP
    # Theirs: one create per job, and the k-th create came after the (k - CAP)-th completion.
    assert len(creates) == JOBS
    finished = sorted(end for _, end in windows)
    for k in range(CAP, JOBS):
        assert creates[k] > finished[k - CAP], (k, creates, finished)
    assert (gauge(during, "vidgate_provider_inflight") or 0) <= CAP  # None: not leading yet
    assert gauge(after, "vidgate_provider_concurrency_cap") == CAP
    assert (gauge(after, "vidgate_provider_inflight"), gauge(after, "vidgate_provider_queued")) == (
        0,
        0,
    )
