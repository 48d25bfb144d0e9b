"""Luma, Runway and OpenAI Sora: vendors with their own APIs (each has a direct adapter).

Luma (protocol notes, the `lumaai` SDK): `ray-2`, `ray-flash-2`, durations "5s"/"9s",
keyframes frame0/frame1 (an end frame), 540p-4k; fal `fal-ai/luma-dream-machine/ray-2` and
`…/ray-2-flash` with `…/image-to-video` (seen in public code). 4k is left out: fal renders
up to 1080p. Prices from fal's page as remembered ($0.50 per 5 s at 540p, ×2 at 720p, ×4 at
1080p; Flash a third of that) — unverified.

Runway (runwayml SDK types, the emulator): `gen4_turbo` is image-to-video only (the v2 seed's
"text-to-video" claim has no upstream), ratios 1280:720, 720:1280, 1104:832, 832:1104,
960:960, 1584:672, 5 or 10 s, 5 credits/s ($0.05); `gen4.5` text- and image-to-video, 2-10 s,
no seed, 12 credits/s ($0.12). Prompts up to 1,000 characters.

Sora (OpenAI videos API): `sora-2` 720x1280 / 1280x720, `sora-2-pro` also 1024x1792 /
1792x1024 (here "1024p"); 4, 8 or 12 s; $0.10/s, pro $0.30/s (720p) and $0.50/s (1024p).
fal: `fal-ai/sora-2/text-to-video[/pro]`, `fal-ai/sora-2/image-to-video[/pro]` (checked);
Replicate `openai/sora-2`, `openai/sora-2-pro` (seen in public code). Sora's fps is not
documented: 24 here is a guess.
"""

from __future__ import annotations

from typing import Any

from service.catalog.spec import I2V, T2V, V2V, ModelSpec, Route

LUMA: dict[str, Any] = dict(
    owned_by="luma",
    modes=(T2V, I2V, V2V),  # video-to-video through Luma's own API only (`luma_routes`)
    loop=True,
    durations=(5, 9),
    default_seconds=5,
    resolutions=("540p", "720p", "1080p"),
    default_resolution="720p",
    aspect_ratios=("16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "9:21"),
    end_frame=True,
)
RUNWAY_FRAMES = {
    "16:9": (1280, 720),
    "9:16": (720, 1280),
    "4:3": (1104, 832),
    "3:4": (832, 1104),
    "1:1": (960, 960),
    "21:9": (1584, 672),
}
SORA: dict[str, Any] = dict(
    owned_by="openai",
    durations=(4, 8, 12),
    default_seconds=4,
    default_resolution="720p",
    audio=True,
)
SORA_PRO_FRAMES = {("1024p", "16:9"): (1792, 1024), ("1024p", "9:16"): (1024, 1792)}


def luma_routes(luma: str, fal: str) -> tuple[Route, ...]:
    """Luma's own API also modifies a source video (`/generations/video/modify`, `lumaai`'s
    `generations.video.modify`, ray-2 and ray-flash-2); fal's Luma endpoints here do not."""
    fal_endpoint = f"fal-ai/luma-dream-machine/{fal}"
    return (
        Route("luma", luma, video_model=luma),
        Route("fal", fal_endpoint, f"{fal_endpoint}/image-to-video"),
    )


def sora_routes(model: str, tier: str) -> tuple[Route, ...]:
    return (
        Route("sora", model),
        Route("fal", f"fal-ai/sora-2/text-to-video{tier}", f"fal-ai/sora-2/image-to-video{tier}"),
        Route("replicate", f"openai/{model}"),
    )


MODELS = [
    ModelSpec(
        id="luma-ray-2",
        name="Luma Ray 2",
        description="Luma Ray 2: text-to-video and image-to-video with start and end frames.",
        aliases=("ray-2", "fal-ai/luma-dream-machine/ray-2"),
        routes=luma_routes("ray-2", "ray-2"),
        price_per_second_usd=0.20,
        price_by_resolution={"540p": 0.10, "1080p": 0.40},
        **LUMA,
    ),
    ModelSpec(
        id="luma-ray-flash-2",
        name="Luma Ray Flash 2",
        description="Luma Ray Flash 2: faster, cost-effective Ray 2.",
        aliases=("ray-flash-2", "fal-ai/luma-dream-machine/ray-2-flash"),
        routes=luma_routes("ray-flash-2", "ray-2-flash"),
        price_per_second_usd=0.08,
        price_by_resolution={"540p": 0.04, "1080p": 0.16},
        **LUMA,
    ),
    ModelSpec(
        id="runway-gen4-turbo",
        name="Runway Gen-4 Turbo",
        description="Runway Gen-4 Turbo: fast 720p image-to-video.",
        owned_by="runway",
        aliases=("gen4_turbo",),
        modes=(I2V,),
        routes=(Route("runway", "gen4_turbo"),),
        durations=(5, 10),
        default_seconds=10,
        resolutions=("720p",),
        default_resolution="720p",
        aspect_ratios=tuple(RUNWAY_FRAMES),
        sizes={("720p", aspect): frame for aspect, frame in RUNWAY_FRAMES.items()},
        seed=True,
        prompt_max_chars=1000,
        price_per_second_usd=0.05,
    ),
    ModelSpec(
        id="runway-gen4.5",
        name="Runway Gen-4.5",
        description="Runway Gen-4.5: flagship text-to-video and image-to-video, 2-10 s.",
        owned_by="runway",
        aliases=("gen4.5",),
        routes=(Route("runway", "gen4.5"),),
        durations=tuple(range(2, 11)),
        default_seconds=5,
        resolutions=("720p",),
        default_resolution="720p",
        prompt_max_chars=1000,
        price_per_second_usd=0.12,
    ),
    ModelSpec(
        id="sora-2",
        name="Sora 2",
        description="OpenAI Sora 2: text-to-video and image-to-video with audio, 720p.",
        aliases=("fal-ai/sora-2/text-to-video", "fal-ai/sora-2/image-to-video"),
        routes=sora_routes("sora-2", ""),
        resolutions=("720p",),
        price_per_second_usd=0.10,
        **SORA,
    ),
    ModelSpec(
        id="sora-2-pro",
        name="Sora 2 Pro",
        description="OpenAI Sora 2 Pro: 720p, or the high-resolution 1792x1024 variant.",
        aliases=("fal-ai/sora-2/text-to-video/pro", "fal-ai/sora-2/image-to-video/pro"),
        routes=sora_routes("sora-2-pro", "/pro"),
        resolutions=("720p", "1024p"),
        sizes=SORA_PRO_FRAMES,
        price_per_second_usd=0.30,
        price_by_resolution={"1024p": 0.50},
        **SORA,
    ),
]
