"""Server-Sent Events: which requests want a stream, how an event is framed, and the loop
that follows a source while the process's `JobWatch` wakes it.

A plain `StreamingResponse` rather than sse-starlette: the loop already owns the only timer a
stream needs (the heartbeat is the timeout of its wait for a wake), Starlette's response
already ends the stream when the client leaves, and the server's shutdown closes streams in
`service.web.protocol`, where uvicorn's own connections are. sse-starlette would add a ping
task and a shutdown watcher per stream, and a dependency, for what is ~60 lines here.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import StreamingResponse

from service.surfaces.errors import invalid
from service.web.protocol import EVENT_STREAM

MEDIA_TYPE = "text/event-stream"
STREAM_VALUES = {"true": True, "false": False}
MAX_EVENT_ID = 2**63 - 1


class Source(Protocol):
    """What a stream follows: `news()` yields the frames of what is new since it last ran;
    `over` says, after it ran, that nothing more will come."""

    over: bool

    def news(self) -> AsyncIterator[bytes]: ...


def wants_stream(request: Request) -> bool:
    """`Accept: text/event-stream`, or `?stream=true` (which wins: `false` asks for JSON)."""
    raw = request.query_params.get("stream")
    if raw is not None:
        if raw.lower() not in STREAM_VALUES:
            raise invalid("stream", "stream must be true or false")
        return STREAM_VALUES[raw.lower()]
    return MEDIA_TYPE in request.headers.get("accept", "").lower()


def last_event_id(request: Request) -> int | None:
    """The `Last-Event-ID` a reconnecting client sends: the id of the last event it got."""
    raw = request.headers.get("last-event-id")
    if raw is None or not raw.strip():
        return None
    raw = raw.strip()
    if not (raw.isascii() and raw.isdecimal() and len(raw) <= 20) or int(raw) > MAX_EVENT_ID:
        raise invalid("Last-Event-ID", "Last-Event-ID must be the id of an event of this stream")
    return int(raw)


def frame(event_id: int, data: dict[str, Any]) -> bytes:
    """One event. No `event:` name: every event is a `message`, its `type` is in the data
    (a browser's `EventSource.onmessage` sees them all)."""
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"id: {event_id}\ndata: {body}\n\n".encode()


def comment(text: str) -> bytes:
    return f": {text}\n\n".encode()


def event_stream(request: Request, body: AsyncIterator[bytes]) -> StreamingResponse:
    """The response: never cached or buffered by a proxy; marked for the server's shutdown,
    which closes it (a stream has no end of its own; the client reconnects elsewhere)."""
    request.scope[EVENT_STREAM] = True
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(body, media_type=MEDIA_TYPE, headers=headers)


async def follow(
    changed: asyncio.Event, source: Source, heartbeat: float, opening: str
) -> AsyncIterator[bytes]:
    """Send what `source` has, then sleep until `changed` is set (sending a heartbeat every
    `heartbeat` seconds meanwhile), until the source is over. The client leaving cancels it
    (Starlette's response listens for that)."""
    yield comment(opening)  # the headers and a first byte go out at once: the stream is live
    while True:
        changed.clear()  # before reading: a change while reading wakes the next wait
        async for data in source.news():
            yield data
        if source.over:
            return
        try:
            async with asyncio.timeout(heartbeat):
                await changed.wait()
        except TimeoutError:
            yield comment("keep-alive")
