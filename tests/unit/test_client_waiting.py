"""The client follows a video's event stream (resuming a dropped one), polls as the server
hints when it cannot stream, and reports the server's own error messages."""

from __future__ import annotations

import json

import httpx
import pytest
from rich.console import Console

from service.client.api import ClientError, VideosClient
from service.client.waiting import wait_for_video
from service.settings import ClientSettings

SETTINGS = ClientSettings(url="http://gateway", api_key="vg_test")


def client_for(handler) -> VideosClient:
    transport = httpx.MockTransport(handler)
    return VideosClient(SETTINGS, httpx.Client(base_url=SETTINGS.url, transport=transport))


def video(status: str, progress: int) -> dict:
    return {"id": "video_1", "status": status, "progress": progress}


def not_streaming(answers):
    """A server (or proxy) that answers the event stream with plain JSON, then `answers`."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/events"):
            return httpx.Response(200, json={"object": "list", "data": []})
        return next(answers)

    return handle


def sse(*items: dict) -> bytes:
    return b"".join(f"id: {i['version']}\ndata: {json.dumps(i)}\n\n".encode() for i in items)


def event(version: int, kind: str, **data) -> dict:
    return {"type": kind, "version": version, "actor": "local", "data": data}


def test_waiting_follows_the_event_stream_and_resumes_a_dropped_one_after_its_last_event():
    first = sse(event(1, "Submitted"), event(2, "Dispatched"), event(3, "Progressed", percent=40))
    rest = sse(event(4, "Progressed", percent=90), event(5, "Completed"), event(6, "OutputStored"))
    seen: list[tuple[str, str | None]] = []

    def dropped_after(body: bytes):
        yield body
        raise httpx.ReadError("connection reset")

    def handle(request: httpx.Request) -> httpx.Response:
        resumed = request.headers.get("last-event-id")
        seen.append((request.url.path, resumed))
        if not request.url.path.endswith("/events"):
            return httpx.Response(200, json=video("completed", 100))
        stream = {"content-type": "text/event-stream"}
        if resumed is None:
            return httpx.Response(200, headers=stream, content=dropped_after(first))
        return httpx.Response(200, headers=stream, content=rest)

    slept: list[float] = []
    console = Console(record=True, width=100, force_terminal=False)
    done = wait_for_video(client_for(handle), video("queued", 0), console, sleep=slept.append)
    assert done["status"] == "completed"
    assert seen == [
        ("/v1/videos/video_1/events", None),
        ("/v1/videos/video_1/events", "3"),  # resumed after the last event it got
        ("/v1/videos/video_1", None),  # one look when the server ended the stream
    ]
    assert slept == [0.5]  # one pause before reconnecting, no polling
    assert "100%" in console.export_text()


def test_without_a_stream_waiting_sleeps_as_long_as_each_answer_hints_and_stops_at_the_end():
    answers = iter(
        [
            httpx.Response(
                200, json=video("in_progress", 40), headers={"openai-poll-after-ms": "250"}
            ),
            httpx.Response(
                200, json=video("in_progress", 80), headers={"openai-poll-after-ms": "700"}
            ),
            httpx.Response(200, json=video("completed", 100)),
        ]
    )
    slept: list[float] = []
    client = client_for(not_streaming(answers))
    done = wait_for_video(client, video("queued", 0), Console(quiet=True), sleep=slept.append)
    assert done["status"] == "completed"
    assert slept == [1.0, 0.25, 0.7]  # the create's answer had no hint: about a second


def test_a_hint_of_zero_or_an_hour_is_kept_within_bounds():
    answers = iter(
        [
            httpx.Response(
                200, json=video("in_progress", 1), headers={"openai-poll-after-ms": "0"}
            ),
            httpx.Response(
                200, json=video("in_progress", 2), headers={"openai-poll-after-ms": "3600000"}
            ),
            httpx.Response(200, json=video("failed", 2), headers={}),
        ]
    )
    slept: list[float] = []
    client = client_for(not_streaming(answers))
    start = video("queued", 0)
    wait_for_video(client, start, Console(quiet=True), sleep=slept.append)
    assert slept == [1.0, 0.05, 10.0]


def test_a_refusal_carries_the_servers_message():
    refusal = {"error": {"message": "no video with id 'video_x'", "type": "invalid_request_error"}}
    client = client_for(lambda request: httpx.Response(404, json=refusal))
    with pytest.raises(ClientError, match=r"404: no video with id 'video_x'"):
        client.get("video_x")


def test_an_unreachable_gateway_is_a_client_error():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(ClientError, match="cannot reach http://gateway"):
        client_for(refuse).list(limit=1)


def test_a_missing_key_is_refused_before_any_request():
    with pytest.raises(ClientError, match="VIDGATE_API_KEY"):
        VideosClient(ClientSettings(url="http://gateway"))


def test_a_failed_download_leaves_no_file(tmp_path):
    client = client_for(lambda request: httpx.Response(409, json={"error": {"message": "not yet"}}))
    with pytest.raises(ClientError, match="409: not yet"):
        client.download("video_1", tmp_path / "out.mp4")
    assert list(tmp_path.iterdir()) == []
