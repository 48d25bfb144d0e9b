"""Every catalog model, on every route it has: the route's adapter turns the parameters the
API records into an upstream request its emulator accepts (submit only).

For each model and route: text-to-video with the model's defaults, text-to-video at its
largest frame (highest resolution, last aspect ratio, longest clip allowed there), and — for
models that take images — image-to-video with an inline PNG and with an image URL (plus an
end frame where the model takes one). The fal emulator judges inputs when a job leaves the
queue, so for fal the job's recorded problems must be empty too.

A few upstreams cannot take an image in one of the two forms; those pairs must be refused
before any call, permanently (`KNOWN_REFUSALS`). Image URLs never reach them that way: their
adapters decline them (`takes_image_url`), and the dispatcher fetches them first
(tests/e2e/test_image_urls_e2e.py).
"""

from __future__ import annotations

import base64
import random
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.catalog import ModelSpec, Route, default_catalog
from service.providers.base import DispatchRequest, Provider, ProviderRejected
from service.providers.fal import FalProvider
from service.providers.kling import KlingProvider
from service.providers.luma import LumaProvider
from service.providers.minimax import MiniMaxProvider
from service.providers.replicate import ReplicateProvider
from service.providers.runway import RunwayProvider
from service.providers.seedance import SeedanceProvider
from service.providers.sora import SoraProvider
from service.providers.veo import GeminiVeoProvider, VertexVeoProvider
from service.sandbox.emulators import (
    fal,
    kling,
    luma,
    minimax,
    replicate,
    runway,
    seedance,
    sora,
    veo,
)
from service.sandbox.emulators.knobs import Knobs
from service.videos.request import parse_video_request
from tests.contract.helpers import png

pytestmark = pytest.mark.anyio
CATALOG = default_catalog()
PNG = base64.b64encode(png()).decode()
DATA = "data:image/png;base64," + PNG
URLS = ("https://example.com/first.png", "https://example.com/last.png")
KEY = "key_" + "0" * 128
# (provider, image form) pairs the upstream cannot take: refused before any call
KNOWN_REFUSALS = {
    ("veo", "image-url"): "invalid_input",  # Veo takes image bytes only
    ("vertex-veo", "image-url"): "invalid_input",
    ("sora", "image-url"): "image_url_unsupported",  # OpenAI takes an uploaded file
    ("luma", "image-data"): "image_upload_unsupported",  # Luma fetches keyframes by URL
}

Emulator = Callable[[Path, Callable[[], float]], Any]
Adapter = Callable[[httpx.AsyncClient, Callable[[], float]], Provider]
UPSTREAMS: dict[str, tuple[str, Emulator, Adapter]] = {
    "fal": (
        "https://queue.fal.run",
        lambda d, c: fal.create_app(KNOBS(), data_dir=d, base_url="https://queue.fal.run", clock=c),
        lambda h, c: FalProvider(h, key="k", user_id="emulated-user"),
    ),
    "replicate": (
        "https://api.replicate.com",
        lambda d, c: replicate.create_app(KNOBS(), data_dir=d, clock=c),
        lambda h, c: ReplicateProvider(h, token="r8_test"),
    ),
    "veo": (
        "https://generativelanguage.googleapis.com",
        lambda d, c: veo.create_app(
            KNOBS(), data_dir=d, base_url="https://generativelanguage.googleapis.com", clock=c
        ),
        lambda h, c: GeminiVeoProvider(h, api_key="AIza-test"),
    ),
    "vertex-veo": (
        "https://us-central1-aiplatform.googleapis.com",
        lambda d, c: veo.create_app(
            KNOBS(), data_dir=d, base_url="https://us-central1-aiplatform.googleapis.com", clock=c
        ),
        lambda h, c: VertexVeoProvider(
            h, project="proj", location="us-central1", token_or_key="ya29.test"
        ),
    ),
    "minimax": (
        "https://api.minimax.io",
        lambda d, c: minimax.create_app(KNOBS(), data_dir=d, clock=c),
        lambda h, c: MiniMaxProvider(h, api_key="mm-test"),
    ),
    "luma": (
        "https://api.lumalabs.ai",
        lambda d, c: luma.create_app(
            KNOBS(), data_dir=d, base_url="https://api.lumalabs.ai", clock=c
        ),
        lambda h, c: LumaProvider(h, api_key="luma-test"),
    ),
    "runway": (
        "https://api.dev.runwayml.com",
        lambda d, c: runway.create_app(KNOBS(), data_dir=d, clock=c, api_keys={KEY}),
        lambda h, c: RunwayProvider(h, api_key=KEY),
    ),
    "sora": (
        "https://api.openai.com",
        lambda d, c: sora.create_app(KNOBS(), data_dir=d, clock=c),
        lambda h, c: SoraProvider(h, api_key="sk-test"),
    ),
    "kling": (
        "https://api-singapore.klingai.com",
        lambda d, c: kling.create_app(KNOBS(), data_dir=d, clock=c),
        lambda h, c: KlingProvider(h, access_key="ak", secret_key="s" * 32, clock=c),
    ),
    "seedance": (
        "https://ark.ap-southeast.bytepluses.com",
        lambda d, c: seedance.create_app(KNOBS(), data_dir=d, clock=c),
        lambda h, c: SeedanceProvider(h, api_key="ark-test"),
    ),
}


