"""What the fal emulator's video models accept, per endpoint family: durations (and how they
are spelled), resolutions, the first- and last-frame fields.

Matched by endpoint-id prefix, longest first; an endpoint of no known family accepts what the
emulator always did (any duration of 1 to 20 seconds, an `image_url`). The families follow
fal's model pages where checked (Veo 3/3.1, Kling 2.5 Turbo and 3, Wan 2.6, LTX-2) and the
vendors' documented options elsewhere (marked "unverified" in `service.providers.fal_schemas`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def _texts(*seconds: int) -> tuple[str, ...]:
    return tuple(map(str, seconds))


def _suffixed(*seconds: int) -> tuple[str, ...]:
    return tuple(f"{s}s" for s in seconds)


@dataclass(frozen=True)
class Family:
    durations: tuple[Any, ...] | None = None  # None: any 1-20 s (strings or numbers)
    resolutions: tuple[str, ...] | None = None  # None: the endpoint takes no resolution
    image: str = "image_url"
    end_image: str | None = None
    styles: tuple[str, ...] | None = None  # None: the endpoint takes no style
    outputs: int = 1  # videos a request makes: more than one come back as `videos: [...]`


# Kling 2.x takes "5" or "10"; the emulator takes any whole-second string so that its own tests
# can render clips of a second or two.
KLING = Family(_texts(*range(1, 21)), end_image="tail_image_url")
FAMILIES: dict[str, Family] = {
    "fal-ai/veo3": Family(_suffixed(4, 6, 8), ("720p", "1080p", "4k")),
    # Veo 3.1 takes a first and a last frame at its own endpoint (field names unverified)
    "fal-ai/veo3.1/first-last-frame-to-video": Family(
        _suffixed(4, 6, 8), ("720p", "1080p", "4k"), "first_frame_url", "last_frame_url"
    ),
    "fal-ai/veo3.1/fast/first-last-frame-to-video": Family(
        _suffixed(4, 6, 8), ("720p", "1080p", "4k"), "first_frame_url", "last_frame_url"
    ),
    "fal-ai/veo2": Family(_suffixed(5, 6, 7, 8)),
    "fal-ai/kling-video/v3": Family(
        _texts(*range(3, 16)), image="start_image_url", end_image="end_image_url"
    ),
    "fal-ai/kling-video/v2.6": Family(_texts(5, 10)),
    "fal-ai/kling-video": KLING,
    "fal-ai/minimax/video-01": Family(),
    "fal-ai/minimax/hailuo": Family(_texts(6, 10), end_image="end_image_url"),
    "fal-ai/luma-dream-machine": Family(
        _suffixed(5, 9), ("540p", "720p", "1080p"), end_image="end_image_url"
    ),
    "fal-ai/sora-2": Family((4, 8, 12), ("720p", "1080p")),
    "fal-ai/bytedance/seedance": Family(
        _texts(*range(2, 13)), ("480p", "720p", "1080p"), end_image="end_image_url"
    ),
    "bytedance/seedance-2.0": Family(
        _texts(*range(4, 16)), ("480p", "720p", "1080p"), end_image="end_image_url"
    ),
    "fal-ai/wan-25-preview": Family(_texts(5, 10), ("480p", "720p", "1080p")),
    "wan/v2.6": Family(_texts(5, 10, 15), ("480p", "720p", "1080p")),
    "fal-ai/wan-pro": Family(),
    "xai/grok-imagine-video": Family(tuple(range(1, 16)), ("480p", "720p")),
    "fal-ai/pixverse": Family(
        _texts(5, 8, 10),
        ("360p", "540p", "720p", "1080p"),
        styles=("anime", "3d_animation", "clay", "comic", "cyberpunk"),
    ),
    "fal-ai/ltx-2": Family((6, 8, 10), ("1080p", "1440p", "2160p")),
    # Midjourney animates an image into four videos (the v2 seed: "4 videos per request"; other
    # hosts' Midjourney video APIs agree). fal's endpoint and its result shape are unverified:
    # `videos`, a list of fal files, as fal's multi-output apps return `images`.
    "fal-ai/midjourney": Family(outputs=4),
}
_BY_LENGTH = sorted(FAMILIES, key=len, reverse=True)


def family_of(endpoint: str) -> Family | None:
    """The rules of the endpoint's family, or None for an endpoint of no known family."""
    prefix = next((p for p in _BY_LENGTH if endpoint.startswith(p)), None)
    return FAMILIES[prefix] if prefix else None
