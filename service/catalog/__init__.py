"""The model catalog: which models exist, what they accept, what they cost, who serves them.

Every model id in the four seed documents is an entry or an alias of one. Entries are named
the way the v2 API (`/v2/videos/generate`) names them where it has the model; the other seeds'
ids join them as aliases when they mean the same model:

    veo-3.1            ← veo_3_1 (task API), fal-ai/veo3.1
    veo-3.1-fast       ← veo_3_1-fast (task API), fal-ai/veo3.1/fast
    veo-3              ← fal-ai/veo3 (NovaKit)
    veo-3-fast         ← fal-ai/veo3/fast (NovaKit)
    veo-2              ← fal-ai/veo2/image-to-video (NovaKit)
    kling-2.5-turbo-pro← kling-v2-5-turbo (task API), fal-ai/kling-video/v2.5-turbo/pro/
                         {text,image}-to-video (NovaKit)
    kling-2.1-master   ← kling-v2-1-master (task API)
    kling-3.0          ← kling-v3; Concurred's kling-3-pro (text-only, its image twin
                         kling-3-pro-i2v) is the same Kling 3.0 Pro model, kept as separate
                         entries because Concurred's contract switches ids on an image
    seedance-1-pro     ← fal-ai/bytedance/seedance/v1/pro/image-to-video (NovaKit)

Entries for ids only one seed names: Concurred's kling-3-pro, kling-3-pro-i2v, wan-2.6 (text-
only, twin wan-2.6-i2v) and wan-2.6-i2v; NovaKit's fal ids where no v2 model matches —
minimax-video-01 (fal-ai/minimax/video-01, text-only, twin minimax-video-01-i2v = fal-ai/minimax/
video-01/image-to-video), hailuo-02-standard (fal-ai/minimax/hailuo-02/standard/text-to-video,
768p only), hailuo-2.3-pro-i2v (fal-ai/minimax/hailuo-2.3/pro/image-to-video, 1080p),
kling-2.0-master (fal-ai/kling-video/v2/master/text-to-video), pixverse-v5.5, ltx-2-fast,
wan-2.1-pro-i2v (fal-ai/wan-pro/image-to-video). Text-to-video ids whose vendor also does
image-to-video on the same model accept an image directly (their route's `image_model` is
the image endpoint); `twin` is only for text-only ids a seed pairs with an image id.

Routes go direct to the vendor first, then fal.ai, then Replicate; vendors without a direct
adapter (Wan, xAI, Pixverse, LTX) start at fal. Each data module's docstring says which
upstream ids, capabilities and prices were checked against public docs and which are
estimates. `local-preview` (alias `local`) is first: the default model, and free.
"""

from __future__ import annotations

from service.catalog import alibaba, bytedance, google, kling, minimax, studios, via_fal
from service.catalog.local import LOCAL_PREVIEW
from service.catalog.spec import (
    ASPECT_RATIOS,
    I2V,
    MODES,
    PROVIDER_KEYS,
    PROVIDERS,
    RESOLUTIONS,
    T2V,
    V2V,
    Catalog,
    ModelSpec,
    Route,
    frame_size,
    spell,
    unavailable_message,
)

__all__ = [
    "ASPECT_RATIOS",
    "I2V",
    "LOCAL_PREVIEW",
    "MODES",
    "PROVIDERS",
    "PROVIDER_KEYS",
    "RESOLUTIONS",
    "T2V",
    "V2V",
    "Catalog",
    "ModelSpec",
    "Route",
    "all_models",
    "default_catalog",
    "frame_size",
    "spell",
    "unavailable_message",
]


def all_models() -> list[ModelSpec]:
    """Every entry, `local-preview` first."""
    families = (google, kling, minimax, studios, bytedance, alibaba, via_fal)
    return [LOCAL_PREVIEW, *(model for family in families for model in family.MODELS)]


def default_catalog() -> Catalog:
    return Catalog(all_models())