def KNOBS() -> Knobs:
    """Jobs that stay queued (the clock never moves): submission is all that is tested."""
    return Knobs(latency=600.0, rng=random.Random(0))


def variants(model: ModelSpec) -> list[str]:
    found = ["text", "text-largest"] if model.takes_text else []
    return found + (["image-data", "image-url"] if model.takes_image else [])


CASES = [
    pytest.param(model, route, variant, id=f"{model.id}-{route.provider}-{variant}")
    for model in CATALOG.models
    for route in model.routes
    if route.provider != "local"
    for variant in variants(model)
]


def fields_for(model: ModelSpec, variant: str) -> dict[str, Any]:
    """The create-video fields of a variant, as a client would send them."""
    fields: dict[str, Any] = {"model": model.id, "prompt": "a red fox in snow"}
    if variant == "text-largest":
        resolution = model.resolutions[-1]
        fields.update(
            resolution=resolution,
            aspect_ratio=model.aspect_ratios[-1],
            seconds=model.durations_for(resolution)[-1],
        )
    if variant.startswith("image"):
        first, last = (DATA, DATA) if variant == "image-data" else URLS
        fields["image_url"] = first
        if model.end_frame:
            fields["end_image_url"] = last
    return fields


def inputs_for(variant: str, end_frame: bool) -> dict[str, Any]:
    """The job's recorded inputs: inline bytes (as the dispatcher hands over uploads to
    upstreams that take bytes) or URLs."""
    if not variant.startswith("image"):
        return {}
    data = {"data": PNG, "content_type": "image/png"}
    first, last = (data, data) if variant == "image-data" else ({"url": u} for u in URLS)
    return {"image": first, **({"end_image": last} if end_frame else {})}


def dispatch_for(model: ModelSpec, route: Route, variant: str, **extra: Any) -> DispatchRequest:
    video = parse_video_request({**fields_for(model, variant), **extra}, CATALOG)
    assert video.model is model
    return DispatchRequest(
        job_id=uuid.uuid4(),
        model=model.id,
        upstream_model=route.upstream_model(has_image=video.image is not None),
        prompt=video.prompt,
        params=video.params(),
        inputs=inputs_for(variant, video.end_image is not None),
    )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def upstream(request, tmp_path) -> AsyncIterator[Callable[[str], tuple[Any, Provider]]]:
    """`upstream(provider)` → (its emulator app, its adapter over ASGI onto it)."""
    opened: list[tuple[Any, httpx.AsyncClient]] = []

    def clock() -> float:
        return 1_700_000_000.0  # frozen: queued jobs stay queued

    def build(provider: str) -> tuple[Any, Provider]:
        base_url, emulator, adapter = UPSTREAMS[provider]
        app = emulator(tmp_path / provider, clock)
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)
        opened.append((app, http))
        return app, adapter(http, clock)

    yield build
    for app, http in opened:
        await http.aclose()
        closer = getattr(app.state.emulator, "aclose", None)
        if closer is not None:
            await closer()


def test_every_catalog_route_has_an_emulated_upstream():
    providers = {route.provider for model in CATALOG.models for route in model.routes}
    assert providers - {"local"} <= set(UPSTREAMS)


