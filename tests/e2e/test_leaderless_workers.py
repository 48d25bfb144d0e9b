"""Leaderless workers on PostgreSQL (real processes on 127.0.0.1, sandbox mode): two web and
two worker processes share one store; the upstreams are a separate `vidgate emulate` that
outlives every worker and counts the creates it answered.

Every worker dispatches the jobs it claims (leases on the `inflight` view, intents fenced by
the job's version, the lease renewed right before each submit), so killing or pausing any
worker neither loses a job nor lets two workers submit one job.
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
MODELS = [*LOOKUP_MODELS.values(), *BLIND_MODELS.values()]


def actor_of(worker: Process) -> str:
    return f"worker:{socket.gethostname()}:{worker.process.pid}"


def dispatchers(events: list[dict[str, Any]]) -> list[str]:
    return [e["actor"] for e in events if e["type"] == "Dispatched"]


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
        assert video["status"] == "completed", (vid, video, histories[vid])
        assert len(dispatchers(histories[vid])) == 1, histories[vid]
    by_worker = Counter(actor for h in histories.values() for actor in dispatchers(h))
    assert set(by_worker) == {actor_of(doomed), actor_of(survivor)}, by_worker
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
    jobs = Counter(ids.values())
    for vid, video in ended.items():
        assert video["status"] == "completed", (ids[vid], video, histories[vid])
        # One `Dispatched`; a second only when a worker frozen after its upstream's answer
        # records it late, after an intent that named its outcome unknown.
        said = sum(1 for e in intents(histories[vid]) if e["data"]["unknown_outcome_of"])
        assert 1 <= len(dispatchers(histories[vid])) <= 1 + said, histories[vid]
    for provider in LOOKUP_MODELS:  # found upstream or deduped: exactly one render each
        assert creates[provider] == jobs[provider], (provider, creates, jobs, actions)
    for provider in BLIND_MODELS:
        # A render that may have happened twice (a worker killed or frozen between its
        # upstream's answer and `Dispatched`) is always said so: a later intent names the
        # earlier one's outcome as unknown.
        risks = sum(len(intents(histories[vid])) - 1 for vid, p in ids.items() if p == provider)
        assert jobs[provider] <= creates[provider] <= jobs[provider] + risks, (
            provider,
            creates,
            jobs,
            risks,
            actions,
        )
    doubles = {p: creates[p] - jobs[p] for p in jobs if creates[p] > jobs[p]}
    unknown = sum(
        1 for h in histories.values() for e in intents(h) if e["data"]["unknown_outcome_of"]
    )
    print(
        f"\n{ROUNDS} rounds {dict(actions)}: {sum(jobs.values())} jobs, upstream creates "
        f"{dict(creates)}, created twice {doubles}, unknown outcomes recorded {unknown}"
    )
    for vid, events in histories.items():  # what each takeover followed, to read the risks
        for e in intents(events):
            if e["data"]["unknown_outcome_of"]:
                at = datetime.fromisoformat(e["occurred_at"]).timestamp()
                before = [f"{what} {at - t:.1f}s earlier" for t, what in timeline if t < at]
                first = intents(events)[0]["actor"]
                print(
                    f"  {ids[vid]} {vid}: intended by {first}; {e['actor']} took over after "
                    f"{before[-1] if before else 'nothing'}"
                )
