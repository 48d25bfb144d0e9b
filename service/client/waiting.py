"""Wait for a video to finish, polling as the server hints, with a progress bar."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from service.client.api import Json, VideosClient

TERMINAL = frozenset({"completed", "failed", "canceled"})
# Without a hint (a server that sends none) ask about once a second; never hammer it, and
# never sleep so long that a finished video waits on us.
DEFAULT_WAIT, MIN_WAIT, MAX_WAIT = 1.0, 0.05, 10.0


def wait_for_video(
    client: VideosClient,
    video: Json,
    console: Console,
    sleep: Callable[[float], None] = time.sleep,
) -> Json:
    """Poll `GET /v1/videos/{id}` until the video ends, honouring `openai-poll-after-ms`."""
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=False) as bar:
        task = bar.add_task(_label(video), total=100, completed=video.get("progress") or 0)
        wait: float | None = DEFAULT_WAIT
        while video["status"] not in TERMINAL:
            sleep(min(max(DEFAULT_WAIT if wait is None else wait, MIN_WAIT), MAX_WAIT))
            video, wait = client.get(video["id"])
            bar.update(task, completed=video.get("progress") or 0, description=_label(video))
    return video


def _label(video: Json) -> str:
    return f"{video['id']} {video['status']}"
