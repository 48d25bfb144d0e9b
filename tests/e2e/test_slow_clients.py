"""Slow and numerous clients against a real `vidgate serve` on 127.0.0.1 (issue 18, item 7):
headers that never finish are cut off, bodies that drip are refused with a 408, and
connections beyond the cap are turned away, while other clients are still served.

These guards live in the web server, not the store: they run on SQLite only.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_KEY
from tests.e2e.api import client, submit_video
from tests.e2e.server import Process, run_vidgate, server_env

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("store", ["sqlite"])]

SLOW = 200  # connections; `make bench` (bench_slow_clients.py) tries 10,000
GUARD = 30.0  # a hang guard on every read, not a timing assertion
TIMEOUT = 2.0  # the server's header and body timeouts here
# A client drips only while less than this has passed since it started on its own clock. The
# server's clock for the same connection starts no earlier, so every drip is sent (and read
# by the server, which handles ready input before due timers) well before the server gives
# up: however loaded the machine, no byte arrives after the server closed (which would reset
# the connection and lose the 408). Once a drip deadline ran on load alone (a BrokenPipe).
DRIP_FOR = TIMEOUT / 2


@pytest.fixture
def web(settings, tmp_path: Path) -> Iterator[Process]:
    env = server_env(
        settings,
        VIDGATE_HEADER_TIMEOUT_S=str(TIMEOUT),
        VIDGATE_BODY_TIMEOUT_S=str(TIMEOUT),
        VIDGATE_RUN_WORKERS="0",
    )
    with run_vidgate(env, tmp_path / "web.log") as process:
        yield process


async def connect(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = url.removeprefix("http://").split(":")
    return await asyncio.open_connection(host, int(port))


async def drip(writer: asyncio.StreamWriter, data: bytes, started: float) -> None:
    """Write `data` every 0.2 s while less than `DRIP_FOR` passed since `started`."""
    while True:
        await asyncio.sleep(0.2)
        if time.monotonic() - started >= DRIP_FOR:
            return
        writer.write(data)  # no await between the check and the write


async def answer_to_slow_headers(url: str) -> bytes:
    """Start a request, send a header line every 0.2 s for a while, never end the headers:
    what the server says, up to EOF."""
    started = time.monotonic()
    reader, writer = await connect(url)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: vidgate\r\n")
    await drip(writer, b"X-Slow: 1\r\n", started)
    answer = await asyncio.wait_for(reader.read(), GUARD)
    writer.close()
    return answer


def test_connections_that_send_headers_slowly_are_closed_while_others_are_served(web):
    async def scenario() -> tuple[list[bytes], list[int]]:
        slow = [asyncio.create_task(answer_to_slow_headers(web.url)) for _ in range(SLOW)]
        async with httpx.AsyncClient(base_url=web.url, timeout=GUARD) as http:
            served = [(await http.get("/healthz")).status_code for _ in range(5)]
        return await asyncio.gather(*slow), served

    answers, served = asyncio.run(scenario())
    assert served == [200] * 5
    assert len(answers) == SLOW
    assert all(answer.startswith(b"HTTP/1.1 408 ") for answer in answers)


def test_a_connection_that_sends_nothing_is_closed(web):
    async def silent() -> bytes:
        reader, writer = await connect(web.url)
        answer = await asyncio.wait_for(reader.read(), GUARD)
        writer.close()
        return answer

    assert asyncio.run(silent()).startswith(b"HTTP/1.1 408 ")


def test_a_request_that_outlasts_the_header_timeout_once_its_headers_are_in_is_answered(web):
    with client(web.url) as http:
        job = submit_video(http)["id"].removeprefix("video_")
        polled = http.get(f"/api/v1/jobs/job_{job}", params={"poll": "true", "timeout": "3"})
    assert polled.status_code == 200 and polled.json()["status"] == "pending"


async def post_dripping(url: str, path: str, declared: int) -> tuple[int, dict[str, str]]:
    """Declare a body of `declared` bytes, send one byte every 0.2 s for a while: the status
    and the JSON answer."""
    reader, writer = await connect(url)
    started = time.monotonic()  # before the head is sent: the server's body clock starts after
    head = (
        f"POST {path} HTTP/1.1\r\nHost: vidgate\r\nAuthorization: Bearer {ADMIN_KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {declared}\r\n\r\n"
    )
    writer.write(head.encode())
    await drip(writer, b" ", started)
    raw = await asyncio.wait_for(reader.read(), GUARD)
    writer.close()
    status_line, _, rest = raw.partition(b"\r\n")
    body = rest.partition(b"\r\n\r\n")[2]
    return int(status_line.split()[1]), json.loads(body)


@pytest.mark.parametrize(
    ("path", "code_of"),
    [
        ("/v1/videos", lambda body: body["error"]["code"]),
        ("/api/v1/videos/generations", lambda body: body["code"]),  # NovaKit's shape
        ("/api/v1/video/generate", lambda body: body["error"]["code"]),  # Concurred's
    ],
)
def test_a_body_that_drips_in_is_refused_with_a_408_in_the_surfaces_shape(web, path, code_of):
    status, body = asyncio.run(post_dripping(web.url, path, declared=100))
    assert status == 408
    assert code_of(body) == "request_timeout"


def test_connections_beyond_the_cap_get_a_503_until_some_close(settings, tmp_path):
    env = server_env(settings, VIDGATE_MAX_CONNECTIONS="20", VIDGATE_RUN_WORKERS="0")
    with run_vidgate(env, tmp_path / "web.log") as web:

        async def scenario() -> tuple[int, str | None]:
            held = [await connect(web.url) for _ in range(20)]
            async with httpx.AsyncClient(base_url=web.url, timeout=GUARD) as http:
                refused = await http.get("/healthz")
            for _, writer in held:
                writer.close()
            return refused.status_code, refused.headers.get("retry-after")

        assert asyncio.run(scenario()) == (503, "1")
        assert eventually_healthy(web.url)


def eventually_healthy(url: str) -> bool:
    """Whether /healthz answers 200 within a few seconds (closed sockets take a moment to
    reach the server)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if httpx.get(f"{url}/healthz", timeout=GUARD).status_code == 200:
            return True
        time.sleep(0.05)
    return False
