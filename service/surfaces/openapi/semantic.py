"""Fields whose validity JSON Schema cannot state, per operation (`x-semantic-fields`).

What a model supports comes from the catalog; some fields are compared with each other
(`from` ≤ `to`, one spelling of a parameter, not two) or with stored state (`at` before the
video existed); an image must decode. The server answers a 400 naming the field; the
document says which fields may be refused that way, so a fuzzer can tell such a rule from a
schema that disagrees with the server.
"""

from __future__ import annotations

from typing import Any

from service.surfaces.task_api import METADATA

_CATALOG = (
    "model",
    "prompt",  # its length limit is the model's
    "resolution",
    "aspect_ratio",
    "fps",
    "seed",
    "negative_prompt",
    "loop",
)
_IMAGES = ("image_url", "end_image_url")
_VIDEOS = ("video_url",)  # a model with the video-to-video mode

SEMANTIC_FIELDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("post", "/v1/videos"): (
        *_CATALOG,
        *_IMAGES,
        *_VIDEOS,
        "seconds",
        "size",
        "audio",
        "style",
        "prompt_optimizer",
        "input_reference",
        "input_reference.image_url",
    ),
    ("get", "/v1/videos/{video_id}"): ("at",),
    ("get", "/v1/videos/{video_id}/content"): ("index",),  # below the job's video count
    ("get", "/v1/videos"): ("after",),  # one of the tenant's videos
    ("get", "/v1/analytics"): ("from", "to"),
    ("post", "/v1/webhook_endpoints/{endpoint_id}/recover"): ("since", "until"),
    ("post", "/api/v1/video/generate"): (
        "model",
        "duration",
        "aspect_ratio",
        "resolution",
        "image_url",
    ),
    ("post", "/v2/videos/generate"): (
        *_CATALOG,
        *_IMAGES,
        "duration",
        "audio",
        "generate_audio",
        "aspectRatio",
        "negativePrompt",
        "generateAudio",
        "imageUrl",
        "endImageUrl",
    ),
    ("post", "/api/v1/videos/generations"): (
        *_CATALOG,
        "duration_seconds",
        "prompt_optimizer",
        "mode",
        "source_image",
        "source_video",
    ),
    ("post", "/v1/video/generations"): (
        "model",
        "prompt",
        *(f"metadata.{name}" for name in METADATA),
        "duration",
        "fps",
        "width",
        "height",
        "seed",
        "image",
    ),
}


# v2 takes its parameters at the top level or under `parameters`, under either spelling.
_V2 = SEMANTIC_FIELDS[("post", "/v2/videos/generate")]
SEMANTIC_FIELDS[("post", "/v2/videos/generate")] = (*_V2, *(f"parameters.{name}" for name in _V2))


def mark_semantic_fields(paths: dict[str, Any]) -> dict[str, Any]:
    """`paths` with each listed operation's `x-semantic-fields` set."""
    for (method, path), fields in SEMANTIC_FIELDS.items():
        paths[path][method]["x-semantic-fields"] = list(fields)
    return paths
