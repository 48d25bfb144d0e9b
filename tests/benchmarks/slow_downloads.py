"""A TCP proxy on 127.0.0.1 in front of the emulators that makes video downloads crawl.

The emulators hand out URLs of their own port (files to download); the proxy rewrites them to
its own (a port of as many digits: the lengths in the headers stay right), so downloads
come through it too. Everything passes at full speed, except a response carrying
`video/mp4`: the first `slow` of them drip `chunk` bytes every `every` seconds, so an
output mirror copy is still in progress when the gateway is told to stop. Later ones pass
at full speed (a restarted gateway's copy completes). It runs its own event loop in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from servers import HOST, free_port

CHUNK = 65536


class SlowDownloads:
    def __init__(self, target_port: int, *, slow: int = 1, every: float = 0.5, chunk: int = 64):
        self.target_port, self.port = target_port, free_port()
        while len(str(self.port)) != len(str(target_port)):
            self.port = free_port()
        self._theirs = f"{HOST}:{target_port}".encode()
        self._ours = f"{HOST}:{self.port}".encode()
        self.slow, self.every, self.chunk = slow, every, chunk
        self.dripping = 0  # video responses being dripped right now
        self.dripped = 0  # video responses that were (or are being) dripped
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    def start(self) -> None:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        future.result(10)

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._serve, HOST, self.port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(HOST, self.target_port)
        except OSError:
            writer.close()
            return
        with contextlib.suppress(Exception):
            await asyncio.gather(
                self._pipe(reader, up_writer, downstream=False),
                self._pipe(up_reader, writer, downstream=True),
            )
        for w in (writer, up_writer):
            w.close()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, downstream: bool
    ) -> None:
        drip = False
        try:
            while data := await reader.read(CHUNK):
                if downstream:
                    data = data.replace(self._theirs, self._ours)
                if downstream and not drip and b"video/mp4" in data and self.dripped < self.slow:
                    drip, self.dripped, self.dripping = True, self.dripped + 1, self.dripping + 1
                if not drip:
                    writer.write(data)
                    await writer.drain()
                    continue
                for start in range(0, len(data), self.chunk):
                    writer.write(data[start : start + self.chunk])
                    await writer.drain()
                    await asyncio.sleep(self.every)
        finally:
            if drip:
                self.dripping -= 1
            with contextlib.suppress(Exception):
                writer.close()


@contextmanager
def slow_downloads(target_port: int, **knobs: float) -> Iterator[SlowDownloads]:
    proxy = SlowDownloads(target_port, **knobs)  # type: ignore[arg-type]
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
