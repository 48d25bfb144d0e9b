"""A request's frame and timing — size, resolution, aspect ratio, seconds, fps — checked
against what its model renders, with the model's defaults filling what was not asked.

Catalog models render a fixed set of frames (resolution × aspect ratio) for discrete clip
lengths; `size`, when given, must be one of those frames. `free_size` models (the built-in
renderer) take any even size within their limits, or derive one from resolution and aspect
ratio around their default size.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from service.catalog import ModelSpec, spell
from service.catalog.spec import ASPECT_RATIOS, RESOLUTIONS
from service.videos.errors import InvalidField

SIZE_PATTERN = re.compile(r"([0-9]{1,5})x([0-9]{1,5})")  # fullmatch: no "160x90\n"


@dataclass(frozen=True)
class Shape:
    width: int
    height: int
    resolution: str | None
    aspect_ratio: str | None
    seconds: int
    fps: int


def shape(fields: Mapping[str, Any], model: ModelSpec) -> Shape:
    """The request's frame and timing for `model`, or an `InvalidField` naming the bad one."""
    resolution = choice(fields, "resolution", model.resolutions, model)
    aspect = choice(fields, "aspect_ratio", model.aspect_ratios, model)
    if model.free_size:
        width, height = _free_size(fields, model, resolution, aspect)
    else:
        resolution, aspect = _frame(fields, model, resolution, aspect)
        width, height = model.size_for(resolution, aspect)
    allowed = model.durations_for(resolution)
    at = f" at {resolution}" if allowed != model.durations else ""
    default = model.default_seconds if model.default_seconds in allowed else allowed[0]
    seconds = listed(fields, "seconds", allowed, default, f"{model.id}{at}")
    fps = listed(fields, "fps", model.fps, model.default_fps, model.id)
    return Shape(width, height, resolution, aspect, seconds, fps)


def as_int(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise InvalidField(name, lambda n: f"{n(name)} must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,12}\s*", value):
        return int(value)
    raise InvalidField(name, lambda n: f"{n(name)} must be an integer, got {value!r}")


def listed(
    fields: Mapping[str, Any], name: str, allowed: Sequence[int], default: int, what: str
) -> int:
    """An integer field that must be one of `allowed` (`default` when absent)."""
    value = fields.get(name)
    if value is None or value == "":
        return default
    number = as_int(name, value)
    if number not in allowed:
        one_of = _one_of(allowed)
        raise InvalidField(
            name, lambda n: f"{n(name)} must be {one_of} for {what}; got {number}", allowed=allowed
        )
    return number


def choice(
    fields: Mapping[str, Any], name: str, allowed: Sequence[str], model: ModelSpec
) -> str | None:
    value = fields.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or value not in allowed:
        listing = ", ".join(allowed)
        raise InvalidField(
            name,
            lambda n: f"{n(name)} must be one of {listing} for {model.id}; got {value!r}",
            allowed=allowed,
        )
    return value


def _one_of(allowed: Sequence[int]) -> str:
    words = spell(allowed)
    return f"from {words}" if " to " in words else f"one of {words}"


def _frame(
    fields: Mapping[str, Any], model: ModelSpec, resolution: str | None, aspect: str | None
) -> tuple[str, str]:
    """(resolution, aspect ratio): from `size` if given (it must be one of the model's
    frames and agree with them), else as asked, else the model's defaults."""
    size = fields.get("size")
    if size is None or size == "":
        return resolution or model.default_resolution, aspect or model.default_aspect_ratio
    frames = model.frame_sizes()
    if not isinstance(size, str) or size not in frames:
        listing = ", ".join(frames)
        raise InvalidField(
            "size",
            lambda n: f"{n('size')} must be one of {listing} for {model.id}; got {size!r}",
            allowed=list(frames),
        )
    size_resolution, size_aspect = frames[size]
    if resolution not in (None, size_resolution) or aspect not in (None, size_aspect):
        raise InvalidField(
            "size",
            lambda n: (
                f"{n('size')} {size} is {size_resolution} {size_aspect}, which "
                f"disagrees with {n('resolution')}/{n('aspect_ratio')}; give one"
            ),
        )
    return size_resolution, size_aspect


def _free_size(
    fields: Mapping[str, Any], model: ModelSpec, resolution: str | None, aspect: str | None
) -> tuple[int, int]:
    explicit = _parse_size(fields.get("size"), model)
    default = _parse_size(model.default_size, model) or (1280, 720)
    derived = _derived_size(resolution, aspect, explicit or default)
    if explicit and derived and explicit != derived:
        got = "x".join(map(str, explicit))
        raise InvalidField(
            "size",
            lambda n: (
                f"{n('size')} {got} disagrees with {n('resolution')}/{n('aspect_ratio')}; give one"
            ),
        )
    if derived and not explicit:
        w, h = derived
        if max(w, h) > model.max_side or w * h > model.max_pixels:
            limits = f"sides ≤ {model.max_side}, ≤ {model.max_pixels} px"
            raise InvalidField(
                "resolution",
                lambda n: (
                    f"{n('resolution')}/{n('aspect_ratio')} give {w}x{h}, "
                    f"larger than {model.id} renders ({limits})"
                ),
            )
    return explicit or derived or default


def _parse_size(value: Any, model: ModelSpec) -> tuple[int, int] | None:
    if value is None or value == "":
        return None
    match = SIZE_PATTERN.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidField("size", lambda n: f"{n('size')} must look like 1280x720, got {value!r}")
    width, height = int(match[1]), int(match[2])
    if width % 2 or height % 2 or min(width, height) < 16 or max(width, height) > model.max_side:
        raise InvalidField(
            "size", lambda n: f"{n('size')} sides must be even and between 16 and {model.max_side}"
        )
    if width * height > model.max_pixels:
        raise InvalidField(
            "size",
            lambda n: f"{n('size')} {value} exceeds {model.max_pixels} pixels for {model.id}",
        )
    return width, height


def _derived_size(
    resolution: str | None, aspect: str | None, fallback: tuple[int, int]
) -> tuple[int, int] | None:
    if resolution is None and aspect is None:
        return None
    short = RESOLUTIONS[resolution] if resolution else min(fallback)
    w, h = ASPECT_RATIOS[aspect] if aspect else (fallback[0], fallback[1])
    long_side = round(short * max(w, h) / min(w, h) / 2) * 2
    return (long_side, short) if w >= h else (short, long_side)
