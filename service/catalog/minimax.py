"""MiniMax Hailuo: the MiniMax API first, then fal.ai and Replicate.

MiniMax API models (protocol notes; the emulator mirrors MiniMax's docs): `MiniMax-Hailuo-02`,
`MiniMax-Hailuo-2.3`, `MiniMax-Hailuo-2.3-Fast` (image-to-video only), `T2V-01`, `I2V-01`.
Hailuo renders 6 or 10 s at 768p and 6 s at 1080p, prompts up to 2,000 characters; 02 takes
a last frame. 512p (image-to-video only) is left out. Output is 16:9 (or the first frame's
shape): 768p is 1366x768.

fal (checked): `fal-ai/minimax/video-01` (+ `/image-to-video`), `fal-ai/minimax/hailuo-02/
standard/text-to-video` (768p), `fal-ai/minimax/hailuo-2.3/pro/image-to-video` (1080p). fal
splits 768p "standard" and 1080p "pro" endpoints, so the models offered at both resolutions
route directly and through Replicate only. Replicate: `minimax/video-01`, `minimax/hailuo-02`,
`minimax/hailuo-2.3`, `minimax/hailuo-2.3-fast` (seen in public code).

Prices per second from MiniMax's list (768p 6 s $0.28, 1080p 6 s $0.49; Fast $0.19 / $0.33;
video-01 ≈ $0.43 a clip) — from memory, unverified.
"""

from __future__ import annotations

from typing import Any

from service.catalog.spec import I2V, T2V, ModelSpec, Route

HAILUO: dict[str, Any] = dict(
    owned_by="minimax",
    prompt_optimizer=True,
    durations=(6, 10),
    default_seconds=6,
    durations_by_resolution={"1080p": (6,)},
    resolutions=("768p", "1080p"),
    default_resolution="768p",
    aspect_ratios=("16:9",),
    fps=(24,),
    prompt_max_chars=2000,
    price_per_second_usd=0.0467,
    price_by_resolution={"1080p": 0.0817},
)
VIDEO_01: dict[str, Any] = dict(
    owned_by="minimax",
    prompt_optimizer=True,
    durations=(6,),
    default_seconds=6,
    resolutions=("720p",),
    default_resolution="720p",
    aspect_ratios=("16:9",),
    fps=(25,),
    default_fps=25,
    prompt_max_chars=2000,
    price_per_second_usd=0.0717,
)
STANDARD_768: dict[str, Any] = {
    **HAILUO,
    "resolutions": ("768p",),
    "durations_by_resolution": {},
    "price_by_resolution": {},
    "price_per_second_usd": 0.045,
}

MODELS = [
    ModelSpec(
        id="hailuo-02",
        name="Hailuo 02",
        description="MiniMax Hailuo 02: text-to-video and image-to-video with end-frame support.",
        aliases=("minimax-hailuo-02", "MiniMax-Hailuo-02"),
        routes=(Route("minimax", "MiniMax-Hailuo-02"), Route("replicate", "minimax/hailuo-02")),
        end_frame=True,
        **HAILUO,
    ),
    ModelSpec(
        id="hailuo-02-standard",
        name="Hailuo 02 Standard (768p)",
        description="MiniMax Hailuo 02 at 768p (NovaKit's fal id).",
        aliases=(
            "fal-ai/minimax/hailuo-02/standard/text-to-video",
            "fal-ai/minimax/hailuo-02/standard/image-to-video",
        ),
        routes=(
            Route("minimax", "MiniMax-Hailuo-02"),
            Route(
                "fal",
                "fal-ai/minimax/hailuo-02/standard/text-to-video",
                "fal-ai/minimax/hailuo-02/standard/image-to-video",
            ),
            Route("replicate", "minimax/hailuo-02"),
        ),
        **STANDARD_768,
    ),
    ModelSpec(
        id="hailuo-2.3",
        name="Hailuo 2.3",
        description="MiniMax Hailuo 2.3: realistic motion and high-fidelity stylisation.",
        aliases=("minimax-hailuo-2.3", "MiniMax-Hailuo-2.3"),
        routes=(Route("minimax", "MiniMax-Hailuo-2.3"), Route("replicate", "minimax/hailuo-2.3")),
        **HAILUO,
    ),
    ModelSpec(
        id="hailuo-2.3-fast",
        name="Hailuo 2.3 Fast",
        description="MiniMax Hailuo 2.3 Fast: speed-optimised image-to-video.",
        aliases=("minimax-hailuo-2.3-fast", "MiniMax-Hailuo-2.3-Fast"),
        modes=(I2V,),
        routes=(
            Route("minimax", "MiniMax-Hailuo-2.3-Fast"),
            Route("replicate", "minimax/hailuo-2.3-fast"),
        ),
        **{**HAILUO, "price_per_second_usd": 0.0317, "price_by_resolution": {"1080p": 0.055}},
    ),
    ModelSpec(
        id="hailuo-2.3-pro-i2v",
        name="Hailuo 2.3 Pro (i2v)",
        description="MiniMax Hailuo 2.3 image-to-video at 1080p (NovaKit's fal id).",
        aliases=("fal-ai/minimax/hailuo-2.3/pro/image-to-video",),
        modes=(I2V,),
        routes=(
            Route("minimax", "MiniMax-Hailuo-2.3"),
            Route("fal", "fal-ai/minimax/hailuo-2.3/pro/image-to-video"),
            Route("replicate", "minimax/hailuo-2.3"),
        ),
        **{
            **HAILUO,
            "resolutions": ("1080p",),
            "default_resolution": "1080p",
            "durations": (6,),
            "price_per_second_usd": 0.0817,
        },
    ),
    ModelSpec(
        id="minimax-video-01",
        name="MiniMax Video-01",
        description="MiniMax Video-01 (Hailuo) text-to-video, 6 s at 720p; an image switches "
        "to minimax-video-01-i2v.",
        aliases=("fal-ai/minimax/video-01", "video-01", "T2V-01"),
        modes=(T2V,),
        twin="minimax-video-01-i2v",
        routes=(
            Route("minimax", "T2V-01"),
            Route("fal", "fal-ai/minimax/video-01"),
            Route("replicate", "minimax/video-01"),
        ),
        **VIDEO_01,
    ),
    ModelSpec(
        id="minimax-video-01-i2v",
        name="MiniMax Video-01 (i2v)",
        description="MiniMax Video-01 image-to-video, 6 s at 720p.",
        aliases=("fal-ai/minimax/video-01/image-to-video", "I2V-01"),
        modes=(I2V,),
        routes=(
            Route("minimax", "I2V-01"),
            Route("fal", "fal-ai/minimax/video-01/image-to-video"),
            Route("replicate", "minimax/video-01"),
        ),
        **VIDEO_01,
    ),
]
