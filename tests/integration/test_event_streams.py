"""Live streams (issue 14): `GET /v1/videos/{id}/events` and `GET /v1/events` as Server-Sent
Events, on a real uvicorn in this process (a test client would wait for a stream's end).

A job's stream carries every event of the job in order, ids being versions, until its end;
`Last-Event-ID` resumes after the event named; the feed's stream carries the tenant's events
with their positions; auth and tenant isolation are those of the JSON answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from service.app import create_app
from service.runtime import Runtime, issue_key
from service.settings import Settings
from service.surfaces.openapi.document import openapi_document
from tests import helpers
from tests.conftest import ADMIN_KEY
from tests.e2e.api import completed, history, submit_video, wait_for
from tests.e2e.server import serve_in_thread
from tests.sse_client import events, frames, stream_headers

GUARD = 30.0  # a hang guard on reads, not a timing assertion
ENDINGS = ("Completed", "Failed", "Canceled")


@dataclass
class Gateway:
    url: str
    app: Starlette

    @property
    def runtime(self) -> Runtime:
        rt: Runtime = self.app.state.runtime
        return rt

    def client(self, key: str = ADMIN_KEY) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {key}"}, timeout=GUARD
        )

    def stream(self, path: str, key: str = ADMIN_KEY, **kwargs: Any) -> Any:
        headers = stream_headers(key, kwargs.pop("last_event_id", None))
        return httpx.stream("GET", self.url + path, headers=headers, timeout=GUARD, **kwargs)


@pytest.fixture
def gateway(settings: Settings) -> Iterator[Gateway]:
    # Frames take a little while, so a stream opened at once sees the job progress live.
    app = create_app(replace(settings, local_frame_delay=0.02, watch_interval=0.05))
    with serve_in_thread(lambda _base: app) as url:
        yield Gateway(url, app)


@pytest.fixture
def http(gateway: Gateway) -> Iterator[httpx.Client]:
    with gateway.client() as client:
        yield client


def test_a_job_stream_sends_every_event_in_order_until_the_job_ends(gateway, http):
    video = submit_video(http)
    with gateway.stream(f"/v1/videos/{video['id']}/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        streamed = list(events(response))  # the server ends the stream
    assert [event["version"] for event in streamed] == list(range(1, len(streamed) + 1))
    assert any(event["type"] in ENDINGS for event in streamed)
    assert streamed == history(http, video["id"])[: len(streamed)]


def test_a_job_stream_opens_with_a_comment_and_frames_each_event_with_its_version(gateway, http):
    video = submit_video(http)
    with gateway.stream(f"/v1/videos/{video['id']}/events") as response:
        sent = list(frames(response))
    assert sent[0].comment == f"events of {video['id']}"
    first = next(frame for frame in sent if frame.data is not None)
    assert first.id == "1" and first.data is not None and first.data["type"] == "Submitted"


def test_last_event_id_resumes_after_the_event_it_names(gateway, http):
    video = wait_for(http, submit_video(http)["id"], completed)
    everything = history(http, video["id"])
    path = f"/v1/videos/{video['id']}/events"
    with gateway.stream(path, last_event_id=3) as response:
        resumed = list(events(response))
    assert resumed == everything[3:]


def test_a_finished_job_whose_events_were_all_seen_answers_204(gateway, http):
    video = wait_for(http, submit_video(http)["id"], completed)
    path = f"/v1/videos/{video['id']}/events"
    with gateway.stream(path) as response:
        last = list(events(response))[-1]["version"]
    with gateway.stream(path, last_event_id=last) as response:
        assert response.status_code == 204


def test_stream_true_asks_for_the_stream_without_the_accept_header(gateway, http):
    video = wait_for(http, submit_video(http)["id"], completed)
    path = f"/v1/videos/{video['id']}/events?stream=true"
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with httpx.stream("GET", gateway.url + path, headers=headers, timeout=GUARD) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert list(events(response)) == history(http, video["id"])


def test_stream_false_and_no_accept_header_keep_the_json_history(gateway, http):
    video = submit_video(http)
    plain = http.get(f"/v1/videos/{video['id']}/events?stream=false")
    assert plain.headers["content-type"] == "application/json"
    assert plain.json()["object"] == "list"


def test_a_bad_stream_value_or_last_event_id_is_a_400(gateway, http):
    video = submit_video(http)
    path = f"/v1/videos/{video['id']}/events"
    assert http.get(path, params={"stream": "yes"}).json()["error"]["param"] == "stream"
    bad = http.get(path, headers={"Accept": "text/event-stream", "Last-Event-ID": "x1"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "Last-Event-ID"


def test_a_stream_needs_a_key(gateway, http):
    video = submit_video(http)
    for path in (f"/v1/videos/{video['id']}/events", "/v1/events"):
        answer = httpx.get(gateway.url + path, headers={"Accept": "text/event-stream"})
        assert answer.status_code == 401


def test_another_tenants_job_stream_is_a_404(gateway, http):
    video = submit_video(http)
    other = issue_key(gateway.runtime, "someone-else", ("videos:read", "videos:write"))
    with gateway.stream(f"/v1/videos/{video['id']}/events", key=other) as response:
        assert response.status_code == 404
    with gateway.stream("/v1/videos/video_unknown/events") as response:
        assert response.status_code == 404


def test_the_feed_stream_carries_only_the_tenants_events_with_their_positions(gateway, http):
    other = issue_key(gateway.runtime, "someone-else", ("videos:read", "videos:write"))
    with gateway.client(other) as theirs:
        their_video = submit_video(theirs)
    mine = submit_video(http)
    seen: list[dict[str, Any]] = []
    with gateway.stream("/v1/events", key=other) as response:
        for event in events(response):  # the feed has no end: stop at their job's end
            seen.append(event)
            if event["video_id"] == their_video["id"] and event["type"] in ENDINGS:
                break
    assert {event["video_id"] for event in seen} == {their_video["id"]}
    positions = [event["position"] for event in seen]
    assert positions == sorted(set(positions))
    assert mine["id"] not in {event["video_id"] for event in seen}


def test_the_feed_stream_resumes_after_last_event_id(gateway, http):
    video = wait_for(http, submit_video(http)["id"], completed)
    page = helpers.wait_for(lambda: feed_through_end(http, video["id"]), timeout=GUARD)
    second = page[1]["position"]
    with gateway.stream("/v1/events", last_event_id=second) as response:
        resumed = feed_through_end(events(response), video["id"])
    assert resumed == page[2:]


def feed_through_end(source: Any, video_id: str) -> list[dict[str, Any]] | None:
    """The feed's items up to the job's ending, from a stream or (a client) the JSON feed;
    None when the ending is not there yet."""
    if isinstance(source, httpx.Client):
        source = source.get("/v1/events", params={"limit": 1000}).json()["data"]
    taken = []
    for item in source:
        taken.append(item)
        if item["video_id"] == video_id and item["type"] in ENDINGS:
            return taken
    return None


def test_the_openapi_document_offers_both_streams():
    paths = openapi_document()["paths"]
    for path in ("/v1/videos/{video_id}/events", "/v1/events"):
        get = paths[path]["get"]
        assert "text/event-stream" in get["responses"]["200"]["content"]
        assert {"stream", "Last-Event-ID"} <= {parameter["name"] for parameter in get["parameters"]}
