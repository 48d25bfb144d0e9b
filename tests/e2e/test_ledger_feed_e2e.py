"""The ledger through a real gateway: a granted tenant's completed, failed and canceled jobs
show their money in `/v1/events`, and `/v1/analytics` and `/v1/balance` agree on what was
spent (SQLite, or PostgreSQL with `VIDGATE_TEST_DATABASE_URL`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.api import client, submit_video, wait_for
from tests.e2e.server import free_port, run_vidgate, server_env
from tests.e2e.test_credits_e2e import LUMA_5S, balance, grant

pytestmark = pytest.mark.e2e
ENDED = {"completed", "failed", "canceled"}


def eventually(read: Callable[[], Any], holds: Callable[[Any], bool], timeout: float = 30) -> Any:
    """`read()` once `holds` of it (the feed and analytics views trail the log)."""
    deadline = time.monotonic() + timeout
    while not holds(value := read()):
        assert time.monotonic() < deadline, f"never held; last read: {value}"
        time.sleep(0.1)
    return value


def ledger(http: httpx.Client) -> list[dict[str, Any]]:
    items = http.get("/v1/events", params={"limit": 1000}).json()["data"]
    return [i for i in items if i["object"] == "ledger.entry"]


def spent_by_model(http: httpx.Client) -> dict[str, float | None]:
    groups = http.get("/v1/analytics", params={"group_by": "model"}).json()["data"]
    return {g["model"]: g["spent"] for g in groups}


def test_a_tenants_money_shows_in_the_feed_and_analytics_and_balance_agree(settings, tmp_path):
    env = server_env(
        settings,
        VIDGATE_SANDBOX="true",
        VIDGATE_EMULATE_LATENCY="1",
        VIDGATE_ALLOWED_PRIVATE_NETWORKS="127.0.0.0/8",
    )
    with run_vidgate(env, tmp_path / "server.log") as server, client(server.url) as http:
        grant(env, "10.00")
        done = submit_video(http, **LUMA_5S)["id"]
        canceled = submit_video(http, **LUMA_5S)["id"]
        assert http.post(f"/v1/videos/{canceled}/cancel").status_code == 200
        nowhere = f"http://127.0.0.1:{free_port()}/missing.png"  # nothing listens there
        failed = submit_video(http, image_url=nowhere)["id"]  # the local renderer can't fetch it
        statuses = {
            vid: wait_for(http, vid, lambda v: v["status"] in ENDED)["status"]
            for vid in (done, failed, canceled)
        }
        assert statuses == {done: "completed", failed: "failed", canceled: "canceled"}

        entries = eventually(lambda: ledger(http), lambda found: len(found) == 7)
        granted = entries[0]
        assert (granted["type"], granted["video_id"], granted["actor"]) == (
            "CreditsGranted",
            None,
            "admin",
        )
        assert granted["data"]["amount"] == 10.0
        by_video = {
            vid: [(e["type"], e["data"]["amount"]) for e in entries if e["video_id"] == vid]
            for vid in (done, failed, canceled)
        }
        assert by_video[done][0] == ("CreditsReserved", 1.0)
        assert by_video[done][1][0] == "CreditsSettled"
        assert by_video[failed] == [("CreditsReserved", 0.0), ("CreditsReleased", 0.0)]
        # Canceled at once: released if the dispatcher had not got to it, else settled.
        assert by_video[canceled][1] in (("CreditsReleased", 1.0), ("CreditsSettled", 1.0))
        positions = [e["position"] for e in entries]
        assert positions == sorted(positions)

        settled = sum(e["data"]["amount"] for e in entries if e["type"] == "CreditsSettled")
        assert settled >= 1.0
        assert balance(http)["spent"] == pytest.approx(settled, abs=1e-9)
        spent = eventually(
            lambda: spent_by_model(http),
            lambda found: found.get("luma-ray-2") == pytest.approx(settled, abs=1e-9),
        )
        assert spent["local-preview"] == 0.0  # charged (at its price, $0), nothing spent
        [totals] = http.get("/v1/analytics").json()["data"]
        assert totals["spent"] == pytest.approx(settled, abs=1e-9)
        released = eventually(
            lambda: http.get("/v1/events", params={"type": "CreditsReleased"}).json()["data"],
            lambda found: len(found) >= 1,
        )
        assert {i["video_id"] for i in released} <= {failed, canceled}
