"""Live streams through a real `vidgate serve` on 127.0.0.1 (issue 14): a client following
`/v1/videos/{id}/events` gets every event of a local job in order, with no gaps, until the
terminal event; one that reconnects with `Last-Event-ID` resumes where it left; a stream
outlives the server's header and body deadlines; a stopping server closes its streams.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_KEY
from tests.e2e.api import assert_clean_history, client, history, submit_video
from tests.e2e.server import Process, run_vidgate, server_env
from tests.sse_client import events, frames, stream_headers

pytestmark = pytest.mark.e2e

GUARD = 60.0  # a hang guard on reads, not a timing assertion
DEADLINES = 1.0  # the server's header and body timeouts here: streams must outlive them
ENDINGS = ("Completed", "Failed", "Canceled")


@pytest.fixture
def web(settings, tmp_path: Path) -> Iterator[Process]:
    env = server_env(
        settings,
        VIDGATE_LOCAL_FRAME_DELAY_MS="40",  # a job takes a moment: streams see it progress
        VIDGATE_HEADER_TIMEOUT_S=str(DEADLINES),
        VIDGATE_BODY_TIMEOUT_S=str(DEADLINES),
        VIDGATE_STREAM_HEARTBEAT_S="0.2",
        VIDGATE_WATCH_INTERVAL_MS="100",
    )
    with run_vidgate(env, tmp_path / "web.log") as process:
        yield process


@pytest.fixture
def http(web: Process) -> Iterator[httpx.Client]:
    assert web.url
    with client(web.url) as http:
        yield http


def follow(web: Process, video_id: str, last_event_id: int | None = None) -> Any:
    url = f"{web.url}/v1/videos/{video_id}/events"
    headers = stream_headers(ADMIN_KEY, last_event_id)
    return httpx.stream("GET", url, headers=headers, timeout=GUARD)


def test_a_client_following_a_job_gets_every_event_in_order_until_it_completes(web, http):
    video = submit_video(http)
    with follow(web, video["id"]) as response:
        streamed = list(events(response))  # the server ends the stream after the job
    assert [event["version"] for event in streamed] == list(range(1, len(streamed) + 1))
    assert [event["type"] for event in streamed].count("Completed") == 1
    assert streamed == history(http, video["id"])  # OutputStored came too: nothing missing
    assert_clean_history(streamed)


def test_a_client_that_reconnects_with_last_event_id_resumes_without_gaps(web, http):
    video = submit_video(http)
    with follow(web, video["id"]) as response:
        before = []
        for event in events(response):
            before.append(event)
            if event["type"] == "Progressed":
                break  # the connection drops mid-way
    with follow(web, video["id"], last_event_id=before[-1]["version"]) as response:
        after = list(events(response))
    both = before + after
    assert [event["version"] for event in both] == list(range(1, len(both) + 1))
    assert both == history(http, video["id"])
    assert any(event["type"] == "Completed" for event in after)


def test_a_stream_outlives_the_header_and_body_deadlines(web, http):
    assert web.url
    headers = stream_headers(ADMIN_KEY)
    with httpx.stream("GET", f"{web.url}/v1/events", headers=headers, timeout=GUARD) as stream:
        opened, sent = time.monotonic(), frames(stream)
        for frame in sent:  # heartbeats, until both deadlines are long past on our clock
            if frame.comment == "keep-alive" and time.monotonic() - opened > 3 * DEADLINES:
                break
        video = submit_video(http)
        for frame in sent:
            data = frame.data or {}
            if data.get("video_id") == video["id"] and data["type"] in ENDINGS:
                break
    assert data["type"] == "Completed"


def test_a_stopping_server_closes_its_open_streams(web, http):
    assert web.url
    headers = stream_headers(ADMIN_KEY)
    with httpx.stream("GET", f"{web.url}/v1/events", headers=headers, timeout=GUARD) as stream:
        sent = frames(stream)
        assert next(sent).comment == "events of the tenant feed"
        web.process.terminate()
        with pytest.raises(httpx.RemoteProtocolError):  # cut mid-stream: the client retries
            for _ in sent:
                pass
    # uvicorn re-raises the signal once it has shut down; without closing the stream it
    # would wait for it for ever ("Waiting for connections to close").
    assert web.process.wait(GUARD) == -signal.SIGTERM
    assert "Application shutdown complete" in web.output()
