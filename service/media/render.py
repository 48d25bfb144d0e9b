"""CPU renderer for the built-in "local" provider: real H.264 MP4s encoded with PyAV."""

from __future__ import annotations

import hashlib
import io
import math
import os
import secrets
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

_IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "GIF")
_ZOOM = 0.15  # Ken Burns end zoom is 1 + _ZOOM
_PROGRESS_STEP = 5  # percent between on_progress calls, so a job emits ~20 events at most
_BG_SCALE = 8  # background is computed at 1/8 resolution: it is a smooth gradient anyway

Scene = Callable[[int], Image.Image]


@dataclass(frozen=True)
class RenderSpec:
    width: int
    height: int
    seconds: float
    fps: int
    prompt: str
    seed: int | None = None
    negative_prompt: str | None = None
    image: bytes | None = None


@dataclass(frozen=True)
class RenderedVideo:
    path: Path
    width: int
    height: int
    duration: float
    fps: int
    frames: int
    bytes: int
    sha256: str
    content_type: str = "video/mp4"


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    duration: float
    fps: float
    frames: int
    codec: str


class RenderCanceled(Exception):
    """Rendering stopped because should_stop() returned True."""


class ImageUnreadable(ValueError):
    """The input image could not be decoded (message says why)."""


def decode_image(data: bytes, *, max_pixels: int = 40_000_000) -> Image.Image:
    """Decode PNG/JPEG/WebP/GIF bytes into an RGB image or raise ImageUnreadable."""
    if not data:
        raise ImageUnreadable("image is empty")
    try:
        with Image.open(io.BytesIO(data), formats=_IMAGE_FORMATS) as img:
            width, height = img.size
            if width <= 0 or height <= 0:
                raise ImageUnreadable(f"image has zero size ({width}x{height})")
            # Checked on the header, before load(), so a decompression bomb never allocates.
            if width * height > max_pixels:
                raise ImageUnreadable(f"image is too large ({width}x{height} > {max_pixels} px)")
            img.load()
            return _to_rgb(ImageOps.exif_transpose(img))
    except ImageUnreadable:
        raise
    except UnidentifiedImageError as exc:
        raise ImageUnreadable("not a PNG, JPEG, WebP or GIF image") from exc
    except Exception as exc:
        # Pillow's decoders raise many types on hostile input (OSError, SyntaxError,
        # struct.error, warnings-as-errors, ...); callers only need one.
        raise ImageUnreadable(f"image could not be decoded: {exc}") from exc


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
        # Composite onto black rather than letting convert() expose hidden colour data.
        rgba = img.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, "black"), rgba).convert("RGB")
    return img.convert("RGB")


def render_video(
    spec: RenderSpec,
    dest: Path,
    *,
    on_progress: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    frame_delay: float = 0.0,
) -> RenderedVideo:
    """Render spec into an H.264 MP4 at dest (atomically) and describe the file."""
    _validate(spec)
    frames = max(1, round(spec.seconds * spec.fps))
    scene = _scene(spec, frames)  # decodes the input image before touching the disk
    with _atomic(dest) as tmp:
        _encode(tmp, spec, scene, frames, on_progress, should_stop, frame_delay)
        digest, size = _hash_and_sync(tmp)
    duration = frames / spec.fps
    return RenderedVideo(dest, spec.width, spec.height, duration, spec.fps, frames, size, digest)


