"""Google Veo: the Gemini API first, then Vertex AI, fal.ai and Replicate.

Upstream ids: Gemini/Vertex `veo-3.1-generate-preview`, `veo-3.1-fast-generate-preview`,
`veo-3.0-generate-001`, `veo-3.0-fast-generate-001`, `veo-2.0-generate-001` (the protocol notes;
the emulator knows the same five). fal: `fal-ai/veo3.1`, `fal-ai/veo3.1/fast`, `fal-ai/veo3`,
`fal-ai/veo3/fast` (durations "4s"/"6s"/"8s", 16:9 / 9:16; `fal-ai/veo3.1` also 4k), their
`…/image-to-video` endpoints and `fal-ai/veo2/image-to-video` — checked against fal's model
pages, except `fal-ai/veo3/fast/image-to-video` and `fal-ai/veo2` (unverified). Replicate:
`google/veo-3.1`, `google/veo-3.1-fast`, `google/veo-3`, `google/veo-3-fast`, `google/veo-2`
(seen in public client code; their input schemas unverified).

Prices are Google's list prices per second with audio (fal's pages agree: $0.40 standard,
$0.15 fast, 4k $0.60 / $0.35). 1080p and 4k render 8-second clips only (Google's docs; the
emulator enforces it). Veo 2 has no resolution choice (720p) and no audio.
"""

from __future__ import annotations

from typing import Any

from service.catalog.spec import ModelSpec, Route

VEO3: dict[str, Any] = dict(
    owned_by="google",
    durations=(4, 6, 8),
    default_seconds=8,
    durations_by_resolution={"1080p": (8,), "4k": (8,)},
    default_resolution="720p",
    audio=True,
    negative_prompt=True,
    seed=True,  # Vertex AI, fal and Replicate take one; the Gemini API does not (GEMINI)
    prompt_max_chars=4000,
)


# The Gemini API takes no seed and no `generateAudio` (google-genai refuses both in Gemini
# mode): a request with a seed, or Veo 3 without sound, goes another way (or is refused).
GEMINI_LACKS = frozenset({"seed", "audio"})


def routes(gemini: str, fal: str, fal_image: str, replicate: str) -> tuple[Route, ...]:
    return (
        Route("veo", gemini, lacks=GEMINI_LACKS),
        Route("vertex-veo", gemini),
        Route("fal", fal, fal_image),
        Route("replicate", replicate),
    )


MODELS = [
    ModelSpec(
        id="veo-3.1",
        name="Veo 3.1",
        description="Google Veo 3.1: native audio, reference images, last-frame control, "
        "720p/1080p/4K, 4-8 s.",
        aliases=("veo_3_1", "fal-ai/veo3.1"),
        routes=routes(
            "veo-3.1-generate-preview",
            "fal-ai/veo3.1",
            "fal-ai/veo3.1/image-to-video",
            "google/veo-3.1",
        ),
        resolutions=("720p", "1080p", "4k"),
        end_frame=True,
        price_per_second_usd=0.40,
        price_by_resolution={"4k": 0.60},
        **VEO3,
    ),
    ModelSpec(
        id="veo-3.1-fast",
        name="Veo 3.1 Fast",
        description="Google Veo 3.1 Fast: speed-optimised, same features, lower cost.",
        aliases=("veo_3_1-fast", "veo_3_1_fast", "fal-ai/veo3.1/fast"),
        routes=routes(
            "veo-3.1-fast-generate-preview",
            "fal-ai/veo3.1/fast",
            "fal-ai/veo3.1/fast/image-to-video",
            "google/veo-3.1-fast",
        ),
        resolutions=("720p", "1080p", "4k"),
        end_frame=True,
        price_per_second_usd=0.15,
        price_by_resolution={"4k": 0.35},
        **VEO3,
    ),
    ModelSpec(
        id="veo-3",
        name="Veo 3",
        description="Google Veo 3: video with native audio, 720p/1080p.",
        aliases=("veo_3", "fal-ai/veo3"),
        routes=routes(
            "veo-3.0-generate-001", "fal-ai/veo3", "fal-ai/veo3/image-to-video", "google/veo-3"
        ),
        resolutions=("720p", "1080p"),
        price_per_second_usd=0.40,
        **VEO3,
    ),
    ModelSpec(
        id="veo-3-fast",
        name="Veo 3 Fast",
        description="Google Veo 3 Fast: faster, cheaper Veo 3 with audio.",
        aliases=("veo_3-fast", "veo_3_fast", "fal-ai/veo3/fast"),
        routes=routes(
            "veo-3.0-fast-generate-001",
            "fal-ai/veo3/fast",
            "fal-ai/veo3/fast/image-to-video",
            "google/veo-3-fast",
        ),
        resolutions=("720p", "1080p"),
        price_per_second_usd=0.15,
        **VEO3,
    ),
    ModelSpec(
        id="veo-2",
        name="Veo 2",
        description="Google Veo 2: text-to-video and image-to-video, 720p, 5-8 s, no audio.",
        owned_by="google",
        aliases=("veo_2", "fal-ai/veo2", "fal-ai/veo2/image-to-video"),
        routes=routes(
            "veo-2.0-generate-001", "fal-ai/veo2", "fal-ai/veo2/image-to-video", "google/veo-2"
        ),
        durations=(5, 6, 7, 8),
        default_seconds=8,
        resolutions=("720p",),
        default_resolution="720p",
        negative_prompt=True,
        seed=True,
        price_per_second_usd=0.35,
    ),
]
