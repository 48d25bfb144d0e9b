"""Wait for a video to finish with a progress bar fed by its event stream.

The bar moves on each event the server streams (`GET /v1/videos/{id}/events?stream=true`),
so a finished video is seen at once and nothing polls while nothing happens. A dropped
connection resumes from the last event seen (`Last-Event-ID`); a server that streams nothing
(an older vidgate, a proxy that buffers) is polled instead, as its `openai-poll-after-ms`
header asks.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from service.client.api import ClientError, Json, StreamBroken, VideosClient

TERMINAL = frozenset({"completed", "failed", "canceled"})
# Without a hint (a server that sends none) ask about once a second; never hammer it, and
# never sleep so long that a finished video waits on us.
DEFAULT_WAIT, MIN_WAIT, MAX_WAIT = 1.0, 0.05, 10.0
# Streams that break one after another with no new event in between: then we poll instead.
MAX_BROKEN_STREAMS = 5
STATUS_OF_EVENT = {"Completed": "completed", "Failed": "failed", "Canceled": "canceled"}
Sleep = Callable[[float], None]


def wait_for_video(
    client: VideosClient, video: Json, console: Console, sleep: Sleep = time.sleep
) -> Json:
    """Follow the video until it ends; the video as `GET /v1/videos/{id}` then gives it."""
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=False) as bar:
        task = bar.add_task(_label(video["id"], video["status"]), total=100)
        bar.update(task, completed=video.get("progress") or 0)
        if video["status"] not in TERMINAL:
            ended = _followed(client, video["id"], bar, task, sleep)
            video = ended or _polled(client, video, bar, task, sleep)
        bar.update(task, completed=_shown(video), description=_label(video["id"], video["status"]))
    return video


def _followed(
    client: VideosClient, video_id: str, bar: Progress, task: TaskID, sleep: Sleep
) -> Json | None:
    """Move the bar along the stream until the video ends, then the video; None when
    streaming fails."""
    last: str | None = None
    broken = 0
    while broken < MAX_BROKEN_STREAMS:
        if broken:
            sleep(min(0.25 * 2**broken, MAX_WAIT))  # a restarting server: don't hammer it
        try:
            for item in client.follow(video_id, after=last):
                last, broken = str(item["version"]), 0
                _show_event(bar, task, video_id, item)
        except StreamBroken as stream:
            last, broken = stream.last or last, broken + 1
            continue
        except ClientError:
            return None  # e.g. a proxy refusing streams: poll instead
        # The server ended the stream: the video is over, or the server is shutting down.
        video = client.get(video_id)[0]
        if video["status"] in TERMINAL:
            return video
        broken += 1
    return None


def _show_event(bar: Progress, task: TaskID, video_id: str, item: Json) -> None:
    kind, data = item["type"], item.get("data") or {}
    if kind == "Progressed" and isinstance(data.get("percent"), int):
        bar.update(task, completed=data["percent"])
    status = STATUS_OF_EVENT.get(kind, "completed" if kind == "OutputStored" else "in_progress")
    if kind != "Submitted":
        bar.update(task, description=_label(video_id, status))


def _polled(client: VideosClient, video: Json, bar: Progress, task: TaskID, sleep: Sleep) -> Json:
    """Poll `GET /v1/videos/{id}` until the video ends, honouring `openai-poll-after-ms`."""
    wait: float | None = DEFAULT_WAIT
    while video["status"] not in TERMINAL:
        sleep(min(max(DEFAULT_WAIT if wait is None else wait, MIN_WAIT), MAX_WAIT))
        video, wait = client.get(video["id"])
        bar.update(task, completed=video.get("progress") or 0)
        bar.update(task, description=_label(video["id"], video["status"]))
    return video


def _shown(video: Json) -> int:
    return 100 if video["status"] == "completed" else int(video.get("progress") or 0)


def _label(video_id: str, status: str) -> str:
    return f"{video_id} {status}"
