"""Luma Dream Machine's generations protocol as the Luma emulator speaks it: request checks,
error bodies, the generation object, and callback delivery (unsigned, 3 tries 100 ms apart,
plus the `webhook_*` knobs). `service.sandbox.emulators.luma` re-exports the public names.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.responses import JSONResponse, Response

from service.sandbox.emulators.knobs import Knobs

Json = dict[str, Any]
MODELS = ("ray-2", "ray-flash-2", "ray-1-6")
RATIOS = ("1:1", "16:9", "9:16", "4:3", "3:4", "21:9", "9:21")
RESOLUTIONS = ("540p", "720p", "1080p", "4k")
DURATIONS = {"5s": 5.0, "9s": 9.0}
SIZES = {"16:9": (160, 90), "9:16": (90, 160), "1:1": (96, 96), "4:3": (128, 96),
         "3:4": (96, 128), "21:9": (224, 96), "9:21": (96, 224)}  # fmt: skip  # tiny renders
ERRORS: dict[str, tuple[int, Json]] = {  # what the `error_kinds` knobs answer (unverified texts)
    "4xx": (400, {"detail": "Insufficient credits"}),
    "5xx": (500, {"detail": "Internal server error"}),
    "429": (429, {"detail": "Too many requests, please slow down"}),
    "timeout": (504, {"detail": "Gateway timeout"}),
}
FAILURES = (  # `failure_reason`s under `fail_rate` (unverified wording)
    "400: prompt not allowed because advanced moderation failed",
    "Generation failed due to an internal error, please try again",
)
CALLBACK_RETRY_DELAYS = (0.1, 0.1)  # Luma: 3 tries, 100 ms apart
CALLBACK_TIMEOUT = 5.0
REORDER_HOLD = 1.0  # a held-back callback goes out after this long if nothing overtakes it


@dataclass
class Generation:
    id: str
    request: Json
    callback_url: str | None
    created: float
    started: float  # queued → dreaming
    done_at: float  # dreaming → completed | failed
    failure: str | None = None  # why it will fail, if it will
    kind: str = "video"  # `generation_type`: video, or modify_video
    state: str = "queued"
    rendered: bool = False
    deleted: bool = False


def validate(data: Any) -> str | None:
    """What Luma's request validation says about a video generation body (None: fine).
    Unverified: Luma's exact wording and status code (we answer 400 with a string `detail`)."""
    if not isinstance(data, dict):
        return "Request body must be a JSON object"
    checks = (
        (data.get("model") not in MODELS, f"model must be one of {', '.join(MODELS)}"),
        (not isinstance(data.get("prompt", ""), str), "prompt must be a string"),
        (
            data.get("aspect_ratio", "16:9") not in RATIOS,
            f"aspect_ratio must be one of {', '.join(RATIOS)}",
        ),
        (
            data.get("resolution", "720p") not in RESOLUTIONS,
            f"resolution must be one of {', '.join(RESOLUTIONS)}",
        ),
        (data.get("duration", "5s") not in DURATIONS, "duration must be one of 5s, 9s"),
        (not isinstance(data.get("loop", False), bool), "loop must be a boolean"),
        (data.get("generation_type", "video") != "video", "generation_type must be video"),
        (not isinstance(data.get("callback_url", ""), str), "callback_url must be a string"),
    )
    for failed, message in checks:
        if failed:
            return message
    return _keyframes_problem(data.get("keyframes"))


MODIFY_MODELS = ("ray-2", "ray-flash-2")
MODIFY_MODES = tuple(f"{kind}_{n}" for kind in ("adhere", "flex", "reimagine") for n in (1, 2, 3))


def validate_modify(data: Any) -> str | None:
    """What Luma's validation says about a modify-video body (`lumaai`'s
    `VideoModifyParams`: generation_type, media {url}, mode, model; prompt, callback_url and
    first_frame {url} optional). Unverified, as `validate`: the wording and the 400."""
    if not isinstance(data, dict):
        return "Request body must be a JSON object"
    media, first = data.get("media"), data.get("first_frame", {"url": "https://x"})
    checks = (
        (data.get("generation_type") != "modify_video", "generation_type must be modify_video"),
        (
            data.get("model") not in MODIFY_MODELS,
            f"model must be one of {', '.join(MODIFY_MODELS)}",
        ),
        (not _is_url(media), "media must be {url} of a video"),
        (data.get("mode") not in MODIFY_MODES, f"mode must be one of {', '.join(MODIFY_MODES)}"),
        (not isinstance(data.get("prompt", ""), str), "prompt must be a string"),
        (not isinstance(data.get("callback_url", ""), str), "callback_url must be a string"),
        (not _is_url(first), "first_frame must be {url} of an image"),
    )
    return next((message for failed, message in checks if failed), None)


