"""Emulated models' videos: rendered once per distinct request, then shared.

The renderer is deterministic (the same spec gives the same bytes), so a second job asking
for the same video gets a hard link to the first one's file instead of another encode. A
sandbox run of thousands of jobs with a handful of prompts then costs a handful of renders.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
from pathlib import Path

from service.media.render import RenderSpec, render_video

CACHE_DIR = ".renders"


async def render_once(spec: RenderSpec, dest: Path) -> Path:
    """Render `spec` to `dest` (atomically) unless an identical render is there to link."""
    cached = dest.parent / CACHE_DIR / f"{spec_key(spec)}.mp4"
    if not cached.exists():
        # Two identical renders at once both write; the renderer's rename keeps either whole.
        await asyncio.to_thread(render_video, spec, cached)
    await asyncio.to_thread(_place, cached, dest)
    return dest


def spec_key(spec: RenderSpec) -> str:
    return hashlib.sha256(repr(spec).encode()).hexdigest()[:32]


def _place(cached: Path, dest: Path) -> None:
    tmp = dest.with_name(f".{dest.name}.link")
    tmp.unlink(missing_ok=True)
    try:
        os.link(cached, tmp)
    except OSError:  # a filesystem without hard links
        shutil.copyfile(cached, tmp)
    os.replace(tmp, dest)
