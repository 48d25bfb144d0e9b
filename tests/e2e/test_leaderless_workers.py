"""Leaderless workers on PostgreSQL (real processes on 127.0.0.1, sandbox mode): two web and
two worker processes share one store; the upstreams are a separate `vidgate emulate` that
outlives every worker and counts the creates it answered.

Every worker dispatches the jobs it claims (leases on the `inflight` view, intents fenced by
the job's version, the lease renewed right before each submit, a submit without an answer
left to its worker for `VIDGATE_SUBMIT_OUTCOME_WAIT_S`), so killing or pausing any worker
neither loses a job nor lets two workers submit one job: a paused worker comes back to its
answer, and a killed worker's cut-off submit to a blind upstream fails as unknown.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import socket
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.settings import Settings
from tests.e2e.api import client, history
from tests.e2e.server import Process, free_port, run_vidgate
from tests.e2e.test_no_double_submits import (
    BLIND_MODELS,
    LOOKUP_MODELS,
    check_no_job_went_twice,
    intents,
    submit_round,
    upstream_creates,
)
from tests.e2e.test_upstream_faults import wait_ended
from tests.e2e.test_upstream_workers import emulators, gateway_env

pytestmark = pytest.mark.e2e
JOBS = 100
# The bar is 20 rounds (VIDGATE_TEST_LEADERLESS_ROUNDS=20, ~10 s a round); the suite
# runs a few, since every round kills or pauses a worker.
ROUNDS = int(os.environ.get("VIDGATE_TEST_LEADERLESS_ROUNDS", "3"))
LEASE, SUBMIT_TIMEOUT = 4.0, 2.0  # short: a dead worker's claims are taken over quickly
# A submit without an answer stays its worker's this long: longer than any pause below (a
# paused worker comes back to its answer), short enough for a dead worker's to be decided.
OUTCOME_WAIT = 15.0
MODELS = [*LOOKUP_MODELS.values(), *BLIND_MODELS.values()]


def actor_of(worker: Process) -> str:
    return f"worker:{socket.gethostname()}:{worker.process.pid}"


def dispatchers(events: list[dict[str, Any]]) -> list[str]:
    return [e["actor"] for e in events if e["type"] == "Dispatched"]


def cut_off(video: dict[str, Any], events: list[dict[str, Any]], killed: set[str]) -> bool:
    """Whether the job is a blind upstream's whose one submit a killed worker made, failed as
    `upstream_outcome_unknown` rather than submitted again (asserted when it says so)."""
    if video["status"] != "failed":
        return False
    assert video["error"]["code"] == "upstream_outcome_unknown", (video, events)
    assert video["model"] in BLIND_MODELS.values(), (video, events)
    (intent,) = intents(events)
    assert intent["actor"] in killed, (video, events)
    return True


@contextmanager
def cluster(settings: Settings, tmp: Path, latency: float) -> Iterator[dict[str, Any]]:
    """`vidgate emulate`, two web-only processes and two workers on one PostgreSQL schema.
    Yields the emulators' URL, clients of both webs, the worker environment and the workers
    (a list the test may replace killed workers in)."""
    if not settings.uses_postgres:
        pytest.skip("leaderless workers need PostgreSQL (SQLite runs one worker)")
    web_ports = [free_port(), free_port()]
    public = f"http://127.0.0.1:{web_ports[0]}"  # where upstreams call back
    with emulators(settings, tmp, public, latency) as sandbox_url, ExitStack() as stack:
        env = gateway_env(
            settings,
            sandbox_url,
            VIDGATE_PUBLIC_URL=public,
            VIDGATE_DISPATCH_LEASE_S=str(LEASE),
            VIDGATE_SUBMIT_TIMEOUT_S=str(SUBMIT_TIMEOUT),
            VIDGATE_SUBMIT_OUTCOME_WAIT_S=str(OUTCOME_WAIT),
        )
        web_env = {**env, "VIDGATE_RUN_WORKERS": "false"}
        webs = [
            stack.enter_context(run_vidgate(web_env, tmp / f"web{n}.log", port=port))
            for n, port in enumerate(web_ports)
        ]
        ports = [free_port(), free_port()]  # each worker serves its own /metrics
        workers = [
            stack.enter_context(
                run_vidgate(
                    {**env, "VIDGATE_WORKER_METRICS_PORT": str(port)},
                    tmp / f"worker{n}.log",
                    "worker",
                )
            )
            for n, port in enumerate(ports)
        ]
        https = [stack.enter_context(client(web.url or "")) for web in webs]
        yield {
            "sandbox": sandbox_url,
            "https": https,
            "env": env,
            "workers": workers,
            "stack": stack,
            "metrics": [f"http://127.0.0.1:{port}/metrics" for port in ports],
        }
        for worker in workers:  # a paused worker must be able to hear SIGTERM
            if worker.process.poll() is None:
                os.kill(worker.process.pid, signal.SIGCONT)


def wait_logged(worker: Process, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in worker.output():
        assert time.monotonic() < deadline, worker.output()[-3000:]
        time.sleep(0.05)


@pytest.mark.timeout(420)  # 100 jobs through five processes on a shared 2-core machine
def test_two_webs_and_two_workers_finish_every_job_and_survive_a_killed_worker(
    settings, tmp_path
) -> None:
    with cluster(settings, tmp_path, latency=1.0) as c:
        https, (doomed, survivor) = c["https"], c["workers"]
        for worker in (doomed, survivor):
            wait_logged(worker, "vidgate worker running")
        ids: dict[str, int] = {}  # video id → which web took it
        for n, model in zip(range(JOBS), itertools.cycle(MODELS), strict=False):
            answer = https[n % 2].post("/v1/videos", json={"model": model, "prompt": f"fox {n}"})
            assert answer.status_code == 202, answer.text
            ids[answer.json()["id"]] = n % 2
            if n == JOBS // 2:  # both have submitted upstream: kill one mid-run
                for worker in (doomed, survivor):
                    wait_logged(worker, "HTTP Request: POST")
                doomed.kill()  # SIGKILL: its claims and polls are taken over
                killed_at = time.time()
        ended = wait_ended(https[0], list(ids), timeout=240)
        histories = {vid: history(https[vid_web], vid) for vid, vid_web in ids.items()}
        assert survivor.process.poll() is None, survivor.output()[-3000:]
        metrics = httpx.get(c["metrics"][1]).text  # the survivor's own
        assert "vidgate_upstream_polls_total{" in metrics, metrics  # it polled (runway)
    for vid, video in ended.items():
        if cut_off(video, histories[vid], {actor_of(doomed)}):
            continue
        assert video["status"] == "completed", (vid, video, histories[vid])
        assert len(dispatchers(histories[vid])) == 1, histories[vid]
    by_worker = Counter(actor for h in histories.values() for actor in dispatchers(h))
    # `webhook`: a dispatch recovered from the upstream's callback (its worker's answer was
    # not recorded within the early-hook wait: killed, or starved under load).
    assert set(by_worker) - {"webhook"} == {actor_of(doomed), actor_of(survivor)}, by_worker
    for events in histories.values():  # nothing dispatched by the dead worker after its death
        for e in events:
            if e["type"] == "Dispatched" and e["actor"] == actor_of(doomed):
                assert datetime.fromisoformat(e["occurred_at"]).timestamp() <= killed_at, e


@pytest.mark.timeout(120 + 40 * ROUNDS)
def test_killing_and_pausing_workers_never_submits_a_job_twice(settings, tmp_path) -> None:
    rng = random.Random(int(os.environ.get("VIDGATE_TEST_LEADERLESS_SEED", "16")))
    ids: dict[str, str] = {}
    actions: Counter[str] = Counter()
    timeline: list[tuple[float, str]] = []  # when each worker was killed or paused
    with cluster(settings, tmp_path, latency=0.5) as c:
        http, workers = c["https"][0], c["workers"]
        for n in range(ROUNDS):
            ids |= submit_round(c["https"][n % 2], n)
            time.sleep(rng.uniform(0, 0.3))  # while the workers dispatch the round
            victim = rng.randrange(len(workers))
            if n % 2 == 0:  # kill and pause in turns, the victim and the moment at random
                actions["kill"] += 1
                timeline.append((time.time(), f"kill {actor_of(workers[victim])}"))
                workers[victim].kill()
                log = tmp_path / f"worker-r{n}.log"
                workers[victim] = c["stack"].enter_context(run_vidgate(c["env"], log, "worker"))
            else:  # paused past its lease (or not): another worker may take its claims
                actions["pause"] += 1
                pid, pause = workers[victim].process.pid, rng.uniform(0, 2.5 * LEASE)
                timeline.append((time.time(), f"pause {actor_of(workers[victim])} {pause:.1f}s"))
                os.kill(pid, signal.SIGSTOP)
                time.sleep(pause)
                os.kill(pid, signal.SIGCONT)
        ended = wait_ended(http, list(ids), timeout=180)
        histories = {vid: history(http, vid) for vid in ids}
        creates = upstream_creates(c["sandbox"])
    killed = {what.split()[1] for _, what in timeline if what.startswith("kill")}
    for vid, video in ended.items():  # a pause (shorter than the wait) fails nothing
        cut_off(video, histories[vid], killed)
    unknown = check_no_job_went_twice(ids, ended, histories, creates)
    jobs = Counter(ids.values())
    print(
        f"\n{ROUNDS} rounds {dict(actions)}: {sum(jobs.values())} jobs, upstream creates "
        f"{dict(creates)}, failed as unknown (cut off by a kill) {dict(unknown)}"
    )
