"""Small helpers that keep test bodies short."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from starlette.testclient import TestClient

from events.apikey import DEFAULT_SCOPES
from service.runtime import Runtime, issue_key

SUBMISSION = dict(
    tenant="acme",
    model="local-preview",
    provider="local",
    upstream_model="local-preview",
    prompt="a fox",
    params={"seconds": "1", "size": "160x90"},
    inputs={},
    webhook=None,
    request_hash="h",
    surface="openai",
    cost_estimate=0.0,
)
TINY = {"model": "local-preview", "prompt": "a red fox in snow", "seconds": "1", "size": "160x90"}


def runtime_of(client: TestClient) -> Runtime:
    rt: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    return rt


def key_for(
    client: TestClient, tenant: str, scopes: tuple[str, ...] = DEFAULT_SCOPES
) -> dict[str, str]:
    """Authorization headers for a new key of `tenant` with `scopes`."""
    key = issue_key(runtime_of(client), tenant, scopes)
    return {"Authorization": f"Bearer {key}"}


def event_count(client: TestClient) -> int:
    return runtime_of(client).gateway.recorder.max_notification_id() or 0


def wait_for(check: Callable[[], Any], timeout: float = 30.0, interval: float = 0.02) -> Any:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def wait_for_status(
    client: TestClient,
    video_id: str,
    statuses: tuple[str, ...] = ("completed",),
    timeout: float = 30.0,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body: dict[str, Any] = client.get(f"/v1/videos/{video_id}", headers=headers).json()
        return body if body["status"] in statuses else None

    result: dict[str, Any] = wait_for(done, timeout)
    return result


def submit(client: TestClient, **overrides: Any) -> dict[str, Any]:
    response = client.post("/v1/videos", json={**TINY, **overrides})
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body
