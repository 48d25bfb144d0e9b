"""The model catalog: every seed id resolves, aliases join models, twins and routes."""

from __future__ import annotations

import pytest

from service.catalog import (
    I2V,
    PROVIDER_KEYS,
    T2V,
    Catalog,
    ModelSpec,
    Route,
    default_catalog,
    frame_size,
    unavailable_message,
)

CATALOG = default_catalog()
SEED_IDS = {
    "concurred": [
        "veo-3.1",
        "veo-3.1-fast",
        "kling-3-pro",
        "kling-3-pro-i2v",
        "wan-2.6",
        "wan-2.6-i2v",
    ],
    "novakit": [
        "fal-ai/minimax/video-01",
        "fal-ai/minimax/hailuo-02/standard/text-to-video",
        "fal-ai/veo3",
        "fal-ai/veo3/fast",
        "fal-ai/kling-video/v2.5-turbo/pro/text-to-video",
        "fal-ai/kling-video/v2/master/text-to-video",
        "fal-ai/pixverse/v5.5/text-to-video",
        "fal-ai/ltx-2/text-to-video/fast",
        "fal-ai/minimax/video-01/image-to-video",
        "fal-ai/veo2/image-to-video",
        "fal-ai/kling-video/v2.5-turbo/pro/image-to-video",
        "fal-ai/wan-pro/image-to-video",
        "fal-ai/minimax/hailuo-2.3/pro/image-to-video",
        "fal-ai/bytedance/seedance/v1/pro/image-to-video",
    ],
    "v2": [
        "grok-imagine-video",
        "hailuo-02",
        "hailuo-2.3",
        "hailuo-2.3-fast",
        "luma-ray-2",
        "luma-ray-flash-2",
        "kling-2.1",
        "kling-2.1-master",
        "kling-2.5-turbo-pro",
        "kling-2.6",
        "kling-3.0",
        "midjourney-video",
        "runway-gen4-turbo",
        "runway-gen4.5",
        "seedance-1-lite",
        "seedance-1-pro",
        "seedance-1-pro-fast",
        "seedance-1.5-pro",
        "seedance-2",
        "seedance-2-fast",
        "sora-2",
        "sora-2-pro",
        "veo-2",
        "veo-3",
        "veo-3-fast",
        "veo-3.1",
        "veo-3.1-fast",
        "wan-2.5",
        "wan-2.5-fast",
        "wan-2.6",
        "wan-2.6-flash",
    ],
    "task": ["kling-v2-5-turbo", "kling-v2-1-master", "veo_3_1", "veo_3_1-fast"],
}
SAME_MODEL = [
    ("veo_3_1", "veo-3.1"),
    ("veo_3_1-fast", "veo-3.1-fast"),
    ("fal-ai/veo3", "veo-3"),
    ("fal-ai/veo3/fast", "veo-3-fast"),
    ("fal-ai/veo2/image-to-video", "veo-2"),
    ("kling-v2-5-turbo", "kling-2.5-turbo-pro"),
    ("fal-ai/kling-video/v2.5-turbo/pro/text-to-video", "kling-2.5-turbo-pro"),
    ("fal-ai/kling-video/v2.5-turbo/pro/image-to-video", "kling-2.5-turbo-pro"),
    ("kling-v2-1-master", "kling-2.1-master"),
    ("fal-ai/bytedance/seedance/v1/pro/image-to-video", "seedance-1-pro"),
    ("local", "local-preview"),
]


def test_the_seeds_name_the_models_this_test_lists():
    assert len(SEED_IDS["v2"]) == 31
    assert len(SEED_IDS["novakit"]) == 14


@pytest.mark.parametrize("name", [n for ids in SEED_IDS.values() for n in ids])
def test_every_seed_id_is_a_model_or_an_alias_of_one(name):
    assert CATALOG.resolve(name) is not None


@pytest.mark.parametrize(("alias", "model"), SAME_MODEL)
def test_aliases_join_the_same_model_across_seeds(alias, model):
    assert CATALOG.resolve(alias) is CATALOG.resolve(model)


def test_local_preview_is_first_and_the_default_and_free():
    assert CATALOG.models[0].id == CATALOG.default.id == "local-preview"
    assert CATALOG.default.free_size and CATALOG.default.price_for("720p") == 0.0


def test_an_unknown_name_resolves_to_nothing():
    assert CATALOG.resolve("sora-9") is None
    assert CATALOG.resolve("VEO-3.1") is None  # ids are case-sensitive, as the seeds spell them


@pytest.mark.parametrize(
    ("text", "image"),
    [
        ("kling-3-pro", "kling-3-pro-i2v"),
        ("wan-2.6", "wan-2.6-i2v"),
        ("fal-ai/minimax/video-01", "fal-ai/minimax/video-01/image-to-video"),
    ],
)
def test_text_only_models_name_their_image_to_video_twin(text, image):
    model, twin = CATALOG.resolve(text), CATALOG.resolve(image)
    assert model is not None and twin is not None
    assert model.modes == (T2V,) and I2V in twin.modes
    assert CATALOG.twin_of(model) is twin


def test_every_twin_is_an_image_to_video_model_and_only_text_only_models_have_one():
    for model in CATALOG.models:
        twin = CATALOG.twin_of(model)
        assert (twin is not None) == (model.twin is not None)
        if twin is not None:
            assert not model.takes_image and twin.takes_image


def test_routes_go_direct_first_then_fal_then_replicate():
    order = {"fal": 1, "replicate": 2}
    for model in CATALOG.models:
        ranks = [order.get(route.provider, 0) for route in model.routes]
        assert ranks == sorted(ranks), model.id


