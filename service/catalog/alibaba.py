"""Alibaba Wan: no direct adapter (DashScope) yet, so fal.ai first, then Replicate.

fal (checked in fal's pages and public code): `fal-ai/wan-25-preview/{text,image}-to-video`,
`wan/v2.6/text-to-video`, `wan/v2.6/image-to-video`, `wan/v2.6/image-to-video/flash` (Wan 2.6
lives under the `wan/` owner, not `fal-ai/`), `fal-ai/wan-pro/image-to-video` (Wan 2.1 Pro,
NovaKit's seed). Wan 2.6: 5/10/15 s, 720p/1080p, prompts up to 800 characters, $0.10/s at
720p, $0.15/s at 1080p; Flash $0.05 / $0.075. Replicate: `wan-video/wan-2.5-t2v[-fast]`,
`wan-video/wan-2.5-i2v[-fast]`, `wan-video/wan-2.6-t2v`, `wan-video/wan-2.6-i2v` (seen in
public code; Wan 2.5 Fast is served by Replicate only). Wan 2.5 prices ($0.05/0.10/0.15 by
resolution), Wan 2.5 Fast's and Wan 2.1 Pro's (1080p, 6 s, 30 fps, $0.80 a clip) are from
memory, unverified.
"""

from __future__ import annotations

from typing import Any

from service.catalog.spec import I2V, T2V, ModelSpec, Route

WAN: dict[str, Any] = dict(
    owned_by="alibaba",
    durations=(5, 10),
    default_seconds=5,
    aspect_ratios=("16:9", "9:16", "1:1"),
    negative_prompt=True,
    seed=True,
    audio=True,
    prompt_max_chars=800,
)
WAN_26: dict[str, Any] = {
    **WAN,
    "durations": (5, 10, 15),
    "resolutions": ("720p", "1080p"),
    "default_resolution": "1080p",
    "aspect_ratios": ("16:9", "9:16", "1:1", "4:3", "3:4"),
    "price_per_second_usd": 0.10,
    "price_by_resolution": {"1080p": 0.15},
}

MODELS = [
    ModelSpec(
        id="wan-2.5",
        name="Wan 2.5",
        description="Alibaba Wan 2.5: text-to-video and image-to-video with audio sync.",
        aliases=("fal-ai/wan-25-preview/text-to-video", "fal-ai/wan-25-preview/image-to-video"),
        routes=(
            Route(
                "fal", "fal-ai/wan-25-preview/text-to-video", "fal-ai/wan-25-preview/image-to-video"
            ),
            Route("replicate", "wan-video/wan-2.5-t2v", "wan-video/wan-2.5-i2v"),
        ),
        resolutions=("480p", "720p", "1080p"),
        default_resolution="1080p",
        price_per_second_usd=0.10,
        price_by_resolution={"480p": 0.05, "1080p": 0.15},
        **WAN,
    ),
    ModelSpec(
        id="wan-2.5-fast",
        name="Wan 2.5 Fast",
        description="Alibaba Wan 2.5 Fast: speed-optimised Wan 2.5.",
        routes=(Route("replicate", "wan-video/wan-2.5-t2v-fast", "wan-video/wan-2.5-i2v-fast"),),
        resolutions=("720p", "1080p"),
        default_resolution="720p",
        price_per_second_usd=0.068,
        price_by_resolution={"1080p": 0.102},
        **WAN,
    ),
    ModelSpec(
        id="wan-2.6",
        name="Wan 2.6",
        description="Alibaba Wan 2.6 text-to-video: up to 15 s, multi-shot, audio; an image "
        "switches to wan-2.6-i2v.",
        aliases=("wan/v2.6/text-to-video",),
        modes=(T2V,),
        twin="wan-2.6-i2v",
        routes=(
            Route("fal", "wan/v2.6/text-to-video"),
            Route("replicate", "wan-video/wan-2.6-t2v"),
        ),
        **WAN_26,
    ),
    ModelSpec(
        id="wan-2.6-i2v",
        name="Wan 2.6 (i2v)",
        description="Alibaba Wan 2.6 image-to-video, up to 15 s.",
        aliases=("wan/v2.6/image-to-video",),
        modes=(I2V,),
        routes=(
            Route("fal", "wan/v2.6/image-to-video"),
            Route("replicate", "wan-video/wan-2.6-i2v"),
        ),
        **WAN_26,
    ),
    ModelSpec(
        id="wan-2.6-flash",
        name="Wan 2.6 Flash",
        description="Alibaba Wan 2.6 Flash: fast image-to-video with optional audio.",
        aliases=("wan/v2.6/image-to-video/flash",),
        modes=(I2V,),
        routes=(Route("fal", "wan/v2.6/image-to-video/flash"),),
        **{**WAN_26, "price_per_second_usd": 0.05, "price_by_resolution": {"1080p": 0.075}},
    ),
    ModelSpec(
        id="wan-2.1-pro-i2v",
        name="Wan 2.1 Pro (i2v)",
        description="Alibaba Wan 2.1 Pro image-to-video, 1080p (NovaKit's fal id).",
        aliases=("fal-ai/wan-pro/image-to-video",),
        modes=(I2V,),
        routes=(Route("fal", "fal-ai/wan-pro/image-to-video"),),
        **{
            **WAN,
            "durations": (6,),
            "default_seconds": 6,
            "resolutions": ("1080p",),
            "default_resolution": "1080p",
            "fps": (30,),
            "default_fps": 30,
            "audio": False,
            "negative_prompt": False,
            "price_per_second_usd": 0.1333,
        },
    ),
]
