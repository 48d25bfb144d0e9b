"""What a catalog entry is: a model's capabilities, its price and the routes that serve it."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

T2V, I2V, V2V = "text-to-video", "image-to-video", "video-to-video"
MODES = (T2V, I2V, V2V)
ASPECT_RATIOS: dict[str, tuple[int, int]] = {
    "16:9": (16, 9),
    "9:16": (9, 16),
    "1:1": (1, 1),
    "4:3": (4, 3),
    "3:4": (3, 4),
    "3:2": (3, 2),
    "2:3": (2, 3),
    "21:9": (21, 9),
    "9:21": (9, 21),
}
RESOLUTIONS: dict[str, int] = {  # name → short side in pixels
    "360p": 360,
    "480p": 480,
    "512p": 512,
    "540p": 540,
    "720p": 720,
    "768p": 768,
    "1024p": 1024,
    "1080p": 1080,
    "1440p": 1440,
    "2160p": 2160,
    "4k": 2160,
}
# Who can serve a route, and the settings that enable each (`service.settings` reads them).
# Names are the adapters' (`Provider.name`): Vertex AI Veo is "vertex-veo".
PROVIDER_KEYS: dict[str, tuple[str, ...]] = {
    "local": (),
    "veo": ("VIDGATE_GEMINI_API_KEY",),
    "vertex-veo": ("VIDGATE_VERTEX_API_KEY", "VIDGATE_VERTEX_PROJECT"),
    "fal": ("VIDGATE_FAL_KEY", "VIDGATE_FAL_USER_ID"),
    "replicate": ("VIDGATE_REPLICATE_API_TOKEN",),
    "minimax": ("VIDGATE_MINIMAX_API_KEY",),
    "luma": ("VIDGATE_LUMA_API_KEY",),
    "runway": ("VIDGATE_RUNWAY_API_KEY",),
    "sora": ("VIDGATE_OPENAI_API_KEY",),
    "kling": ("VIDGATE_KLING_ACCESS_KEY", "VIDGATE_KLING_SECRET_KEY"),
    "seedance": ("VIDGATE_ARK_API_KEY",),
}
PROVIDERS = tuple(PROVIDER_KEYS)
CREATED = 1764028800  # 2025-11-25, when the catalog was written


def frame_size(resolution: str, aspect_ratio: str) -> tuple[int, int]:
    """The frame a resolution (short side) and an aspect ratio give, long side rounded to
    the nearest even number: 720p 16:9 → 1280x720, 480p 9:16 → 480x854."""
    short = RESOLUTIONS[resolution]
    w, h = ASPECT_RATIOS[aspect_ratio]
    long_side = round(short * max(w, h) / min(w, h) / 2) * 2
    return (long_side, short) if w >= h else (short, long_side)


def spell(values: Iterable[Any]) -> str:
    """Allowed values for an error message: "4, 6, 8", or "1 to 20" for a long run."""
    items = list(values)
    integers = len(items) > 4 and all(isinstance(i, int) for i in items)
    if integers and items == list(range(items[0], items[-1] + 1)):
        return f"{items[0]} to {items[-1]}"
    return ", ".join(map(str, items))


@dataclass(frozen=True)
class Route:
    """One way to run a model: a provider adapter and the upstream model (endpoint) it calls.

    `image_model` is the endpoint for requests with an image, for upstreams that split text-
    and image-to-video into two endpoints (fal's `…/image-to-video`, Ark's `…-i2v-…` ids).
    `lacks`: what the model offers but this route cannot pass on (`seed`; `audio`: sound
    other than the model's default) — a request that asks for it takes another route, or is
    refused, and is never sent here without it.
    `video_model`: the model that transforms a source video, on routes that can (Luma's own
    API: `ray-2` through `/generations/video/modify`); None: this route cannot."""

    provider: str
    model: str
    image_model: str | None = None
    lacks: frozenset[str] = frozenset()
    video_model: str | None = None

    def __post_init__(self) -> None:
        if self.provider not in PROVIDER_KEYS:
            raise ValueError(f"unknown provider {self.provider!r}")

    def upstream_model(self, has_image: bool, has_video: bool = False) -> str:
        if has_video and self.video_model:
            return self.video_model
        return self.image_model if has_image and self.image_model else self.model

    def as_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "model": self.model,
            "image_model": self.image_model,
            "video_model": self.video_model,
        }


@dataclass(frozen=True, kw_only=True, eq=False)
class ModelSpec:
    """A model, what requests for it may ask, what it costs, and who serves it.

    Durations, fps values, resolutions and aspect ratios are discrete lists; the frame size
    follows from resolution × aspect ratio (`frame_size`, or `sizes` where the upstream's
    frames differ, e.g. Sora's 1792x1024). `free_size` models (the built-in renderer) take
    any even size within `max_side` / `max_pixels` instead."""

    id: str
    name: str
    description: str
    owned_by: str  # who makes the model: google, kuaishou, minimax, …
    routes: tuple[Route, ...]  # in preference order
    aliases: tuple[str, ...] = ()
    modes: tuple[str, ...] = (T2V, I2V)
    durations: tuple[int, ...]
    default_seconds: int
    durations_by_resolution: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    resolutions: tuple[str, ...]
    default_resolution: str
    aspect_ratios: tuple[str, ...] = ("16:9", "9:16")
    default_aspect_ratio: str = "16:9"
    sizes: Mapping[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    fps: tuple[int, ...] = (24,)
    default_fps: int = 24
    audio: bool = False  # generates a soundtrack
    audio_default: bool | None = None  # whether it does unless asked (default: `audio`)
    end_frame: bool = False  # takes a last-frame image
    negative_prompt: bool = False
    seed: bool = False
    prompt_optimizer: bool = False  # MiniMax rewrites prompts unless this is turned off
    loop: bool = False  # Luma: a clip whose last frame leads back into its first
    styles: tuple[str, ...] = ()  # named looks the model renders in (Pixverse: anime, clay …)
    # Quality tiers by their vendor's names, each the resolution that selects it (Kling:
    # std = 720p, pro = 1080p); a model offers the tiers whose resolution it renders.
    quality_levels: Mapping[str, str] = field(default_factory=dict)
    prompt_max_chars: int = 4000
    # Seconds a render usually takes upstream: the poller's progress estimate for upstreams
    # that report none (Veo) grows towards it. 90 s sits in the ranges the seeds quote
    # (NovaKit: 30-120 s; Concurred: 1-3 minutes); a model that is known to differ says so.
    render_seconds: float = 90.0
    price_per_second_usd: float = 0.0
    price_by_resolution: Mapping[str, float] = field(default_factory=dict)
    twin: str | None = None  # the image-to-video model an image switches to
    free_size: bool = False
    default_size: str = "1280x720"  # free_size models only
    max_side: int = 1920
    max_pixels: int = 1920 * 1080
    created: int = CREATED

    def __post_init__(self) -> None:
        problems = [
            (not set(self.modes) <= set(MODES), f"modes {self.modes}"),
            (
                self.default_seconds not in self.durations_for(self.default_resolution),
                "default_seconds",
            ),
            (self.default_fps not in self.fps, "default_fps"),
            (self.default_resolution not in self.resolutions, "default_resolution"),
            (self.default_aspect_ratio not in self.aspect_ratios, "default_aspect_ratio"),
            (not set(self.resolutions) <= set(RESOLUTIONS), "resolutions"),
            (not set(self.aspect_ratios) <= set(ASPECT_RATIOS), "aspect_ratios"),
        ]
        bad = [what for failed, what in problems if failed]
        if bad:
            raise ValueError(f"catalog entry {self.id}: bad {', '.join(bad)}")

    @property
    def default_audio(self) -> bool:
        return self.audio if self.audio_default is None else self.audio_default

    def offered_quality_levels(self) -> dict[str, str]:
        """Quality level → the resolution that selects it, for the resolutions offered."""
        return {level: res for level, res in self.quality_levels.items() if res in self.resolutions}

    @property
    def takes_text(self) -> bool:
        """Whether it renders from a prompt alone."""
        return T2V in self.modes

    @property
    def takes_image(self) -> bool:
        return I2V in self.modes

    @property
    def takes_video(self) -> bool:
        """Whether it transforms a source video (on the routes with a `video_model`)."""
        return V2V in self.modes

    def durations_for(self, resolution: str | None) -> tuple[int, ...]:
        """The clip lengths offered at `resolution` (some run only short at high ones)."""
        return self.durations_by_resolution.get(resolution or "", self.durations)

    def size_for(self, resolution: str, aspect_ratio: str) -> tuple[int, int]:
        return self.sizes.get((resolution, aspect_ratio)) or frame_size(resolution, aspect_ratio)

    def frame_sizes(self) -> dict[str, tuple[str, str]]:
        """Every frame this model renders, "WxH" → (resolution, aspect ratio)."""
        found: dict[str, tuple[str, str]] = {}
        for resolution in self.resolutions:
            for aspect in self.aspect_ratios:
                width, height = self.size_for(resolution, aspect)
                found.setdefault(f"{width}x{height}", (resolution, aspect))
        return found

    def price_for(self, resolution: str | None) -> float:
        """List price in USD per second of video at `resolution`."""
        return self.price_by_resolution.get(resolution or "", self.price_per_second_usd)

    def route(
        self, enabled: Collection[str], needs: Collection[str] = (), *, video: bool = False
    ) -> Route | None:
        """The first route whose provider is enabled on this gateway, which passes on
        everything in `needs` (see `Route.lacks`) and, for a source video, can transform one."""
        fits = (
            route
            for route in self.routes
            if route.provider in enabled
            and not route.lacks.intersection(needs)
            and (route.video_model or not video)
        )
        return next(fits, None)

    @property
    def providers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(route.provider for route in self.routes))

    def capabilities(self) -> dict[str, Any]:
        seconds = {
            "allowed": list(self.durations),
            "default": self.default_seconds,
            "min": min(self.durations),
            "max": max(self.durations),
        }
        if self.durations_by_resolution:
            seconds["by_resolution"] = {r: list(d) for r, d in self.durations_by_resolution.items()}
        size: dict[str, Any] = {"allowed": list(self.frame_sizes())}
        if self.free_size:
            size = {
                "default": self.default_size,
                "max_side": self.max_side,
                "max_pixels": self.max_pixels,
            }
        return {
            "modes": list(self.modes),
            "seconds": seconds,
            "resolutions": list(self.resolutions),
            "default_resolution": self.default_resolution,
            "aspect_ratios": list(self.aspect_ratios),
            "default_aspect_ratio": self.default_aspect_ratio,
            "size": size,
            "fps": {
                "allowed": list(self.fps),
                "default": self.default_fps,
                "min": min(self.fps),
                "max": max(self.fps),
            },
            "audio": self.audio,
            "audio_default": self.default_audio,
            "end_frame": self.end_frame,
            "negative_prompt": self.negative_prompt,
            "seed": self.seed,
            "prompt_optimizer": self.prompt_optimizer,
            "loop": self.loop,
            "styles": list(self.styles),
            "quality_levels": self.offered_quality_levels(),
            "prompt_max_chars": self.prompt_max_chars,
            "twin": self.twin,
        }

    def pricing(self) -> dict[str, Any]:
        by_resolution = {r: self.price_for(r) for r in self.resolutions}
        return {
            "per_second_usd": self.price_per_second_usd,
            "currency": "USD",
            "per_second_usd_by_resolution": by_resolution,
        }

    def as_json(self, enabled: Collection[str]) -> dict[str, Any]:
        """The OpenAI model object, plus capabilities, pricing and routes; `provider` is the
        route that would serve a request now (null when no provider for it is enabled)."""
        route = self.route(enabled)
        return {
            "id": self.id,
            "object": "model",
            "created": self.created,
            "owned_by": self.owned_by,
            "name": self.name,
            "description": self.description,
            "aliases": list(self.aliases),
            "capabilities": self.capabilities(),
            "pricing": self.pricing(),
            "routes": [r.as_json() for r in self.routes],
            "providers": list(self.providers),
            "available": route is not None,
            "provider": route.provider if route else None,
        }


def unavailable_message(spec: ModelSpec) -> str:
    """Why `spec` cannot be served: which providers would, and the settings enabling them."""
    if not spec.routes:
        return f"{spec.id} has no upstream route: no provider vidgate speaks serves it yet"
    keys = [" + ".join(PROVIDER_KEYS[p]) for p in spec.providers if PROVIDER_KEYS[p]]
    return (
        f"{spec.id} needs one of the providers {', '.join(spec.providers)}; none is "
        f"configured (set {', '.join(keys)}, or run with VIDGATE_SANDBOX=1)"
    )


class Catalog:
    """Looks models up by id or alias (case-sensitive, as the seeds spell them)."""

    def __init__(self, models: Iterable[ModelSpec]) -> None:
        self.models = list(models)
        self._by_name: dict[str, ModelSpec] = {}
        for model in self.models:
            for name in (model.id, *model.aliases):
                if name in self._by_name:
                    raise ValueError(f"catalog name {name!r} is taken twice")
                self._by_name[name] = model
        for model in self.models:
            twin = self._by_name.get(model.twin) if model.twin else None
            if model.twin and (twin is None or not twin.takes_image):
                raise ValueError(f"{model.id}: twin {model.twin!r} is no image-to-video model")

    def resolve(self, name: str) -> ModelSpec | None:
        return self._by_name.get(name)

    @property
    def default(self) -> ModelSpec:
        return self.models[0]

    def names(self) -> list[str]:
        return [m.id for m in self.models]

    def twin_of(self, model: ModelSpec) -> ModelSpec | None:
        """The image-to-video model a request with an image switches to."""
        return self._by_name.get(model.twin) if model.twin else None
