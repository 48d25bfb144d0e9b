"""How each family of Replicate video models spells its input, matched by `owner/name` prefix
(longest first); a model of no known family gets the shape most share (`DEFAULT`).

From the models' pages and public client code as far as seen (Veo's `image`/`last_frame`,
Kling's `start_image`/`end_image`, MiniMax's `first_frame_image`/`last_frame_image`, Sora's
`seconds` and `input_reference`); the exact enums (Sora's "portrait"/"landscape", Seedance's
`last_frame_image`) are unverified.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ReplicateSchema:
    duration: str | None = "duration"  # the field for seconds (None: the model has none)
    image: str = "image"
    end_image: str | None = None
    aspect_ratio: Mapping[str, str] | bool = True  # True: as recorded; a mapping renames
    resolution: Mapping[str, str] | bool = False
    audio: str | None = None
    fps: bool = False


DEFAULT = ReplicateSchema()
SORA_ASPECTS = {"16:9": "landscape", "9:16": "portrait"}
FAMILIES: dict[str, ReplicateSchema] = {
    "google/veo-2": ReplicateSchema(),
    "google/veo-3.1": ReplicateSchema(
        end_image="last_frame", resolution=True, audio="generate_audio"
    ),
    "google/veo-3": ReplicateSchema(resolution=True, audio="generate_audio"),
    "kwaivgi/kling-v3": ReplicateSchema(
        image="start_image", end_image="end_image", audio="generate_audio"
    ),
    "kwaivgi/kling-v2.6": ReplicateSchema(image="start_image", audio="generate_audio"),
    "kwaivgi/kling": ReplicateSchema(image="start_image", end_image="end_image"),
    "minimax/video-01": ReplicateSchema(None, image="first_frame_image", aspect_ratio=False),
    "minimax/": ReplicateSchema(
        image="first_frame_image",
        end_image="last_frame_image",
        aspect_ratio=False,
        resolution=True,
    ),
    "openai/sora-2": ReplicateSchema(
        "seconds",
        image="input_reference",
        aspect_ratio=SORA_ASPECTS,
        resolution={"720p": "standard", "1024p": "high"},
    ),
    "bytedance/seedance": ReplicateSchema(
        end_image="last_frame_image", resolution=True, audio="generate_audio", fps=True
    ),
    "wan-video/": ReplicateSchema(resolution=True),
    "xai/grok-imagine-video": ReplicateSchema(resolution=True),
    "lightricks/ltx-2": ReplicateSchema(resolution=True, audio="generate_audio", fps=True),
}
_BY_LENGTH = sorted(FAMILIES, key=len, reverse=True)


def schema_for(model: str) -> ReplicateSchema:
    family = next((prefix for prefix in _BY_LENGTH if model.startswith(prefix)), None)
    return FAMILIES[family] if family else DEFAULT
