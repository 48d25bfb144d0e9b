"""Veo reports no progress (`done: false` until done): the poller estimates one at each look,
so a client sees it move — on `/v1/videos` and on the v2 surface, where users met `QUEUED`/0 %
until the end. Through a real `vidgate serve --sandbox` and the Veo emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import STORES
from tests.e2e.api import history
from tests.e2e.sandbox_gateway import Sandbox, sample_until, sandbox_gateway

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", params=STORES)
def sandbox(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Sandbox]:
    # Jobs that run 4 × their typical time (1 s): the poller looks every 15 % of the time
    # so far from 0.87 s on (~10 looks), each recording a higher estimate. (A job that ends
    # on time is looked at twice: at 87 % of its typical time, then at its end.)
    tmp = tmp_path_factory.mktemp("progress")
    with sandbox_gateway(request.param, tmp, VIDGATE_TYPICAL_RENDER_S="1") as gateway:
        yield gateway


def before_the_end(percents: list[int]) -> list[int]:
    """The progress values a client saw while the job ran (the last sample is the end)."""
    return percents[:-1]


def assert_moves_and_never_backwards(percents: list[int]) -> None:
    running = before_the_end(percents)
    assert len(set(running)) >= 3, percents
    assert running == sorted(running), percents
    assert max(running) < 100 and percents[-1] == 100, percents


def test_veo_progress_moves_on_the_canonical_surface(sandbox: Sandbox) -> None:
    with sandbox.http() as http:
        created = http.post("/v1/videos", json={"model": "veo-3.1", "prompt": "a misty forest"})
        assert created.status_code == 202, created.text
        vid = created.json()["id"]
        seen = sample_until(
            lambda: http.get(f"/v1/videos/{vid}").json(), lambda v: v["status"] == "completed"
        )
        assert_moves_and_never_backwards([v["progress"] for v in seen])
        estimates = [e for e in history(http, vid) if e["type"] == "Progressed"]
        assert estimates and {e["data"]["source"] for e in estimates} == {"estimate"}


def test_veo_progress_moves_on_the_v2_surface(sandbox: Sandbox) -> None:
    with sandbox.http() as http:
        created = http.post("/v2/videos/generate", json={"model": "veo-3.1", "prompt": "waves"})
        assert created.status_code == 202, created.text
        job_id = created.json()["jobId"]

        def read() -> dict[str, Any]:
            job: dict[str, Any] = http.get(f"/v2/jobs/{job_id}").json()
            return job

        seen = sample_until(read, lambda job: job["status"] == "COMPLETED")
        assert_moves_and_never_backwards([job["progress"] for job in seen])
        assert "PROCESSING" in {job["status"] for job in seen}
