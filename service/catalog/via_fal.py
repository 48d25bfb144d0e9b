"""Vendors without a direct adapter, reached through fal.ai (and Replicate where it hosts
them): xAI Grok Imagine, Pixverse, Lightricks LTX, Midjourney.

Grok Imagine Video: fal `xai/grok-imagine-video/{text,image}-to-video` (checked), Replicate
`xai/grok-imagine-video` (seen in public code); 480p $0.05/s, 720p $0.07/s (public code);
durations 1-15 s and the aspect ratios are unverified.

Pixverse v5.5: fal `fal-ai/pixverse/v5.5/{text,image}-to-video` (NovaKit's seed); 360p-1080p,
5/8/10 s (10 s not at 1080p), audio off by default (`generate_audio_switch`, as other hosts
spell it) — from the v5.5/v5.6 docs of other hosts; prices unverified. `style` is one of
anime, 3d_animation, clay, comic, cyberpunk (fal's Pixverse v4/v4.5 input schemas).

LTX-2 Fast: fal `fal-ai/ltx-2/text-to-video/fast` (checked: 6/8/10 s at 1080p/1440p/2160p,
25 or 50 fps, audio, $0.04/0.08/0.16 per second) and `fal-ai/ltx-2/image-to-video/fast`;
Replicate `lightricks/ltx-2-fast` (unverified).

Midjourney Video: Midjourney has no public API of its own. fal lists Midjourney V7 image
endpoints (`fal-ai/midjourney/v7`, …), and one third-party mapping names
`fal-ai/midjourney/v7/image-to-video` — used here, unverified, as are its capabilities (image-
to-video only, 5 s, SD 480p / HD 720p) and the price placeholders.
"""

from __future__ import annotations

from service.catalog.spec import I2V, ModelSpec, Route

PIXVERSE_STYLES = ("anime", "3d_animation", "clay", "comic", "cyberpunk")  # fal's `style`
MODELS = [
    ModelSpec(
        id="grok-imagine-video",
        name="Grok Imagine Video",
        description="xAI Grok Imagine: text-to-video and image-to-video with audio.",
        owned_by="xai",
        aliases=(
            "xai/grok-imagine-video",
            "xai/grok-imagine-video/text-to-video",
            "xai/grok-imagine-video/image-to-video",
        ),
        routes=(
            Route(
                "fal",
                "xai/grok-imagine-video/text-to-video",
                "xai/grok-imagine-video/image-to-video",
            ),
            Route("replicate", "xai/grok-imagine-video"),
        ),
        durations=tuple(range(1, 16)),
        default_seconds=6,
        resolutions=("480p", "720p"),
        default_resolution="720p",
        aspect_ratios=("16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3"),
        audio=True,
        price_per_second_usd=0.07,
        price_by_resolution={"480p": 0.05},
    ),
    ModelSpec(
        id="pixverse-v5.5",
        name="Pixverse v5.5",
        description="Pixverse v5.5 text-to-video and image-to-video (NovaKit's fal id).",
        owned_by="pixverse",
        aliases=("fal-ai/pixverse/v5.5/text-to-video", "fal-ai/pixverse/v5.5/image-to-video"),
        routes=(
            Route(
                "fal", "fal-ai/pixverse/v5.5/text-to-video", "fal-ai/pixverse/v5.5/image-to-video"
            ),
        ),
        durations=(5, 8, 10),
        default_seconds=5,
        durations_by_resolution={"1080p": (5, 8)},
        resolutions=("360p", "540p", "720p", "1080p"),
        default_resolution="720p",
        aspect_ratios=("16:9", "9:16", "1:1", "4:3", "3:4"),
        audio=True,
        audio_default=False,
        negative_prompt=True,
        seed=True,
        styles=PIXVERSE_STYLES,
        prompt_max_chars=2048,
        price_per_second_usd=0.04,
        price_by_resolution={"360p": 0.03, "540p": 0.03, "1080p": 0.08},
    ),
    ModelSpec(
        id="ltx-2-fast",
        name="LTX-2 Fast",
        description="Lightricks LTX Video 2.0 Fast: high-fidelity video with audio, up to 4K.",
        owned_by="lightricks",
        aliases=("fal-ai/ltx-2/text-to-video/fast", "fal-ai/ltx-2/image-to-video/fast"),
        routes=(
            Route("fal", "fal-ai/ltx-2/text-to-video/fast", "fal-ai/ltx-2/image-to-video/fast"),
            Route("replicate", "lightricks/ltx-2-fast"),
        ),
        durations=(6, 8, 10),
        default_seconds=6,
        resolutions=("1080p", "1440p", "2160p"),
        default_resolution="1080p",
        aspect_ratios=("16:9",),
        fps=(25, 50),
        default_fps=25,
        audio=True,
        price_per_second_usd=0.04,
        price_by_resolution={"1440p": 0.08, "2160p": 0.16},
    ),
    ModelSpec(
        id="midjourney-video",
        name="Midjourney Video",
        description="Midjourney's image-to-video model: four 5 s clips a request, SD or HD.",
        owned_by="midjourney",
        modes=(I2V,),
        routes=(Route("fal", "fal-ai/midjourney/v7/image-to-video"),),
        durations=(5,),
        default_seconds=5,
        resolutions=("480p", "720p"),
        default_resolution="480p",
        aspect_ratios=("16:9", "9:16", "1:1", "4:3", "3:4"),
        price_per_second_usd=0.05,
        price_by_resolution={"720p": 0.15},
    ),
]
