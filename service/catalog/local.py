"""The built-in renderer: free, offline, any size (the catalog's first and default model)."""

from __future__ import annotations

from service.catalog.spec import ModelSpec, Route

LOCAL_PREVIEW = ModelSpec(
    id="local-preview",
    name="Local preview",
    description="Built-in CPU renderer: a moving scene drawn from the prompt, or a pan/zoom "
    "of the input image. Free, offline, deterministic for a given seed.",
    owned_by="vidgate",
    routes=(Route("local", "local-preview"),),
    aliases=("local",),
    durations=tuple(range(1, 21)),
    default_seconds=4,
    resolutions=("360p", "480p", "540p", "720p", "1080p"),
    default_resolution="720p",
    aspect_ratios=("16:9", "9:16", "1:1", "4:3", "3:4", "21:9"),
    fps=tuple(range(1, 61)),
    negative_prompt=True,
    seed=True,
    free_size=True,
)
