"""uvicorn's HTTP protocol with the two guards it lacks: a header deadline and a connection cap.

uvicorn (0.55) times out only idle kept-alive connections: its keep-alive timer is never armed
on a new connection and is cancelled by any byte, so a client that sends nothing, or its
headers a byte at a time, holds a connection (and a file descriptor) for ever. Its
`limit_concurrency` answers 503 only once a request's headers are complete, which a slow
client never reaches. ASGI middleware can't help: the app sees a request after its headers.

A third change: at shutdown uvicorn waits for every response in progress to end, and an event
stream (Server-Sent Events) never ends by itself, so its connection is closed instead (its
client reconnects with `Last-Event-ID`, to another process or after the restart).
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

TIMED_OUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 43\r\nconnection: close\r\n\r\nthe request headers did not arrive in time\n"
)
EVENT_STREAM = "vidgate.event_stream"  # set in the ASGI scope of an event stream's request
BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"retry-after: 1\r\ncontent-length: 37\r\nconnection: close\r\n\r\n"
    b"too many open connections; try again\n"
)


class GuardedHttpProtocol(HttpToolsProtocol):
    """Closes a connection whose request headers take longer than `header_timeout` seconds
    (from the connection, or from the first byte of a later request on it), and turns away a
    connection beyond `max_connections` open ones with a 503."""

    header_timeout: float = 10.0
    max_connections: int = 2048
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            self.transport.write(BUSY)
            self.transport.close()
            return
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_timer is None:  # a later request on a kept-alive connection
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def shutdown(self) -> None:
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete and cycle.scope.get(EVENT_STREAM):
            self.transport.close()  # the app sees a disconnect and ends the stream
            return
        super().shutdown()

    def _arm(self) -> None:
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        # A response still going out for an earlier (pipelined) request must not be cut
        # into: then the connection just closes.
        if self.cycle is None or self.cycle.response_complete:
            self.transport.write(TIMED_OUT)
        self.transport.close()


def guarded_protocol(header_timeout: float, max_connections: int) -> type[GuardedHttpProtocol]:
    """The protocol class uvicorn builds each connection with, set to these limits."""
    limits = {"header_timeout": header_timeout, "max_connections": max_connections}
    return type("GuardedHttpProtocol", (GuardedHttpProtocol,), limits)