@pytest.mark.parametrize(("model", "route", "variant"), CASES)
async def test_the_route_submits_what_the_api_records(model, route, variant, upstream):
    app, provider = upstream(route.provider)
    request = dispatch_for(model, route, variant)
    refusal = KNOWN_REFUSALS.get((route.provider, variant))
    if refusal:
        with pytest.raises(ProviderRejected) as refused:
            await provider.submit(request)
        assert refused.value.code == refusal
        return
    submission = await provider.submit(request)
    assert submission.upstream_id
    if route.provider == "fal":  # fal's models judge the input when the job starts
        job = app.state.emulator.jobs[submission.upstream_id.rpartition(":")[2]]
        assert job.problems == [], job.problems


def received_input(provider: str, app: Any, upstream_id: str) -> dict[str, Any]:
    """The input an emulator recorded for the job it created as `upstream_id`."""
    emulator = app.state.emulator
    if provider == "fal":
        return dict(emulator.jobs[upstream_id.rpartition(":")[2]].input)
    if provider == "replicate":
        return dict(emulator.predictions[upstream_id].input)
    if provider == "minimax":
        return dict(emulator.tasks[upstream_id].input)
    if provider == "luma":
        return dict(emulator.generations[upstream_id].request)
    raise AssertionError(f"no model-specific flags are expected on {provider}")


FLAG_CASES = [
    pytest.param(model, route, flag, value, id=f"{model.id}-{route.provider}-{flag}={value}")
    for model in CATALOG.models
    for flag in ("prompt_optimizer", "loop")
    if getattr(model, flag)
    for route in model.routes
    for value in (True, False)
]


def test_the_model_specific_flags_belong_to_minimax_and_luma_models():
    owners = {
        flag: {m.owned_by for m in CATALOG.models if getattr(m, flag)}
        for flag in ("prompt_optimizer", "loop")
    }
    assert owners == {"prompt_optimizer": {"minimax"}, "loop": {"luma"}}
    assert len(FLAG_CASES) >= 20


@pytest.mark.parametrize(("model", "route", "flag", "value"), FLAG_CASES)
async def test_model_specific_flags_reach_the_upstream(model, route, flag, value, upstream):
    """NovaKit's `prompt_optimizer` (MiniMax) and `loop` (Luma), on every route of the models
    that take them, arrive under the upstream's own name and are accepted there."""
    app, provider = upstream(route.provider)
    request = dispatch_for(
        model, route, "text" if model.takes_text else "image-url", **{flag: value}
    )
    assert request.params[flag] is value
    submission = await provider.submit(request)
    assert received_input(route.provider, app, submission.upstream_id)[flag] is value
    if route.provider == "fal":
        job = app.state.emulator.jobs[submission.upstream_id.rpartition(":")[2]]
        assert job.problems == [], job.problems


STYLE_CASES = [
    pytest.param(model, route, style, id=f"{model.id}-{route.provider}-{style}")
    for model in CATALOG.models
    for route in model.routes
    for style in model.styles
]


def test_styles_belong_to_pixverse():
    assert {m.owned_by for m in CATALOG.models if m.styles} == {"pixverse"}
    assert len(STYLE_CASES) >= 5


@pytest.mark.parametrize(("model", "route", "style"), STYLE_CASES)
async def test_a_style_reaches_the_upstream_and_is_accepted_there(model, route, style, upstream):
    app, provider = upstream(route.provider)
    request = dispatch_for(model, route, "text", style=style)
    assert request.params["style"] == style
    submission = await provider.submit(request)
    assert received_input(route.provider, app, submission.upstream_id)["style"] == style
    job = app.state.emulator.jobs[submission.upstream_id.rpartition(":")[2]]
    assert job.problems == [], job.problems


async def test_the_fal_emulator_refuses_a_style_pixverse_lacks(upstream):
    """A style outside the model's list fails there as fal's pydantic schema would."""
    model = CATALOG.resolve("pixverse-v5.5")
    assert model is not None
    app, provider = upstream("fal")
    request = dispatch_for(model, model.routes[0], "text")
    request = replace(request, params={**request.params, "style": "watercolor"})
    submission = await provider.submit(request)
    job = app.state.emulator.jobs[submission.upstream_id.rpartition(":")[2]]
    assert [(p["loc"], p["type"]) for p in job.problems] == [(["body", "style"], "literal_error")]
