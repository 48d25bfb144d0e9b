"""Serving an ASGI app with uvicorn inside a running event loop (the sandbox's server).

uvicorn's `Server.serve()` installs its own SIGINT/SIGTERM handlers when run on the main
thread, and its `Config` reconfigures the process-wide logging; `_QuietServer` and
`_QuietConfig` leave both to whoever owns the process (the gateway's own uvicorn, or
`vidgate emulate`).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import uvicorn

GRACE = 2  # seconds open requests (a long poll, a stalled fault) get when the server stops


class _QuietConfig(uvicorn.Config):
    def configure_logging(self) -> None:
        """Leave logging to the host: uvicorn would reconfigure the process-wide "uvicorn.*"
        loggers (even `access_log=False` silences the host's own access log)."""


class _QuietServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the process's signal handlers stay as they are

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.listening.set()


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host:port` (0: a free port), for `serving`."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


@contextlib.asynccontextmanager
async def serving(app: Any, sock: socket.socket) -> AsyncIterator[None]:
    """Serve `app` on the bound `sock` until the block exits (the socket is closed then).

    Requests are logged as the host's "uvicorn.access" logger says (it is process-wide)."""
    config = _QuietConfig(app, lifespan="on", timeout_graceful_shutdown=GRACE)
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="sandbox server")
    listening = asyncio.create_task(server.listening.wait())
    try:
        await asyncio.wait({task, listening}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()  # the server's own error, if it had one
            raise RuntimeError("the sandbox server stopped while starting")
        yield
    finally:
        listening.cancel()
        server.should_exit = True
        await asyncio.gather(task, listening, return_exceptions=True)
        sock.close()
