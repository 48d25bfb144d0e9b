"""The model catalog: which models exist, what they accept, and who serves them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ASPECT_RATIOS: dict[str, tuple[int, int]] = {
    "16:9": (16, 9),
    "9:16": (9, 16),
    "1:1": (1, 1),
    "4:3": (4, 3),
    "3:4": (3, 4),
    "21:9": (21, 9),
}
RESOLUTIONS: dict[str, int] = {"360p": 360, "480p": 480, "540p": 540, "720p": 720, "1080p": 1080}


@dataclass(frozen=True)
class ModelSpec:
    """A model and its capabilities, as requests are validated against them."""

    id: str
    provider: str
    upstream_model: str
    description: str
    modes: tuple[str, ...] = ("text-to-video", "image-to-video")
    seconds_range: tuple[int, int] = (1, 20)
    default_seconds: int = 4
    resolutions: tuple[str, ...] = tuple(RESOLUTIONS)
    aspect_ratios: tuple[str, ...] = tuple(ASPECT_RATIOS)
    default_size: str = "1280x720"
    max_side: int = 1920
    max_pixels: int = 1920 * 1080
    fps_range: tuple[int, int] = (1, 60)
    default_fps: int = 24
    seed: bool = True
    negative_prompt: bool = True
    audio: bool = False
    end_frame: bool = False
    prompt_max_chars: int = 4000
    price_per_second_usd: float = 0.0
    aliases: tuple[str, ...] = field(default=())
    created: int = 1764028800  # 2025-11-25, when the model joined the catalog

    def capabilities(self) -> dict[str, Any]:
        return {
            "modes": list(self.modes),
            "seconds": {
                "min": self.seconds_range[0],
                "max": self.seconds_range[1],
                "default": self.default_seconds,
            },
            "resolutions": list(self.resolutions),
            "aspect_ratios": list(self.aspect_ratios),
            "size": {
                "default": self.default_size,
                "max_side": self.max_side,
                "max_pixels": self.max_pixels,
            },
            "fps": {
                "min": self.fps_range[0],
                "max": self.fps_range[1],
                "default": self.default_fps,
            },
            "seed": self.seed,
            "negative_prompt": self.negative_prompt,
            "audio": self.audio,
            "end_frame": self.end_frame,
            "prompt_max_chars": self.prompt_max_chars,
        }

    def as_json(self) -> dict[str, Any]:
        """The OpenAI model object, plus vidgate's capabilities and pricing."""
        return {
            "id": self.id,
            "object": "model",
            "created": self.created,
            "owned_by": self.provider,
            "description": self.description,
            "aliases": list(self.aliases),
            "providers": [self.provider],
            "capabilities": self.capabilities(),
            "pricing": {"per_second_usd": self.price_per_second_usd},
        }


LOCAL_PREVIEW = ModelSpec(
    id="local-preview",
    provider="local",
    upstream_model="local-preview",
    description="Built-in CPU renderer: a moving scene drawn from the prompt, or a pan/zoom "
    "of the input image. Free, offline, deterministic for a given seed.",
    aliases=("local",),
)


class Catalog:
    """Looks models up by id or alias."""

    def __init__(self, models: list[ModelSpec]) -> None:
        self.models = list(models)
        self._by_name = {name: m for m in models for name in (m.id, *m.aliases)}

    def resolve(self, name: str) -> ModelSpec | None:
        return self._by_name.get(name)

    @property
    def default(self) -> ModelSpec:
        return self.models[0]

    def names(self) -> list[str]:
        return [m.id for m in self.models]


def default_catalog() -> Catalog:
    return Catalog([LOCAL_PREVIEW])
