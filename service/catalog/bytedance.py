"""ByteDance Seedance: BytePlus ModelArk first, then fal.ai and Replicate.

Ark model ids: `seedance-1-0-lite-t2v-250428` / `seedance-1-0-lite-i2v-250428` (Lite splits
text- and image-to-video, hence the route's image model), `seedance-1-0-pro-250528`,
`seedance-1-0-pro-fast-251015`, `seedance-1-5-pro-251215` (the emulator's table; 1.5's id seen
in public code), `dreamina-seedance-2-0-260128` and `dreamina-seedance-2-0-fast-260128`
(BytePlus spelling; Volcengine's is `doubao-…`; the fast one unverified).

fal: `bytedance/seedance-2.0/{text,image}-to-video` and `…/fast/…` (checked, $0.30/s at 720p,
$0.68/s at 1080p, fast $0.24/s), `fal-ai/bytedance/seedance/v1/pro/image-to-video` (NovaKit's
seed); the other v1/v1.5 endpoint ids follow the same pattern, unverified. Replicate:
`bytedance/seedance-1-lite`, `-1-pro`, `-1-pro-fast`, `-1.5-pro` (seen in public code).

Durations (the emulator's per-model tables): Lite 5 or 10 s, 1.0 Pro 2-12, 1.5 Pro 4-12,
2.0 4-15. Ark prices are per token (width × height × fps × seconds / 1024): the per-second
figures here are that arithmetic at list prices ($1.8, $2.5, $1.0 per million tokens for
Lite, Pro, Pro Fast) — estimates, unverified; 1.5 and 2.0 figures are fal's.
"""

from __future__ import annotations

from typing import Any

from service.catalog.spec import ModelSpec, Route

SEEDANCE: dict[str, Any] = dict(
    owned_by="bytedance",
    default_seconds=5,
    resolutions=("480p", "720p", "1080p"),
    default_resolution="720p",
    aspect_ratios=("16:9", "9:16", "1:1", "4:3", "3:4", "21:9"),
    seed=True,
    prompt_max_chars=2000,
)
V1 = "fal-ai/bytedance/seedance/v1"


def fal(base: str) -> Route:
    return Route("fal", f"{base}/text-to-video", f"{base}/image-to-video")


MODELS = [
    ModelSpec(
        id="seedance-1-lite",
        name="Seedance 1 Lite",
        description="ByteDance Seedance 1.0 Lite: text-to-video and image-to-video.",
        aliases=(f"{V1}/lite/text-to-video", f"{V1}/lite/image-to-video"),
        routes=(
            Route("seedance", "seedance-1-0-lite-t2v-250428", "seedance-1-0-lite-i2v-250428"),
            fal(f"{V1}/lite"),
            Route("replicate", "bytedance/seedance-1-lite"),
        ),
        durations=(5, 10),
        end_frame=True,
        price_per_second_usd=0.039,
        price_by_resolution={"480p": 0.018, "1080p": 0.088},
        **SEEDANCE,
    ),
    ModelSpec(
        id="seedance-1-pro",
        name="Seedance 1 Pro",
        description="ByteDance Seedance 1.0 Pro: higher quality, priced by resolution and "
        "duration.",
        aliases=(f"{V1}/pro/text-to-video", f"{V1}/pro/image-to-video"),
        routes=(
            Route("seedance", "seedance-1-0-pro-250528"),
            fal(f"{V1}/pro"),
            Route("replicate", "bytedance/seedance-1-pro"),
        ),
        durations=tuple(range(2, 13)),
        end_frame=True,
        price_per_second_usd=0.054,
        price_by_resolution={"480p": 0.024, "1080p": 0.122},
        **{**SEEDANCE, "default_resolution": "1080p"},
    ),
    ModelSpec(
        id="seedance-1-pro-fast",
        name="Seedance 1 Pro Fast",
        description="ByteDance Seedance 1.0 Pro Fast: faster, cheaper Pro.",
        routes=(
            Route("seedance", "seedance-1-0-pro-fast-251015"),
            fal(f"{V1}/pro/fast"),
            Route("replicate", "bytedance/seedance-1-pro-fast"),
        ),
        durations=tuple(range(2, 13)),
        price_per_second_usd=0.022,
        price_by_resolution={"480p": 0.010, "1080p": 0.049},
        **{**SEEDANCE, "default_resolution": "1080p"},
    ),
    ModelSpec(
        id="seedance-1.5-pro",
        name="Seedance 1.5 Pro",
        description="ByteDance Seedance 1.5 Pro with optional synchronised audio.",
        routes=(
            Route("seedance", "seedance-1-5-pro-251215"),
            fal("fal-ai/bytedance/seedance/v1.5/pro"),
            Route("replicate", "bytedance/seedance-1.5-pro"),
        ),
        durations=tuple(range(4, 13)),
        audio=True,
        end_frame=True,
        price_per_second_usd=0.052,
        price_by_resolution={"480p": 0.023, "1080p": 0.117},
        **SEEDANCE,
    ),
    ModelSpec(
        id="seedance-2",
        name="Seedance 2.0",
        description="ByteDance Seedance 2.0: multimodal references and native audio.",
        aliases=(
            "seedance-2.0",
            "bytedance/seedance-2.0/text-to-video",
            "bytedance/seedance-2.0/image-to-video",
        ),
        routes=(Route("seedance", "dreamina-seedance-2-0-260128"), fal("bytedance/seedance-2.0")),
        durations=tuple(range(4, 16)),
        audio=True,
        end_frame=True,
        price_per_second_usd=0.30,
        price_by_resolution={"480p": 0.14, "1080p": 0.68},
        **SEEDANCE,
    ),
    ModelSpec(
        id="seedance-2-fast",
        name="Seedance 2.0 Fast",
        description="ByteDance Seedance 2.0 Fast: speed-optimised, with audio.",
        aliases=(
            "seedance-2.0-fast",
            "bytedance/seedance-2.0/fast/text-to-video",
            "bytedance/seedance-2.0/fast/image-to-video",
        ),
        routes=(
            Route("seedance", "dreamina-seedance-2-0-fast-260128"),
            fal("bytedance/seedance-2.0/fast"),
        ),
        durations=tuple(range(4, 16)),
        audio=True,
        end_frame=True,
        price_per_second_usd=0.24,
        price_by_resolution={"480p": 0.11},
        **{**SEEDANCE, "resolutions": ("480p", "720p")},
    ),
]
