"""What every emulator shares: background work it owns, and how it becomes an ASGI app."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine, Sequence
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.routing import BaseRoute


class BackgroundTasks:
    """Work an emulator starts after answering (renders, webhooks); cancelled on close."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


class Closable(Protocol):
    async def aclose(self) -> None: ...


def emulator_app(emulator: Closable, routes: Sequence[BaseRoute]) -> Starlette:
    """The emulator's routes as an app that closes it on shutdown (`app.state.emulator`)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await emulator.aclose()

    app = Starlette(routes=list(routes), lifespan=lifespan)
    app.state.emulator = emulator
    return app
