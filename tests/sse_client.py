"""A small Server-Sent Events reader for tests: the frames of a streaming httpx response."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Frame:
    """One event (`id` and `data`) or one comment (a heartbeat, the opening line)."""

    id: str | None = None
    data: dict[str, Any] | None = None
    comment: str | None = None


def frames(response: httpx.Response) -> Iterator[Frame]:
    """Every frame the server sends, in order, until it ends the stream."""
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if line.startswith(":"):
            yield Frame(comment=line[1:].strip())
        elif line:
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        elif fields:
            yield Frame(id=fields.get("id"), data=json.loads(fields["data"]))
            fields = {}


def events(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """The events' data, checking each frame's id against its item (version or position)."""
    for frame in frames(response):
        if frame.data is not None:
            key = "position" if "position" in frame.data else "version"
            assert frame.id == str(frame.data[key]), frame
            yield frame.data


def stream_headers(key: str, last_event_id: int | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}", "Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    return headers
