"""A slow image host on 127.0.0.1: it answers 200 and then drips one byte every `every`
seconds, forever (or serves a real image at once when `dripping` is off).

It runs its own event loop in a thread, so async tests, TestClient tests and `vidgate`
processes can all fetch from it. It counts the connections it has open: a test sees that
a fetch was started (`opened`) and that the fetcher let go of it (`open == 0`).
"""

from __future__ import annotations

import asyncio
import io
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image

from tests.helpers import wait_for


def _png() -> bytes:
    image, out = Image.new("RGB", (16, 9), (200, 80, 40)), io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


PNG = _png()


class DripServer:
    def __init__(self, every: float) -> None:
        self.every = every
        self.dripping = True
        self.opened = 0
        self.open = 0
        self.url = ""
        self.handlers: set[asyncio.Task[object]] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.opened += 1
        self.open += 1
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        try:
            await reader.readuntil(b"\r\n\r\n")
            if not self.dripping:
                head = f"HTTP/1.1 200 OK\r\ncontent-type: image/png\r\ncontent-length: {len(PNG)}"
                writer.write(head.encode() + b"\r\nconnection: close\r\n\r\n" + PNG)
                await writer.drain()
                return
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: image/png\r\n\r\n")
            while True:  # no length, no end: only the fetcher can end this
                writer.write(PNG[:1])
                await writer.drain()
                await asyncio.sleep(self.every)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.open -= 1
            self.handlers.discard(task)
            writer.close()

    def wait_opened(self, count: int = 1, timeout: float = 30.0) -> None:
        wait_for(lambda: self.opened >= count, timeout)

    def wait_all_closed(self, timeout: float = 30.0) -> None:
        wait_for(lambda: self.open == 0, timeout)


@contextmanager
def drip_server(every: float = 0.05) -> Iterator[DripServer]:
    """Serve a `DripServer` on a free port of 127.0.0.1 until the block ends."""
    server = DripServer(every)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server.url = f"http://127.0.0.1:{sock.getsockname()[1]}/slow.png"
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stopping: asyncio.Future[None] | None = None

    async def serve() -> None:
        nonlocal stopping
        stopping = loop.create_future()
        listener = await asyncio.start_server(server.handle, sock=sock)
        ready.set()
        async with listener:
            await stopping
            for handler in list(server.handlers):  # they drip forever otherwise
                handler.cancel()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield server
    finally:
        assert stopping is not None
        loop.call_soon_threadsafe(stopping.set_result, None)
        thread.join(10)
        loop.close()
