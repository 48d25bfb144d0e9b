"""A fault-injecting webhook receiver: a real uvicorn server on 127.0.0.1, for tests.

    with Receiver() as receiver:
        receiver.respond(500)                                  # the next request gets a 500
        receiver.respond(429, headers={"Retry-After": "120"})  # the one after that a 429
        receiver.slow(5.0)          # answers 200 after 5 s (or when the client gives up)
        receiver.reset()            # drops the connection without any HTTP response
        hold = receiver.hold()      # blocks until hold.release() (or the client goes away)
        ...                         # every other request: 200 "ok"
        receiver.requests           # everything received, in arrival order

Scripted replies are used up in the order they were queued, one per request; with `when`,
a reply only takes a request it matches (e.g. `when=lambda r: b"completed" in r.body`).
Every request is recorded (headers, raw body, arrival time) before its reply is decided.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


@dataclass(eq=False)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names (a repeated header keeps its last value)
    body: bytes
    at: float  # time.time() when the body had fully arrived
    answered: int | None = None  # the status sent back, once sent (never, for a reset or
    # a request whose client went away while it was slow or held)


class Hold:
    """A reply that waits until `release()`; `arrived` is set when a request reaches it."""

    def __init__(self, receiver: Receiver) -> None:
        self._receiver = receiver
        self.arrived = threading.Event()
        self.request: Request | None = None  # the request being held, once one arrived
        self._released = threading.Event()
        self._event: asyncio.Event | None = None  # created on the server's loop

    def wait_arrived(self, timeout: float = 30.0) -> Request:
        if not self.arrived.wait(timeout):
            raise AssertionError(f"no request reached the hold within {timeout}s")
        assert self.request is not None
        return self.request

    def release(self) -> None:
        self._released.set()
        self._receiver._call_soon(self._wake)

    def _wake(self) -> None:
        if self._event is not None:
            self._event.set()

    async def _wait(self) -> None:
        self._event = asyncio.Event()
        if self._released.is_set():
            return
        await self._event.wait()


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0  # "slow": answer only after this long
    reset: bool = False  # close the connection abruptly (RST) instead of answering
    hold: Hold | None = None  # answer only once released
    when: Callable[[Request], bool] | None = None


class Receiver:
    """Context manager: serves on a free loopback port in a background thread."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._script: list[Reply] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing: asyncio.Event | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # scripting (from the test's thread)

    def respond(
        self,
        status: int = 200,
        *,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        times: int = 1,
        when: Callable[[Request], bool] | None = None,
    ) -> None:
        for _ in range(times):
            self._queue(Reply(status, dict(headers or {}), body, when=when))

    def slow(
        self, seconds: float, *, times: int = 1, when: Callable[[Request], bool] | None = None
    ) -> None:
        """Answer 200, but only after `seconds` (longer than the sender's timeout)."""
        for _ in range(times):
            self._queue(Reply(delay=seconds, when=when))

    def reset(self, *, times: int = 1, when: Callable[[Request], bool] | None = None) -> None:
        """Read the request, then abort the TCP connection (RST) without a response."""
        for _ in range(times):
            self._queue(Reply(reset=True, when=when))

    def hold(self, *, when: Callable[[Request], bool] | None = None) -> Hold:
        """Keep the next (matching) request waiting until `release()`, then answer 200."""
        hold = Hold(self)
        self._queue(Reply(hold=hold, when=when))
        return hold

    def _queue(self, reply: Reply) -> None:
        with self._lock:
            self._script.append(reply)

    # reading what arrived

    def received(self, path: str | None = None) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]

    def wait_for(self, check: Callable[[list[Request]], Any], timeout: float = 30.0) -> Any:
        """Poll until `check(requests)` is truthy; fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            result = check(self.received())
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"receiver: condition not met within {timeout}s; got {len(self.received())}"
                    " requests"
                )
            time.sleep(0.01)

    # the server

    def __enter__(self) -> Receiver:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            interface="asgi3",
            http="h11",
            ws="none",
            lifespan="off",
            log_level="warning",
            access_log=False,
            proxy_headers=False,
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name="webhook-receiver",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the webhook receiver did not start")
            time.sleep(0.01)
        sock.close()  # uvicorn serves on its own duplicate
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._server is not None and self._thread is not None
        self._call_soon(self._stop_waiting)  # slow and held replies give up at once
        self._server.should_exit = True
        self._thread.join(STOP_TIMEOUT)

    def _call_soon(self, callback: Callable[[], None]) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed in between
                loop.call_soon_threadsafe(callback)

    def _stop_waiting(self) -> None:
        if self._closing is not None:
            self._closing.set()

    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if self._loop is None:
            self._loop, self._closing = asyncio.get_running_loop(), asyncio.Event()
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        request = Request(scope["method"], scope["path"], headers, bytes(body), time.time())
        with self._lock:
            self.requests.append(request)
            reply = next((r for r in self._script if r.when is None or r.when(request)), None)
            if reply is not None:
                self._script.remove(reply)
        reply = reply or Reply()
        if reply.reset:
            await _abort(send, receive)
            return
        if reply.hold is not None or reply.delay:
            waited = reply.hold._wait() if reply.hold else asyncio.sleep(reply.delay)
            if reply.hold is not None:
                reply.hold.request = request
                reply.hold.arrived.set()
            if not await self._wait_or_disconnect(waited, receive):
                return  # the client gave up (timeout) or died (SIGKILL): nobody to answer
        await send(
            {
                "type": "http.response.start",
                "status": reply.status,
                "headers": [(k.encode(), v.encode()) for k, v in reply.headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": reply.body})
        request.answered = reply.status

    async def _wait_or_disconnect(self, waited: Any, receive: Any) -> bool:
        """Wait for `waited`; False if the client disconnected or the receiver closed first."""
        assert self._closing is not None
        tasks = [
            asyncio.ensure_future(waited),
            asyncio.ensure_future(receive()),  # after the body, only a disconnect comes
            asyncio.ensure_future(self._closing.wait()),
        ]
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        return tasks[0] in done


async def _abort(send: Any, receive: Any) -> None:
    """Abort the connection with a TCP RST, before any byte of a response.

    An exception raised in an ASGI app makes uvicorn answer 500, which is not a transport
    error; so reach the connection itself: uvicorn's `send` is a bound method of its
    request/response cycle, which holds the asyncio transport.
    """
    transport = send.__self__.transport
    sock = transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    await receive()  # the cycle notices the lost connection: no 500 is attempted