def _validate(spec: RenderSpec) -> None:
    def is_int(value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    for name in ("width", "height"):
        value = getattr(spec, name)
        if not is_int(value) or value % 2 or not 16 <= value <= 1920:
            raise ValueError(f"{name} must be an even integer in 16..1920, got {value!r}")
    if not isinstance(spec.seconds, int | float) or not 0 < spec.seconds <= 60:
        raise ValueError(f"seconds must be in (0, 60], got {spec.seconds!r}")
    if not is_int(spec.fps) or not 1 <= spec.fps <= 60:
        raise ValueError(f"fps must be an integer in 1..60, got {spec.fps!r}")


@contextmanager
def _atomic(dest: Path) -> Iterator[Path]:
    # The temp file lives next to dest so os.replace is an atomic rename; on any error
    # (including RenderCanceled) it is removed and dest is left untouched.
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(6)}.tmp")
    try:
        yield tmp
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _encode(
    tmp: Path,
    spec: RenderSpec,
    scene: Scene,
    frames: int,
    on_progress: Callable[[int], None] | None,
    should_stop: Callable[[], bool] | None,
    frame_delay: float,
) -> None:
    time_base, reported = Fraction(1, spec.fps), 0
    with av.open(str(tmp), "w", format="mp4", container_options={"movflags": "+faststart"}) as out:
        codec_options = {"preset": "veryfast", "crf": "23"}
        stream = out.add_stream("libx264", rate=spec.fps, options=codec_options)
        stream.width, stream.height, stream.pix_fmt = spec.width, spec.height, "yuv420p"
        for index in range(frames):
            if should_stop is not None and should_stop():
                raise RenderCanceled(f"canceled after {index} of {frames} frames")
            frame = av.VideoFrame.from_ndarray(np.asarray(scene(index)), format="rgb24")
            frame.pts, frame.time_base = index, time_base  # pts in 1/fps: duration = frames/fps
            out.mux(stream.encode(frame))  # the encoder converts rgb24 to its yuv420p
            if frame_delay > 0:
                time.sleep(frame_delay)
            # Never 100: the file is not in place yet, and completion is the caller's event.
            percent = min(99, (index + 1) * 100 // frames)
            last = index + 1 == frames and percent > reported
            if on_progress is not None and (percent - reported >= _PROGRESS_STEP or last):
                reported = percent
                on_progress(percent)
        out.mux(stream.encode(None))


def _hash_and_sync(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
        # Flush to disk before the rename so a power cut cannot leave an empty dest.
        os.fsync(fh.fileno())
    return digest.hexdigest(), size


def _scene(spec: RenderSpec, frames: int) -> Scene:
    # negative_prompt is deliberately ignored: a procedural scene has nothing to steer away from.
    key = repr((spec.prompt, spec.seed)).encode()
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(key).digest(), "big"))
    if spec.image is not None:
        return _ken_burns(decode_image(spec.image), spec, frames, rng)
    return _text_scene(spec, rng)


def _ken_burns(
    image: Image.Image, spec: RenderSpec, frames: int, rng: np.random.Generator
) -> Scene:
    size = (spec.width, spec.height)
    x0, y0, x1, y1 = _cover_box(image.size, spec.width / spec.height)
    need = (round(spec.width * (1 + _ZOOM)), round(spec.height * (1 + _ZOOM)))
    if x1 - x0 > need[0]:
        # Downscale once with a high-quality filter so per-frame resizes stay cheap.
        image = image.resize(need, Image.Resampling.LANCZOS, (x0, y0, x1, y1), reducing_gap=3.0)
        x0, y0, x1, y1 = 0.0, 0.0, float(need[0]), float(need[1])
    pan_x, pan_y = rng.uniform(-1.0, 1.0, size=2)

    def frame(index: int) -> Image.Image:
        p = index / (frames - 1) if frames > 1 else 0.0
        p = p * p * (3 - 2 * p)  # smoothstep: ease in and out
        bw, bh = x1 - x0, y1 - y0
        w, h = bw / (1 + _ZOOM * p), bh / (1 + _ZOOM * p)
        # Pan at most the slack left by the zoom, so the window never leaves the image.
        cx = x0 + bw / 2 + pan_x * p * (bw - w) / 2
        cy = y0 + bh / 2 + pan_y * p * (bh - h) / 2
        box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
        return image.resize(size, Image.Resampling.BICUBIC, box=box)

    return frame


def _cover_box(size: tuple[int, int], aspect: float) -> tuple[float, float, float, float]:
    width, height = size
    if width / height > aspect:
        crop = height * aspect
        return ((width - crop) / 2, 0.0, (width + crop) / 2, float(height))
    crop = width / aspect
    return (0.0, (height - crop) / 2, float(width), (height + crop) / 2)


def _text_scene(spec: RenderSpec, rng: np.random.Generator) -> Scene:
    w, h = spec.width, spec.height
    ys, xs = np.meshgrid(
        np.linspace(0, h / w, max(2, math.ceil(h / _BG_SCALE)), dtype=np.float32),
        np.linspace(0, 1, max(2, math.ceil(w / _BG_SCALE)), dtype=np.float32),
        indexing="ij",
    )
    angle = rng.uniform(0, 2 * math.pi)
    u = xs * math.cos(angle) + ys * math.sin(angle)
    v = ys * math.cos(angle) - xs * math.sin(angle)
    c0, c1, c2 = rng.uniform(20, 235, size=(3, 3)).astype(np.float32)
    k1, k2, s1, s2 = rng.uniform(0.4, 1.2, size=4)
    count = int(rng.integers(4, 8))
    bars = rng.random(count) < 0.4
    colors = [tuple(int(c) for c in row) for row in rng.integers(40, 256, size=(count, 3))]
    # Per shape: radius (of height), centre x/y, frequency x/y (Hz), phase x/y.
    low, high = [0.06, 0.25, 0.25, 0.15, 0.15, 0, 0], [0.16, 0.75, 0.75, 0.45, 0.45, 6.3, 6.3]
    params = rng.uniform(low, high, size=(count, 7))
    text = _text_layer(spec.prompt, w, h)

    def frame(index: int) -> Image.Image:
        t = index / spec.fps  # seconds, so motion speed does not depend on fps
        a = (0.5 + 0.5 * np.sin(2 * np.pi * (u * k1 - t * s1 * 0.3)))[..., None]
        b = (0.5 + 0.5 * np.sin(2 * np.pi * (v * k2 + t * s2 * 0.2)))[..., None]
        rgb = c0 + a * (c1 - c0)
        rgb += 0.45 * b * (c2 - rgb)
        small = Image.fromarray(rgb.clip(0, 255).astype(np.uint8))
        img = small.resize((w, h), Image.Resampling.BILINEAR)
        draw = ImageDraw.Draw(img)
        swing = np.array([0.3, 0.25]) * np.sin(2 * np.pi * params[:, 3:5] * t + params[:, 5:7])
        centres = (params[:, 1:3] + swing) * [w, h]
        for bar, color, r, (x, y) in zip(bars, colors, params[:, 0] * h, centres, strict=True):
            if bar:
                draw.rounded_rectangle((x - 2 * r, y - r / 3, x + 2 * r, y + r / 3), r / 4, color)
            else:
                draw.ellipse((x - r, y - r, x + r, y + r), fill=color)
        if text is not None:
            img.paste(text[0], text[1], text[0])
        return img

    return frame


