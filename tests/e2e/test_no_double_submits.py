"""SIGKILL while jobs are being dispatched, again and again: no job is rendered upstream twice
without its history saying so, and upstreams with an idempotency key or a lookup render each
job exactly once (real processes on 127.0.0.1; the upstreams are a separate `vidgate emulate`
that outlives every gateway and counts the creates it answered).

What a kill can interrupt: before the intent is saved (nothing was asked), between the intent
and the upstream's answer (the create may or may not have happened), or between the answer
and `Dispatched`. Only what holds in every one of those cases is asserted.
"""

from __future__ import annotations

import itertools
import os
import random
import time
from collections import Counter
from typing import Any

import httpx
import pytest

from tests.e2e.api import client, history
from tests.e2e.server import free_port, run_vidgate
from tests.e2e.test_upstream_faults import wait_ended
from tests.e2e.test_upstream_workers import emulators, gateway_env

pytestmark = pytest.mark.e2e
# The bar is 20 rounds per store (VIDGATE_TEST_KILL_ROUNDS=20, ~100 s each); the
# suite runs fewer, since every round starts a process.
ROUNDS = int(os.environ.get("VIDGATE_TEST_KILL_ROUNDS", "6"))
KILL_WITHIN = 0.3  # seconds after a round's submits: while the dispatcher works on them
LOOKUP_MODELS = {"kling": "kling-2.5-turbo-pro", "luma": "luma-ray-2"}
BLIND_MODELS = {"runway": "runway-gen4.5", "minimax": "hailuo-02"}
CREATES = {  # the emulators' create routes, under the suite's mount of each provider
    "kling": "/kling/v1/videos/",
    "luma": "/luma/dream-machine/v1/generations",
    "runway": "/runway/v1/",
    "minimax": "/minimax/v1/video_generation",
}


def upstream_creates(sandbox_url: str) -> Counter[str]:
    """Creates the emulators answered with a 2xx, by provider (refusals created nothing)."""
    log = httpx.get(f"{sandbox_url}/_requests").json()["data"]
    return Counter(
        provider
        for entry in log
        for provider, prefix in CREATES.items()
        if entry["method"] == "POST"
        and entry["path"].startswith(prefix)
        and 200 <= (entry["status"] or 0) < 300
    )


def submit_round(http: httpx.Client, n: int) -> dict[str, str]:
    """video id → provider, one small job per provider."""
    ids = {}
    for provider, model in {**LOOKUP_MODELS, **BLIND_MODELS}.items():
        body = {"model": model, "prompt": f"a fox, round {n} ({provider})"}
        answer = http.post("/v1/videos", json=body)
        assert answer.status_code == 202, answer.text
        ids[answer.json()["id"]] = provider
    return ids


def intents(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == "DispatchIntended"]


@pytest.mark.timeout(210 + 15 * ROUNDS)  # a round starts a process: ~15 s under CI's load
def test_sigkill_during_dispatch_never_renders_a_job_twice_silently(settings, tmp_path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log, rng = tmp_path / "serve.log", random.Random(13)
    ids: dict[str, str] = {}
    with emulators(settings, tmp_path, url, latency=0.5) as sandbox_url:
        env = gateway_env(settings, sandbox_url)
        for n in range(ROUNDS):
            with run_vidgate(env, log, port=port) as server, client(server.url) as http:
                ids |= submit_round(http, n)
                time.sleep(rng.uniform(0, KILL_WITHIN))
                server.kill()
        with run_vidgate(env, log, port=port) as server, client(server.url) as http:
            ended = wait_ended(http, list(ids), timeout=90)
            histories = {vid: history(http, vid) for vid in ids}
        creates = upstream_creates(sandbox_url)
    for vid, video in ended.items():
        assert video["status"] == "completed", (ids[vid], video)
        types = [e["type"] for e in histories[vid]]
        assert types.count("Dispatched") == 1, (ids[vid], types)
    jobs = Counter(ids.values())
    for provider in LOOKUP_MODELS:  # found upstream or deduped: exactly one render each
        assert creates[provider] == jobs[provider], (provider, creates, jobs)
    for provider in BLIND_MODELS:
        # Every create follows an intent of its own, and every intent after a job's first
        # records that the earlier one's outcome is unknown: the history accounts for every
        # render that may have happened.
        mine = [vid for vid, p in ids.items() if p == provider]
        risks = 0
        for vid in mine:
            tried = intents(histories[vid])
            assert tried and tried[0]["data"]["unknown_outcome_of"] is None, histories[vid]
            for earlier, later in itertools.pairwise(tried):
                assert later["data"]["unknown_outcome_of"] == earlier["data"]["attempt_id"]
            risks += len(tried) - 1
        assert jobs[provider] <= creates[provider] <= jobs[provider] + risks, (
            provider,
            creates,
            jobs,
            risks,
        )
