"""No job is ever stuck: lost, duplicated, delayed and reordered upstream webhooks, and
upstreams that never finish, against real gateways and emulators on 127.0.0.1."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from service.app import create_app
from service.settings import EmulatorSettings, Settings
from tests.e2e.api import assert_clean_history, client, history, wait_for
from tests.e2e.server import free_port, serve_in_thread

pytestmark = pytest.mark.e2e

# One model per webhook-capable route (the first route each takes in sandbox mode).
WEBHOOK_MODELS = {
    "fal": "wan-2.6",
    "replicate": "wan-2.5-fast",
    "minimax": "hailuo-02",
    "luma": "luma-ray-2",
    "kling": "kling-2.5-turbo-pro",
    "sora": "sora-2",
}
POLL_ONLY_MODELS = {"veo": "veo-3.1-fast", "runway": "runway-gen4.5", "seedance": "seedance-1-lite"}


def gateway(settings: Settings, **changes: Any) -> Any:
    """A sandbox gateway factory for `serve_in_thread` (its base URL is known only then)."""

    def build(base: str) -> Any:
        return create_app(replace(settings, sandbox=True, public_url=base, **changes))

    return build


def submit(http: httpx.Client, models: list[str]) -> dict[str, str]:
    """video id → model, for one short job per model."""
    ids = {}
    for model in models:
        answer = http.post("/v1/videos", json={"model": model, "prompt": f"fox ({model})"})
        assert answer.status_code == 202, answer.text
        ids[answer.json()["id"]] = model
    return ids


def wait_ended(http: httpx.Client, ids: list[str], timeout: float) -> dict[str, dict[str, Any]]:
    ended: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    while len(ended) < len(ids):
        assert time.monotonic() < deadline, f"not ended in {timeout}s: {set(ids) - set(ended)}"
        for vid in set(ids) - set(ended):
            video = http.get(f"/v1/videos/{vid}").json()
            if video["status"] not in ("queued", "in_progress"):
                ended[vid] = video
        time.sleep(0.2)
    return ended


def upstream_of(http: httpx.Client, vid: str) -> str | None:
    """The upstream id the job's `Dispatched` names (None before it is dispatched)."""
    dispatch = next((e for e in history(http, vid) if e["type"] == "Dispatched"), None)
    return dispatch["data"]["upstream_id"] if dispatch else None


def sources(http: httpx.Client, vid: str) -> dict[str, list[str]]:
    """Event type → the sources it came by."""
    found: dict[str, list[str]] = {}
    for event in history(http, vid):
        found.setdefault(event["type"], []).append(event["data"].get("source"))
    return found


def test_with_every_webhook_lost_jobs_complete_by_polling(settings: Settings) -> None:
    fast_polls = {"poll_first": 0.3, "poll_grace": 1.5, "poll_cap": 1.0}
    knobs = EmulatorSettings(latency=1.0, webhook_loss=1.0)
    with (
        serve_in_thread(gateway(settings, emulate=knobs, **fast_polls)) as url,
        client(url) as http,
    ):
        ids = submit(http, list(WEBHOOK_MODELS.values()))
        started = time.monotonic()
        ended = wait_ended(http, list(ids), timeout=60)
        took = time.monotonic() - started
        for vid, video in ended.items():
            assert video["status"] == "completed", (ids[vid], video)
            assert sources(http, vid)["Completed"] == ["poll"], ids[vid]
            assert_clean_history(history(http, vid))
        # the schedule: grace 1.5 s, then polls ≤ 1 s apart (+20 % jitter), after 1 s latency
        assert took < 15, took
        accepted = [
            line
            for line in http.get("/metrics").text.splitlines()
            if line.startswith("vidgate_upstream_webhooks_total") and 'outcome="accepted"' in line
        ]
        assert accepted == [], accepted


