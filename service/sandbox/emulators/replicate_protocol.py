"""Replicate's predictions protocol as the Replicate emulator speaks it: the prediction record,
its JSON object (status, tqdm-style logs, output, metrics), input checks, error bodies and
version ids. Stateless apart from the `Prediction` record; `service.sandbox.emulators.replicate`
re-exports the public names.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.responses import JSONResponse, Response

from service.sandbox.emulators.fal_protocol import SIZES

Json = dict[str, Any]
TERMINAL = ("succeeded", "failed", "canceled")  # never `aborted`: replicate 1.0.7 hangs on it
EVENTS = ("start", "output", "logs", "completed")
MODELS = ("kwaivgi/kling-v2.1", "minimax/video-01", "wan-video/wan-2.2-t2v-fast", "google/veo-3")
STEPS = 50  # the emulated model's denoising steps, as its tqdm bar counts them
ERRORS: dict[str, tuple[int, str, str]] = {  # what the `error_kinds` knobs answer
    "4xx": (402, "Insufficient credit", "You have insufficient credit to run this model."),
    "5xx": (500, "Internal Server Error", "An internal error occurred."),
    "429": (429, "Request was throttled", "Request was throttled. Expected available in 1s."),
    "timeout": (504, "Gateway Timeout", "The request timed out."),
}
FAILURES = (  # what a prediction ends with under `fail_rate`
    "NSFW content detected. Try running it again, or try a different prompt.",
    "CUDA out of memory. Tried to allocate 2.00 GiB",
)


@dataclass
class Prediction:
    id: str
    model: str  # owner/name
    version: str
    input: Json
    webhook: str | None
    events: frozenset[str]
    created: float
    started: float  # leaves `starting`
    done_at: float
    error: str | None = None  # why it will fail (fail_rate, a render crash)
    status: str | None = None  # the terminal status, once it ended
    completed: float | None = None
    rendered: bool = False
    announced: str = "starting"  # the last status a webhook told about
    logs_sent_at: float = -math.inf
    logs_sent: str = ""


def phase(p: Prediction, now: float) -> str:
    """The prediction's status at `now`."""
    return p.status or ("starting" if now < p.started else "processing")


def percent(p: Prediction, now: float) -> int:
    """How far the model has got at `now` (0-99 while processing, 100 once succeeded)."""
    if p.status == "succeeded":
        return 100
    span = max(p.done_at - p.started, 1e-9)
    return max(0, min(99, int(100 * (now - p.started) / span)))


def tqdm_logs(p: Prediction, now: float) -> str:
    """The log a running diffusion model writes: a tqdm bar line every 10 % and the latest."""
    if now < p.started:
        return ""
    top = percent(p, now)
    lines = ["Generating video …"]
    for at in sorted({*range(0, top + 1, 10), top}):
        bar = "█" * (at // 10) + " " * (10 - at // 10)
        lines.append(f"{at:3d}%|{bar}| {STEPS * at // 100}/{STEPS} [00:0{at // 20}<00:05, 9.8it/s]")
    if p.status == "succeeded":
        lines.append("Video written to output.mp4")
    return "\n".join(lines) + "\n"


def prediction_json(p: Prediction, now: float, base_url: str) -> Json:
    """The prediction object Replicate answers with (and posts to webhooks)."""
    status, at = phase(p, now), p.completed if p.completed is not None else now
    urls = {
        "get": f"{base_url}/v1/predictions/{p.id}",
        "cancel": f"{base_url}/v1/predictions/{p.id}/cancel",
        "stream": f"{base_url}/v1/predictions/{p.id}/stream",
    }
    started = p.started if at >= p.started else None
    metrics: Json = {}
    if status == "succeeded":
        metrics = {
            "predict_time": round(p.done_at - p.started, 3),
            "total_time": round(p.done_at - p.created, 3),
        }
    return {
        "id": p.id,
        "model": p.model,
        "version": p.version,
        "input": p.input,
        "logs": tqdm_logs(p, at) if started is not None else "",
        "output": f"{base_url}/files/{p.id}.mp4" if status == "succeeded" else None,
        "data_removed": False,
        "error": p.error if status == "failed" else None,
        "status": status,
        "created_at": iso(p.created),
        "started_at": iso(started) if started is not None else None,
        "completed_at": iso(p.completed) if p.completed is not None else None,
        "urls": urls,
        "metrics": metrics,
    }


def version_of(model: str) -> str:
    """The (stable, emulated) 64-hex version id of a model's latest version."""
    return hashlib.sha256(f"replicate-emulator:{model}".encode()).hexdigest()


def input_problems(data: Any, model: str = "") -> list[Json]:
    """What the model's input schema says about `input` (Replicate checks it at create).

    Most video models share `duration` (whole seconds) and `aspect_ratio`; OpenAI's Sora
    takes `seconds` (4, 8 or 12) and `aspect_ratio` "portrait" / "landscape" instead."""
    if not isinstance(data, dict):
        return [{"type": "type", "field": "input", "description": "input must be an object"}]
    problems, prompt = [], data.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        problems.append(
            {"type": "required", "field": "prompt", "description": "prompt is required"}
        )
    sora = model.startswith("openai/sora")
    name, allowed = ("seconds", (4, 8, 12)) if sora else ("duration", tuple(range(1, 21)))
    duration = data.get(name, allowed[0])
    if isinstance(duration, bool) or duration not in allowed:
        text = (
            "seconds must be one of 4, 8, 12"
            if sora
            else "duration must be an integer from 1 to 20"
        )
        problems.append({"type": "number_one_of", "field": name, "description": text})
    ratios = ("portrait", "landscape") if sora else tuple(SIZES)
    if data.get("aspect_ratio", ratios[0]) not in ratios:
        text = f"aspect_ratio must be one of {', '.join(ratios)}"
        problems.append({"type": "enum", "field": "aspect_ratio", "description": text})
    return problems


def wait_seconds(prefer: str | None, bound: float) -> float:
    """How long a `Prefer: wait[=n]` header asks the create call to block (≤ `bound`)."""
    found = re.fullmatch(r"\s*wait(?:\s*=\s*(\d+))?\s*", prefer or "")
    if not found:
        return 0.0
    return min(bound, float(found.group(1)) if found.group(1) else 60.0)


def iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def problem(code: int, title: str, detail: str, **more: Any) -> Response:
    """Replicate's error shape: `{title, detail, status}` (+ e.g. `invalid_fields`)."""
    headers = {"Content-Type": "application/problem+json"}
    return JSONResponse({"title": title, "detail": detail, "status": code, **more}, code, headers)


def reply(code: int, body: Json) -> Response:
    return JSONResponse(body, status_code=code)
