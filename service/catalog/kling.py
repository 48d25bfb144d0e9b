"""Kling (Kuaishou): the official API first, then fal.ai and Replicate.

Official API `model_name`s: `kling-v2-master`, `kling-v2-1` (image-to-video only),
`kling-v2-1-master`, `kling-v2-5-turbo`, `kling-v2-6` (`sound` on/off), `kling-v3` (3-15 s,
sound, std/pro) — seen in public client code; durations "5"/"10" before v3. The resolution
picks Kling's `mode`: 720p → std, 1080p → pro.

fal endpoints (checked on fal's pages): `fal-ai/kling-video/v2.5-turbo/pro/{text,image}-to-video`
(5/10 s, $0.07/s), `fal-ai/kling-video/v2.6/pro/…` (`generate_audio`), `fal-ai/kling-video/v3/
pro/…` (3-15 s, `start_image_url`/`end_image_url`, $0.224/s, $0.336/s with audio),
`fal-ai/kling-video/v2/master/…`, `fal-ai/kling-video/v2.1/master/…`. fal splits standard and
pro tiers into separate endpoints, so models offered at both 720p and 1080p (kling-2.1) have no
fal route. Replicate: `kwaivgi/kling-v2.1`, `kwaivgi/kling-v2.1-master`,
`kwaivgi/kling-v2.5-turbo-pro`, `kwaivgi/kling-v2.6`, `kwaivgi/kling-v3-video`,
`kwaivgi/kling-v2.0` (names seen in public code; the last unverified).

Prices: fal's list prices per second, with audio where the model makes it (v2.1 master and
v2 master $0.28/s, v2.1 std/pro $0.05/$0.09 and v2.6's $0.14 are from memory, unverified).
"""

from __future__ import annotations

from typing import Any

from service.catalog.spec import I2V, T2V, ModelSpec, Route

FAL = "fal-ai/kling-video"
KLING: dict[str, Any] = dict(
    owned_by="kuaishou",
    durations=(5, 10),
    default_seconds=5,
    aspect_ratios=("16:9", "9:16", "1:1"),
    negative_prompt=True,
    prompt_max_chars=2500,
    quality_levels={"std": "720p", "pro": "1080p"},  # Kling's `mode`
)
V3: dict[str, Any] = {
    **KLING,
    "durations": tuple(range(3, 16)),
    "resolutions": ("1080p",),
    "default_resolution": "1080p",
    "audio": True,
    "price_per_second_usd": 0.336,  # with audio ($0.224 without)
}


def fal(version: str, tier: str) -> Route:
    return Route(
        "fal", f"{FAL}/{version}/{tier}/text-to-video", f"{FAL}/{version}/{tier}/image-to-video"
    )


MODELS = [
    ModelSpec(
        id="kling-2.1",
        name="Kling 2.1",
        description="Kling 2.1 image-to-video, standard (720p) or pro (1080p) mode, with an "
        "optional end image.",
        modes=(I2V,),
        routes=(Route("kling", "kling-v2-1"), Route("replicate", "kwaivgi/kling-v2.1")),
        resolutions=("720p", "1080p"),
        default_resolution="720p",
        end_frame=True,
        price_per_second_usd=0.05,
        price_by_resolution={"1080p": 0.09},
        **KLING,
    ),
    ModelSpec(
        id="kling-2.1-master",
        name="Kling 2.1 Master",
        description="Kling 2.1 Master: premium quality, 1080p.",
        aliases=(
            "kling-v2-1-master",
            f"{FAL}/v2.1/master/text-to-video",
            f"{FAL}/v2.1/master/image-to-video",
        ),
        routes=(
            Route("kling", "kling-v2-1-master"),
            fal("v2.1", "master"),
            Route("replicate", "kwaivgi/kling-v2.1-master"),
        ),
        resolutions=("1080p",),
        default_resolution="1080p",
        price_per_second_usd=0.28,
        **KLING,
    ),
    ModelSpec(
        id="kling-2.5-turbo-pro",
        name="Kling 2.5 Turbo Pro",
        description="Kling 2.5 Turbo Pro: fast and cost-effective, 1080p, with end-image support.",
        aliases=(
            "kling-v2-5-turbo",
            "kling-2.5-turbo",
            f"{FAL}/v2.5-turbo/pro/text-to-video",
            f"{FAL}/v2.5-turbo/pro/image-to-video",
        ),
        routes=(
            Route("kling", "kling-v2-5-turbo"),
            fal("v2.5-turbo", "pro"),
            Route("replicate", "kwaivgi/kling-v2.5-turbo-pro"),
        ),
        resolutions=("1080p",),
        default_resolution="1080p",
        end_frame=True,
        price_per_second_usd=0.07,
        **KLING,
    ),
    ModelSpec(
        id="kling-2.6",
        name="Kling 2.6",
        description="Kling 2.6 Pro: 1080p with native audio.",
        aliases=("kling-v2-6", f"{FAL}/v2.6/pro/text-to-video", f"{FAL}/v2.6/pro/image-to-video"),
        routes=(
            Route("kling", "kling-v2-6"),
            fal("v2.6", "pro"),
            Route("replicate", "kwaivgi/kling-v2.6"),
        ),
        resolutions=("1080p",),
        default_resolution="1080p",
        audio=True,
        price_per_second_usd=0.14,  # with audio ($0.07 without)
        **KLING,
    ),
    ModelSpec(
        id="kling-3.0",
        name="Kling 3.0",
        description="Kling 3.0 Pro: 3-15 s, native audio, start and end frames.",
        aliases=("kling-v3", "kling-3"),
        routes=(
            Route("kling", "kling-v3"),
            fal("v3", "pro"),
            Route("replicate", "kwaivgi/kling-v3-video"),
        ),
        end_frame=True,
        **V3,
    ),
    ModelSpec(
        id="kling-3-pro",
        name="Kling 3 Pro",
        description="Kling 3.0 Pro text-to-video; an image switches to kling-3-pro-i2v.",
        aliases=(f"{FAL}/v3/pro/text-to-video",),
        modes=(T2V,),
        twin="kling-3-pro-i2v",
        routes=(
            Route("kling", "kling-v3"),
            Route("fal", f"{FAL}/v3/pro/text-to-video"),
            Route("replicate", "kwaivgi/kling-v3-video"),
        ),
        **V3,
    ),
    ModelSpec(
        id="kling-3-pro-i2v",
        name="Kling 3 Pro (i2v)",
        description="Kling 3.0 Pro image-to-video, with an optional end frame.",
        aliases=(f"{FAL}/v3/pro/image-to-video",),
        modes=(I2V,),
        routes=(
            Route("kling", "kling-v3"),
            Route("fal", f"{FAL}/v3/pro/image-to-video"),
            Route("replicate", "kwaivgi/kling-v3-video"),
        ),
        end_frame=True,
        **V3,
    ),
    ModelSpec(
        id="kling-2.0-master",
        name="Kling 2.0 Master",
        description="Kling 2.0 Master (NovaKit's fal id), 720p.",
        aliases=(f"{FAL}/v2/master/text-to-video", f"{FAL}/v2/master/image-to-video"),
        routes=(
            Route("kling", "kling-v2-master"),
            fal("v2", "master"),
            Route("replicate", "kwaivgi/kling-v2.0"),
        ),
        resolutions=("720p",),
        default_resolution="720p",
        price_per_second_usd=0.28,
        **KLING,
    ),
]
