"""Credits through real processes: a 402 on every surface when the credits can't cover a
job, and no overspend when many submits race for the last dollars."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.conftest import ADMIN_KEY
from tests.e2e.server import run_vidgate, server_env
from tests.helpers import TINY
from tests.integration.test_credits_on_every_surface import CODE_AND_MESSAGE, VEO_8S

pytestmark = pytest.mark.e2e
LUMA_5S = {"model": "luma-ray-2", "prompt": "waves", "seconds": "5", "size": "1280x720"}  # $1.00


def wait_until(feed):
    """`seen(video_id)`: the feed's video ids, once `video_id` is among them."""

    def seen(video_id: str) -> set[str]:
        deadline = time.monotonic() + 30
        while video_id not in (ids := feed()):
            assert time.monotonic() < deadline, f"{video_id} never reached the feed"
            time.sleep(0.05)
        return ids

    return seen


def grant(env, dollars: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "credits", "grant", "default", dollars],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def balance(http: httpx.Client) -> dict:
    answer = http.get("/v1/balance")
    assert answer.status_code == 200, answer.text
    return json.loads(answer.text)


@pytest.fixture
def gateway(settings, tmp_path):
    """A sandbox gateway (every model available; upstreams slow enough to stay open)."""
    env = server_env(settings, VIDGATE_SANDBOX="true", VIDGATE_EMULATE_LATENCY="30")
    with run_vidgate(env, tmp_path / "server.log") as server:
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
            yield env, http


def test_a_job_priced_above_the_credits_is_a_402_on_every_surface(gateway):
    env, http = gateway
    grant(env, "1.00")
    for surface, (path, body) in VEO_8S.items():
        answer = http.post(path, json=body)
        assert answer.status_code == 402, (surface, answer.text)
        code, message = CODE_AND_MESSAGE[surface](answer.json())
        assert code == "insufficient_credits" and "$3.20" in message and "$1.00" in message
    # A free job after the refusals: once the feed shows it, it shows every earlier event,
    # and it is the only job there.
    free = http.post("/v1/videos", json=TINY).json()["id"]
    jobs = wait_until(lambda: {e["video_id"] for e in http.get("/v1/events").json()["data"]})
    assert jobs(free) == {free, None}  # None: the grant's ledger entry names no video
    assert balance(http)["available"] == 1.0


def test_twenty_concurrent_one_dollar_submits_on_five_dollars_accept_exactly_five(gateway):
    env, http = gateway
    grant(env, "5.00")
    with ThreadPoolExecutor(20) as pool:
        codes = list(
            pool.map(lambda _: http.post("/v1/videos", json=LUMA_5S).status_code, range(20))
        )
    assert sorted(codes) == [202] * 5 + [402] * 15, codes
    assert (balance(http)["available"], balance(http)["reserved"]) == (0.0, 5.0)