def test_an_upstream_that_never_finishes_fails_with_timeout_at_its_deadline(
    settings: Settings,
) -> None:
    changes = {"poll_first": 0.3, "poll_grace": 0.3, "poll_cap": 0.5, "job_deadline": 3.0}
    knobs = EmulatorSettings(latency=600.0)
    with serve_in_thread(gateway(settings, emulate=knobs, **changes)) as url, client(url) as http:
        ids = submit(http, [POLL_ONLY_MODELS["runway"], WEBHOOK_MODELS["fal"]])
        ended = wait_ended(http, list(ids), timeout=30)
        for vid, video in ended.items():
            assert video["status"] == "failed", video
            assert video["error"]["code"] == "timeout", video
            events = history(http, vid)
            assert_clean_history(events)
            (failed,) = [e for e in events if e["type"] == "Failed"]
            assert failed["data"]["source"] == "poll"
            (dispatch,) = [e for e in events if e["type"] == "Dispatched"]
            dispatched = datetime.fromisoformat(dispatch["occurred_at"])
            elapsed = (datetime.fromisoformat(failed["occurred_at"]) - dispatched).total_seconds()
            assert 2.9 <= elapsed <= 10, elapsed  # at the 3 s deadline, after a final status call


FAULTS = st.fixed_dictionaries(
    {
        "webhook_duplicate": st.floats(0, 1),
        "webhook_reorder": st.floats(0, 1),
        "webhook_delay": st.floats(0, 0.5),
        "webhook_loss": st.floats(0, 0.5),
    }
)


@hypothesis_settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    faults=FAULTS,
    models=st.lists(st.sampled_from(sorted(WEBHOOK_MODELS.values())), min_size=3, max_size=6),
)
def test_histories_stay_valid_under_duplicated_delayed_reordered_webhooks(
    settings: Settings, faults: dict[str, float], models: list[str]
) -> None:
    knobs = EmulatorSettings(latency=1.0, **faults)
    polls = {"poll_first": 0.3, "poll_grace": 3.0, "poll_cap": 1.0}
    with serve_in_thread(gateway(settings, emulate=knobs, **polls)) as url, client(url) as http:
        ids = submit(http, models)
        ended = wait_ended(http, list(ids), timeout=60)
        time.sleep(1.0)  # let late duplicates arrive: they must append nothing
        for vid, video in ended.items():
            assert video["status"] == "completed", (ids[vid], video, faults)
            events = history(http, vid)
            assert_clean_history(events)
            assert [e["type"] for e in events].index("Completed") == len(events) - 2  # then stored


def test_every_webhook_twice_and_out_of_order_appends_each_change_once(settings: Settings) -> None:
    knobs = EmulatorSettings(latency=1.0, webhook_duplicate=1.0, webhook_reorder=1.0)
    polls = {"poll_first": 0.3, "poll_grace": 30.0, "poll_cap": 1.0}
    with serve_in_thread(gateway(settings, emulate=knobs, **polls)) as url, client(url) as http:
        ids = submit(http, list(WEBHOOK_MODELS.values()))
        ended = wait_ended(http, list(ids), timeout=60)
        time.sleep(1.0)
        for vid, video in ended.items():
            assert video["status"] == "completed", (ids[vid], video)
            assert_clean_history(history(http, vid))
            assert sources(http, vid)["Completed"] == ["webhook"], ids[vid]
        duplicates = [
            line
            for line in http.get("/metrics").text.splitlines()
            if line.startswith("vidgate_upstream_webhooks_total") and 'outcome="duplicate"' in line
        ]
        assert duplicates, "the emulators sent every webhook twice: some must be duplicates"


def test_canceling_a_job_cancels_it_upstream(settings: Settings) -> None:
    port = free_port()
    knobs = EmulatorSettings(latency=60.0)
    build = gateway(settings, emulate=knobs, sandbox_port=port)
    with serve_in_thread(build) as url, client(url) as http:
        ids = submit(http, [POLL_ONLY_MODELS["runway"], WEBHOOK_MODELS["replicate"]])
        for vid in ids:
            wait_for(http, vid, lambda v, vid=vid: upstream_of(http, vid), timeout=20)
            assert http.post(f"/v1/videos/{vid}/cancel").json()["status"] == "canceled"
        upstream = {upstream_of(http, vid) for vid in ids}
        deadline = time.monotonic() + 10
        while True:
            log = httpx.get(f"http://127.0.0.1:{port}/_requests").json()["data"]
            canceled = {
                uid
                for uid in upstream
                for r in log
                if r["method"] in ("DELETE", "POST", "PUT")
                and uid in r["path"]
                and r["path"].rstrip("/").endswith(("cancel", uid))
            }
            if canceled == upstream or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert canceled == upstream, log[-10:]