def test_a_model_picks_the_first_route_whose_provider_is_enabled():
    veo = CATALOG.resolve("veo-3.1")
    assert veo is not None
    assert [r.provider for r in veo.routes] == ["veo", "vertex-veo", "fal", "replicate"]
    assert veo.route({"replicate", "fal"}) == Route(
        "fal", "fal-ai/veo3.1", "fal-ai/veo3.1/image-to-video"
    )
    assert veo.route({"veo", "fal"}).provider == "veo"  # type: ignore[union-attr]
    assert veo.route({"local"}) is None


def test_a_route_names_its_image_endpoint_for_requests_with_an_image():
    route = Route("fal", "fal-ai/veo3.1", "fal-ai/veo3.1/image-to-video")
    assert route.upstream_model(has_image=False) == "fal-ai/veo3.1"
    assert route.upstream_model(has_image=True) == "fal-ai/veo3.1/image-to-video"
    assert Route("veo", "veo-3.1-generate-preview").upstream_model(True) == (
        "veo-3.1-generate-preview"
    )


def test_a_route_to_an_unknown_provider_is_refused():
    with pytest.raises(ValueError, match="provider"):
        Route("acme", "x")


def test_vendors_without_an_adapter_start_at_fal():
    for name in (
        "wan-2.6",
        "grok-imagine-video",
        "pixverse-v5.5",
        "ltx-2-fast",
        "midjourney-video",
    ):
        model = CATALOG.resolve(name)
        assert model is not None and model.routes[0].provider == "fal"


def test_upstream_ids_of_the_direct_routes():
    expected = {
        "veo-3.1": "veo-3.1-generate-preview",
        "kling-2.5-turbo-pro": "kling-v2-5-turbo",
        "hailuo-02": "MiniMax-Hailuo-02",
        "luma-ray-2": "ray-2",
        "runway-gen4-turbo": "gen4_turbo",
        "sora-2": "sora-2",
        "seedance-1-pro": "seedance-1-0-pro-250528",
    }
    for name, upstream in expected.items():
        model = CATALOG.resolve(name)
        assert model is not None and model.routes[0].model == upstream


def test_every_route_provider_has_its_settings_named():
    for model in CATALOG.models:
        assert set(model.providers) <= set(PROVIDER_KEYS)
    assert PROVIDER_KEYS["kling"] == ("VIDGATE_KLING_ACCESS_KEY", "VIDGATE_KLING_SECRET_KEY")


def test_the_unavailable_message_names_the_providers_and_their_settings():
    veo = CATALOG.resolve("veo-3.1")
    assert veo is not None
    message = unavailable_message(veo)
    assert message.startswith("veo-3.1 needs one of the providers veo, vertex-veo, fal, replicate;")
    assert "VIDGATE_GEMINI_API_KEY" in message and "VIDGATE_SANDBOX=1" in message


@pytest.mark.parametrize(
    ("name", "seconds", "resolutions"),
    [
        ("veo-3.1", (4, 6, 8), ("720p", "1080p", "4k")),
        ("veo-2", (5, 6, 7, 8), ("720p",)),
        ("kling-2.5-turbo-pro", (5, 10), ("1080p",)),
        ("sora-2", (4, 8, 12), ("720p",)),
        ("hailuo-02", (6, 10), ("768p", "1080p")),
        ("luma-ray-2", (5, 9), ("540p", "720p", "1080p")),
        ("runway-gen4-turbo", (5, 10), ("720p",)),
        ("seedance-1-pro", tuple(range(2, 13)), ("480p", "720p", "1080p")),
    ],
)
def test_capabilities_follow_the_upstreams(name, seconds, resolutions):
    model = CATALOG.resolve(name)
    assert model is not None
    assert (model.durations, model.resolutions) == (seconds, resolutions)


def test_frames_come_from_resolution_and_aspect_ratio_unless_the_upstream_differs():
    assert frame_size("720p", "16:9") == (1280, 720)
    assert frame_size("480p", "9:16") == (480, 854)
    sora_pro = CATALOG.resolve("sora-2-pro")
    assert sora_pro is not None
    assert set(sora_pro.frame_sizes()) == {"1280x720", "720x1280", "1792x1024", "1024x1792"}


def test_prices_may_vary_by_resolution():
    veo = CATALOG.resolve("veo-3.1")
    assert veo is not None
    assert (veo.price_for("720p"), veo.price_for("4k")) == (0.40, 0.60)


def test_every_model_lists_json_ready_capabilities_and_pricing():
    for model in CATALOG.models:
        body = model.as_json({"fal"})
        assert body["object"] == "model" and body["id"] == model.id
        assert body["available"] == (body["provider"] is not None)
        assert set(body["pricing"]["per_second_usd_by_resolution"]) == set(model.resolutions)


def test_a_catalog_refuses_a_name_used_twice_and_a_missing_twin():
    local = CATALOG.default
    with pytest.raises(ValueError, match="twice"):
        Catalog([local, local])
    lonely = CATALOG.resolve("kling-3-pro")
    assert lonely is not None
    with pytest.raises(ValueError, match="twin"):
        Catalog([local, lonely])


def test_a_model_whose_default_is_not_on_offer_is_refused():
    with pytest.raises(ValueError, match="default_seconds"):
        ModelSpec(
            id="x",
            name="x",
            description="x",
            owned_by="x",
            routes=(),
            durations=(5,),
            default_seconds=4,
            resolutions=("720p",),
            default_resolution="720p",
        )