def _text_layer(prompt: str, w: int, h: int) -> tuple[Image.Image, tuple[int, int]] | None:
    size = max(8, round(h * 0.06))
    font = ImageFont.load_default(size=size)  # scalable Aileron when Pillow has FreeType
    stroke = max(1, size // 12)
    line_h = size + 2 * stroke + size // 5
    margin = max(2, round(w * 0.05))
    max_lines = max(1, min(3, int(h * 0.4) // line_h))
    text = " ".join(prompt.split())[:600]
    # textwrap counts characters, the font is proportional: narrow the column until it fits.
    for columns in range(max(4, int((w - 2 * margin) / (size * 0.4))), 3, -1):
        lines = textwrap.wrap(text, columns, max_lines=max_lines, placeholder="...")
        if all(font.getlength(line) + 2 * stroke <= w - 2 * margin for line in lines):
            break
    else:
        return None
    if not lines:
        return None
    width = math.ceil(max(font.getlength(line) for line in lines)) + 2 * stroke
    layer = Image.new("RGBA", (width, line_h * len(lines)), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for i, line in enumerate(lines):
        xy = (stroke, i * line_h + stroke)
        draw.text(xy, line, fill="white", font=font, stroke_width=stroke, stroke_fill="black")
    return layer, ((w - width) // 2, h - margin - layer.height)


def render_thumbnail(video: Path, dest: Path, *, width: int | None = None) -> Path:
    """Write a JPEG of the video's middle frame to dest (atomically), optionally resized."""
    image = _middle_frame(video)
    if width is not None:
        if width < 1:
            raise ValueError(f"width must be positive, got {width}")
        height = max(1, round(image.height * width / image.width))
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    with _atomic(dest) as tmp:
        image.save(tmp, format="JPEG", quality=88)
    return dest


def _middle_frame(video: Path) -> Image.Image:
    with av.open(str(video)) as container:
        if not container.streams.video:
            raise ValueError(f"{video} has no video stream")
        stream = container.streams.video[0]
        target = 0.0
        if stream.duration is not None and stream.time_base is not None:
            target = float(stream.duration * stream.time_base) / 2
            # Lands on the keyframe at or before target; decoding forward finds the frame.
            container.seek(int(target / stream.time_base), stream=stream)
        chosen: Any = None
        for frame in container.decode(stream):
            chosen = frame
            if frame.time is not None and frame.time >= target:
                break
        if chosen is None:
            raise ValueError(f"{video} has no decodable frames")
        image: Image.Image = chosen.to_image()
        return image


def describe_video(path: Path) -> VideoInfo:
    """Describe a video from its container's metadata, decoding only its first frame (proof
    that it plays): the output mirror's check, ~1/N of `probe_video`'s cost for N frames."""
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise ValueError(f"{path} has no video stream")
        stream = container.streams.video[0]
        if next(iter(container.decode(stream)), None) is None:
            raise ValueError(f"{path} has no decodable frames")
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else 0.0
        frames = int(stream.frames or 0)
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        else:
            duration = frames / fps if fps else 0.0
        ctx = stream.codec_context
        return VideoInfo(ctx.width, ctx.height, duration, fps, frames, ctx.name)


def probe_video(path: Path) -> VideoInfo:
    """Describe a video by decoding every frame of its first video stream."""
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise ValueError(f"{path} has no video stream")
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else 0.0
        duration = frames / fps if fps else 0.0
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        ctx = stream.codec_context
        return VideoInfo(ctx.width, ctx.height, duration, fps, frames, ctx.name)
