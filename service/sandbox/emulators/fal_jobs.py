"""A request in the fal emulator's queue, and what the emulated video model makes of it.
`service.sandbox.emulators.fal` re-exports `Job`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from service.media.render import RenderSpec
from service.sandbox.emulators.fal_protocol import SIZES, Json, duration_seconds
from service.sandbox.emulators.renders import render_once


@dataclass
class Job:
    id: str
    app: str  # owner/app, without the endpoint sub-path
    input: Json
    webhook: str | None
    submitted: float
    started: float  # leaves the queue
    done_at: float
    problems: list[Json]  # why the model rejects it (pydantic-style `detail`), if it does
    problem_code: int = 422
    outcome: tuple[int, Json] | None = None  # the result's HTTP status and body, once finished
    rendered: bool = False
    outputs: int = 1  # videos the model makes for it (Midjourney: 4)

    def video_name(self, index: int) -> str:
        return f"{self.id}.mp4" if index == 0 else f"{self.id}-{index}.mp4"


async def render(job: Job, data_dir: Path, fps: int) -> None:
    """Render the job's MP4 (in a thread) to `data_dir`; a crash is a 500 model error."""
    ratio = job.input.get("aspect_ratio")
    width, height = SIZES.get(ratio if isinstance(ratio, str) else "", SIZES["16:9"])
    seconds = duration_seconds(job.input.get("duration"))
    seed = job.input.get("seed")
    try:
        for index in range(job.outputs):  # each its own video: the seed moves one per output
            varied = None if seed is None and index == 0 else int(seed or 0) + index
            spec = RenderSpec(width, height, seconds, fps, str(job.input["prompt"]), varied)
            await render_once(spec, data_dir / job.video_name(index))
        job.rendered = True
    except Exception as error:  # the emulated model crashed: a 500 model error
        job.problem_code = 500
        job.problems = [
            {"loc": ["body"], "msg": f"render failed: {error}", "type": "internal_server_error"}
        ]


def result_of(job: Job, base_url: str, data_dir: Path) -> tuple[int, Json] | None:
    """The model's answer (HTTP status and body) for a job whose time is up; None while its
    video is still rendering."""
    if job.problems:
        return job.problem_code, {"detail": job.problems}
    if not job.rendered:
        return None
    files = [_file(job, index, base_url, data_dir) for index in range(job.outputs)]
    seed = job.input.get("seed")
    videos = {"video": files[0]} if job.outputs == 1 else {"videos": files}
    return 200, {**videos, "seed": seed if seed is not None else 42}


def _file(job: Job, index: int, base_url: str, data_dir: Path) -> Json:
    name = job.video_name(index)
    return {
        "url": f"{base_url}/files/{name}",
        "content_type": "video/mp4",
        "file_name": "output.mp4" if index == 0 else f"output_{index}.mp4",
        "file_size": (data_dir / name).stat().st_size,
    }


def progress_logs(job: Job, now: float) -> list[Json]:
    """The log a running video model writes: how far along it is at `now`."""
    span = max(job.done_at - job.submitted, 1e-9)
    percent = min(99, int(100 * (now - job.submitted) / span))
    stamp = datetime.fromtimestamp(now, UTC).isoformat()
    message = f"Generating video: {percent}%"
    return [{"message": message, "level": "INFO", "source": "user", "timestamp": stamp}]
