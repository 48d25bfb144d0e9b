"""Helpers that read like the spec: submit a video, wait for it, check its history."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.conftest import ADMIN_KEY

TINY = {"model": "local-preview", "prompt": "a red fox in snow", "seconds": "1", "size": "160x90"}


def client(url: str, key: str = ADMIN_KEY) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=10.0)


def submit_video(http: httpx.Client, **overrides: Any) -> dict[str, Any]:
    response = http.post("/v1/videos", json={**TINY, **overrides})
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_for(
    http: httpx.Client, video_id: str, until: Any, timeout: float = 60.0
) -> dict[str, Any]:
    """Poll the video until `until(video)` holds."""
    deadline = time.monotonic() + timeout
    while True:
        video: dict[str, Any] = http.get(f"/v1/videos/{video_id}").json()
        if until(video):
            return video
        if time.monotonic() > deadline:
            raise AssertionError(f"{video_id} never got there; last seen: {video}")
        time.sleep(0.05)


def completed(video: dict[str, Any]) -> bool:
    return video["status"] == "completed"


def history(http: httpx.Client, video_id: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = http.get(f"/v1/videos/{video_id}/events").json()["data"]
    return data


def assert_clean_history(events: list[dict[str, Any]]) -> None:
    """One submission, one dispatch, one ending, monotonic progress, no duplicates."""
    types = [e["type"] for e in events]
    assert [e["version"] for e in events] == list(range(1, len(events) + 1))
    assert types.count("Submitted") == 1 and types[0] == "Submitted"
    assert types.count("Dispatched") == 1
    assert sum(types.count(t) for t in ("Completed", "Failed", "Canceled")) == 1
    assert types.count("OutputStored") <= 1
    percents = [e["data"]["percent"] for e in events if e["type"] == "Progressed"]
    assert percents == sorted(set(percents))
