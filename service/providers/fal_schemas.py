"""How each family of fal video endpoints spells its input: duration ("5", "8s" or 5),
which image fields it has, whether it takes a resolution, an audio switch, fps.

fal hosts each vendor's model behind its own pydantic schema. The families here are matched
by endpoint-id prefix (longest first); an endpoint of no known family gets the shape most of
them share (`DEFAULT`). Sources: fal's model pages (`fal.ai/models/<id>/llms.txt`) for Veo 3 /
3.1 ("4s"/"6s"/"8s"), Kling 2.5 Turbo ("5"/"10", `tail_image_url`), Kling 3
(`start_image_url`/`end_image_url`, `generate_audio`), Wan 2.6, LTX-2 (integer seconds, `fps`),
Veo 3.1's `…/first-last-frame-to-video` endpoints (their fields `first_frame_url` and
`last_frame_url` are unverified);
public client code for the rest. Unverified: Sora's "1080p" for the 1792x1024 frame, Pixverse's
`generate_audio_switch`, Luma's and Hailuo's `end_image_url`, Grok's integer duration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


def _text(seconds: int) -> Any:
    return str(seconds)


def _suffixed(seconds: int) -> Any:
    return f"{seconds}s"


def _number(seconds: int) -> Any:
    return seconds


@dataclass(frozen=True)
class FalSchema:
    duration: Callable[[int], Any] | None = _text  # None: the endpoint has no duration
    image: str = "image_url"
    end_image: str | None = None  # None: the endpoint takes no last frame
    aspect_ratio: bool = True
    resolution: Mapping[str, str] | bool = False  # True: as recorded; a mapping renames
    audio: str | None = None  # the name of the endpoint's audio switch
    fps: bool = False
    # an endpoint for first + last frame, in place of `…/image-to-video`, and its two fields
    frames_endpoint: tuple[str, str, str] | None = None


DEFAULT = FalSchema()
FAMILIES: dict[str, FalSchema] = {
    "fal-ai/veo3.1": FalSchema(
        _suffixed,
        resolution=True,
        audio="generate_audio",
        frames_endpoint=("first-last-frame-to-video", "first_frame_url", "last_frame_url"),
    ),
    "fal-ai/veo3": FalSchema(_suffixed, resolution=True, audio="generate_audio"),
    "fal-ai/veo2": FalSchema(_suffixed),
    "fal-ai/kling-video/v3": FalSchema(
        image="start_image_url", end_image="end_image_url", audio="generate_audio"
    ),
    "fal-ai/kling-video/v2.6": FalSchema(audio="generate_audio"),
    "fal-ai/kling-video": FalSchema(end_image="tail_image_url"),
    "fal-ai/minimax/video-01": FalSchema(None, aspect_ratio=False),
    "fal-ai/minimax/hailuo": FalSchema(end_image="end_image_url", aspect_ratio=False),
    "fal-ai/luma-dream-machine": FalSchema(_suffixed, end_image="end_image_url", resolution=True),
    "fal-ai/sora-2": FalSchema(_number, resolution={"720p": "720p", "1024p": "1080p"}),
    "fal-ai/bytedance/seedance/v1.5": FalSchema(
        end_image="end_image_url", resolution=True, audio="generate_audio"
    ),
    "fal-ai/bytedance/seedance": FalSchema(end_image="end_image_url", resolution=True),
    "bytedance/seedance-2.0": FalSchema(
        end_image="end_image_url", resolution=True, audio="generate_audio"
    ),
    "fal-ai/wan-25-preview": FalSchema(resolution=True),
    "wan/v2.6/image-to-video/flash": FalSchema(resolution=True, audio="generate_audio"),
    "wan/v2.6": FalSchema(resolution=True),
    "fal-ai/wan-pro": FalSchema(None, aspect_ratio=False),
    "xai/grok-imagine-video": FalSchema(_number, resolution=True),
    "fal-ai/pixverse": FalSchema(resolution=True, audio="generate_audio_switch"),
    "fal-ai/ltx-2": FalSchema(_number, resolution=True, audio="generate_audio", fps=True),
}
_BY_LENGTH = sorted(FAMILIES, key=len, reverse=True)


def schema_for(endpoint: str) -> FalSchema:
    """The input schema of the endpoint's family (`DEFAULT` for an unknown one)."""
    family = next((prefix for prefix in _BY_LENGTH if endpoint.startswith(prefix)), None)
    return FAMILIES[family] if family else DEFAULT