def _is_url(media: Any) -> bool:
    url = media.get("url") if isinstance(media, dict) else None
    return isinstance(url, str) and url.startswith(("http://", "https://"))


def _keyframes_problem(keyframes: Any) -> str | None:
    if keyframes is None:
        return None
    if not isinstance(keyframes, dict) or set(keyframes) - {"frame0", "frame1"}:
        return "keyframes may only hold frame0 and frame1"
    for name, frame in keyframes.items():
        kind = frame.get("type") if isinstance(frame, dict) else None
        if kind == "image" and str(frame.get("url", "")).startswith(("http://", "https://")):
            continue
        if kind == "generation" and isinstance(frame.get("id"), str) and frame["id"]:
            continue
        return f"keyframes.{name} must be {{type: image, url}} or {{type: generation, id}}"
    return None


def generation_body(gen: Generation, assets_base: str) -> Json:
    """The generation object Luma answers with (and posts to callbacks)."""
    done = gen.state == "completed"
    assets = (
        {
            "video": f"{assets_base}/files/{gen.id}.mp4",
            "image": f"{assets_base}/files/{gen.id}.jpg",
            "progress_video": None,
        }
        if done
        else None
    )
    return {
        "id": gen.id,
        "generation_type": gen.kind,
        "state": gen.state,
        "failure_reason": gen.failure if gen.state == "failed" else None,
        "created_at": datetime.fromtimestamp(gen.created, UTC).isoformat().replace("+00:00", "Z"),
        "assets": assets,
        "model": gen.request["model"],
        "request": {"generation_type": gen.kind, **gen.request},
    }


def reply(code: int, body: Json, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=code, headers=headers)


Delivery = tuple[str, bytes, int]  # url, body, copies


class CallbackSender:
    """Posts generation objects to callback URLs as Luma does, as unreliably as the knobs say."""

    def __init__(
        self, knobs: Knobs, http: httpx.AsyncClient | None, retry_delays: Sequence[float]
    ) -> None:
        self.knobs, self.retry_delays = knobs, tuple(retry_delays)
        self.http, self._own_http = http, http is None
        self._parked: Delivery | None = None

    async def aclose(self) -> None:
        if self._own_http and self.http is not None:
            await self.http.aclose()

    async def deliver(self, url: str, generation: Json) -> None:
        knobs, raw = self.knobs, json.dumps(generation).encode()
        if knobs.chance(knobs.webhook_loss):
            return
        copies = 2 if knobs.chance(knobs.webhook_duplicate) else 1
        if knobs.webhook_delay > 0:
            await asyncio.sleep(knobs.webhook_delay)
        delivery = (url, raw, copies)
        if self._parked is None and knobs.chance(knobs.webhook_reorder):
            self._parked = delivery
            await asyncio.sleep(REORDER_HOLD)
            if self._parked is delivery:  # nothing overtook it in time
                self._parked = None
                await self._post(*delivery)
            return
        await self._post(*delivery)
        parked, self._parked = self._parked, None
        if parked is not None:
            await self._post(*parked)

    async def _post(self, url: str, body: bytes, copies: int) -> None:
        """Post `copies` copies; on failure try again after each retry delay (no signature)."""
        self.http = self.http or httpx.AsyncClient()
        headers = {"Content-Type": "application/json"}
        for delay in (0.0, *self.retry_delays):
            if delay:
                await asyncio.sleep(delay)
            with contextlib.suppress(httpx.HTTPError):
                answers = [
                    await self.http.post(
                        url, content=body, headers=headers, timeout=CALLBACK_TIMEOUT
                    )
                    for _ in range(copies)
                ]
                if any(answer.is_success for answer in answers):
                    return
