"""SIGKILL while jobs are being dispatched, again and again: no job is ever submitted upstream
twice (real processes on 127.0.0.1; the upstreams are a separate `vidgate emulate` that
outlives every gateway and counts the creates it answered).

What a kill can interrupt: before the intent is saved (nothing was asked), between the intent
and the upstream's answer (the create may or may not have happened), or between the answer
and `Dispatched`. Upstreams with an idempotency key or a lookup render each job exactly once
and complete it; a blind upstream's job whose submit was cut off is failed as
`upstream_outcome_unknown` after `VIDGATE_SUBMIT_OUTCOME_WAIT_S`, never submitted again.
"""

from __future__ import annotations

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


OUTCOME_WAIT = "3"  # VIDGATE_SUBMIT_OUTCOME_WAIT_S: a killed process's submit is decided soon


def check_no_job_went_twice(
    ids: dict[str, str],
    ended: dict[str, dict[str, Any]],
    histories: dict[str, list[dict[str, Any]]],
    creates: Counter[str],
) -> Counter[str]:
    """Every job ended completed, dispatched once; or (a blind upstream's, cut off mid-submit)
    failed as `upstream_outcome_unknown` after its one intent. No upstream created more jobs
    than it was given, nor fewer than completed. The unknown outcomes, by provider."""
    unknown: Counter[str] = Counter()
    for vid, video in ended.items():
        provider, events = ids[vid], histories[vid]
        assert len(intents(events)) == 1, (provider, events)  # never a second attempt
        if video["status"] == "failed" and provider in BLIND_MODELS:
            assert video["error"]["code"] == "upstream_outcome_unknown", (provider, video)
            unknown[provider] += 1
            continue
        assert video["status"] == "completed", (provider, video, events)
        assert [e["type"] for e in events].count("Dispatched") == 1, (provider, events)
    jobs = Counter(ids.values())
    for provider in LOOKUP_MODELS:  # found upstream or deduped: exactly one render each
        assert creates[provider] == jobs[provider], (provider, creates, jobs)
    for provider in BLIND_MODELS:  # at most once: the cut-off submits may or may not have
        completed = jobs[provider] - unknown[provider]
        assert completed <= creates[provider] <= jobs[provider], (provider, creates, jobs)
    return unknown


@pytest.mark.timeout(120 + 30 * ROUNDS)  # each round starts a process: ~15 s a round under load
def test_sigkill_during_dispatch_never_renders_a_job_twice_silently(settings, tmp_path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log, rng = tmp_path / "serve.log", random.Random(13)
    ids: dict[str, str] = {}
    with emulators(settings, tmp_path, url, latency=0.5) as sandbox_url:
        env = gateway_env(settings, sandbox_url, VIDGATE_SUBMIT_OUTCOME_WAIT_S=OUTCOME_WAIT)
        for n in range(ROUNDS):
            with run_vidgate(env, log, port=port) as server, client(server.url) as http:
                ids |= submit_round(http, n)
                time.sleep(rng.uniform(0, KILL_WITHIN))
                server.kill()
        with run_vidgate(env, log, port=port) as server, client(server.url) as http:
            ended = wait_ended(http, list(ids), timeout=90)
            histories = {vid: history(http, vid) for vid in ids}
        creates = upstream_creates(sandbox_url)
    unknown = check_no_job_went_twice(ids, ended, histories, creates)
    print(f"\n{ROUNDS} rounds: {len(ids)} jobs, creates {dict(creates)}, unknown {dict(unknown)}")
