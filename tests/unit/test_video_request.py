"""`parse_video_request`: every field's rules, and the param each refusal names."""

from __future__ import annotations

import base64
import io
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from service.catalog import Catalog, default_catalog
from service.surfaces.errors import ApiError, told
from service.videos.errors import InvalidField
from service.videos.request import FIELDS, Upload, VideoRequest, parse_video_request

CATALOG = default_catalog()
BASE = {"prompt": "a red fox in snow"}


def png(width: int = 32, height: int = 18) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "orange").save(buffer, "PNG")
    return buffer.getvalue()


def data_uri(data: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


def parse(**fields: Any) -> VideoRequest:
    return parse_video_request({**BASE, **fields}, CATALOG)


def refusal(**fields: Any) -> ApiError:
    """The refusal parsing BASE + fields raises, as /v1 tells it (fails if it parses)."""
    with pytest.raises(InvalidField) as caught:
        parse(**fields)
    error = told(caught.value)
    assert error.status == 400
    return error


def refused_param(**fields: Any) -> str | None:
    return refusal(**fields).param


# model


def test_a_request_without_model_gets_the_catalog_default():
    assert parse().model.id == "local-preview"


def test_a_model_alias_resolves_to_its_model():
    assert parse(model="local").model.id == "local-preview"


def test_an_unknown_model_is_model_not_found():
    error = refusal(model="sora-9")
    assert (error.param, error.code) == ("model", "model_not_found")
    assert "local-preview" in error.message


def test_a_non_string_model_is_refused():
    assert refused_param(model=7) == "model"


# prompt


@pytest.mark.parametrize("prompt", [None, "", "   \n\t"])
def test_a_missing_or_blank_prompt_is_refused(prompt):
    error = refusal(prompt=prompt)
    assert (error.param, error.code) == ("prompt", "missing_required_parameter")


def test_a_prompt_of_exactly_4000_characters_is_accepted():
    assert len(parse(prompt="x" * 4000).prompt) == 4000


def test_a_prompt_over_4000_characters_is_too_long():
    error = refusal(prompt="x" * 4001)
    assert (error.param, error.code) == ("prompt", "too_long")


def test_a_non_string_prompt_is_refused():
    assert refused_param(prompt=["a", "list"]) == "prompt"


def test_a_prompt_with_a_nul_character_is_refused():
    # PostgreSQL text columns cannot hold NUL: it would poison the jobs projection.
    assert refused_param(prompt="a\x00b") == "prompt"


# seconds


def test_seconds_default_to_the_models_default():
    assert parse().seconds == 4


@pytest.mark.parametrize(("given", "expected"), [("1", 1), (20, 20), (3.0, 3), (" 7 ", 7)])
def test_seconds_accept_integers_in_range_as_numbers_or_strings(given, expected):
    assert parse(seconds=given).seconds == expected


@pytest.mark.parametrize("seconds", [0, 21, -1, "abc", "1.5", 1.5, True, False, [4], "4s"])
def test_seconds_that_are_not_an_integer_from_1_to_20_are_refused(seconds):
    assert refused_param(seconds=seconds) == "seconds"


# size


def test_size_defaults_to_1280x720():
    assert parse().size == "1280x720"


def test_a_well_formed_size_is_kept():
    request = parse(size="160x90")
    assert (request.width, request.height, request.size) == (160, 90, "160x90")


@pytest.mark.parametrize(
    "size",
    [
        "160*90",
        "160x",
        "x90",
        "abc",
        "160x90x2",
        " 160x90",
        "160x90\n",
        "１６０x９０",
        160,
        [160, 90],
    ],
)
def test_a_malformed_size_is_refused(size):
    assert refused_param(size=size) == "size"


@pytest.mark.parametrize("size", ["161x90", "160x91", "14x90", "160x14", "1922x100", "100x2000"])
def test_a_size_with_an_odd_tiny_or_too_long_side_is_refused(size):
    assert refused_param(size=size) == "size"


def test_a_size_over_the_models_pixel_budget_is_refused():
    error = refusal(size="1920x1920")
    assert error.param == "size"
    assert "pixels" in error.message


def test_the_largest_size_the_model_renders_is_accepted():
    assert parse(size="1920x1080").size == "1920x1080"


# resolution and aspect_ratio


@pytest.mark.parametrize(
    ("resolution", "aspect_ratio", "size"),
    [
        ("480p", "9:16", "480x854"),  # 480 * 16 / 9 = 853.3, rounded to the nearest even side
        ("720p", "16:9", "1280x720"),
        ("1080p", "16:9", "1920x1080"),
        ("360p", "1:1", "360x360"),
        ("540p", "4:3", "720x540"),
    ],
)
def test_resolution_and_aspect_ratio_derive_a_size(resolution, aspect_ratio, size):
    request = parse(resolution=resolution, aspect_ratio=aspect_ratio)
    assert (request.size, request.resolution, request.aspect_ratio) == (
        size,
        resolution,
        aspect_ratio,
    )


def test_an_aspect_ratio_alone_keeps_the_default_short_side():
    assert parse(aspect_ratio="9:16").size == "720x1280"


def test_a_resolution_alone_keeps_the_default_aspect_ratio():
    assert parse(resolution="1080p").size == "1920x1080"


def test_a_derived_size_beyond_the_models_max_side_names_resolution():
    error = refusal(resolution="1080p", aspect_ratio="21:9")  # 2520x1080
    assert error.param == "resolution"
    assert "2520x1080" in error.message


def test_a_size_that_disagrees_with_resolution_and_aspect_ratio_is_refused():
    assert refused_param(size="160x90", resolution="480p", aspect_ratio="16:9") == "size"


def test_a_size_that_agrees_with_resolution_and_aspect_ratio_is_accepted():
    assert parse(size="854x480", resolution="480p", aspect_ratio="16:9").size == "854x480"


@pytest.mark.parametrize("value", ["2:1", "16x9", 169, "720P"])
@pytest.mark.parametrize("field", ["aspect_ratio", "resolution"])
def test_an_unknown_aspect_ratio_or_resolution_is_refused(field, value):
    assert refused_param(**{field: value}) == field


# fps, seed, negative_prompt


def test_fps_default_to_24_and_accept_1_to_60():
    assert (parse().fps, parse(fps="1").fps, parse(fps=60).fps) == (24, 1, 60)


@pytest.mark.parametrize("fps", [0, 61, "fast", 12.5, True])
def test_fps_out_of_range_or_not_an_integer_are_refused(fps):
    assert refused_param(fps=fps) == "fps"


@pytest.mark.parametrize(
    ("seed", "expected"), [(None, None), ("", None), (0, 0), (2**32 - 1, 2**32 - 1)]
)
def test_a_seed_is_optional_and_spans_32_bits(seed, expected):
    assert parse(seed=seed).seed == expected


@pytest.mark.parametrize("seed", [-1, 2**32, "lucky", 1.5, False])
def test_a_seed_outside_32_bits_or_not_an_integer_is_refused(seed):
    assert refused_param(seed=seed) == "seed"


def test_a_negative_prompt_is_kept():
    assert parse(negative_prompt="blurry").negative_prompt == "blurry"


@pytest.mark.parametrize("negative_prompt", [5, {"a": 1}, "x" * 4001, "nul\x00"])
def test_a_negative_prompt_that_is_not_text_or_too_long_is_refused(negative_prompt):
    assert refused_param(negative_prompt=negative_prompt) == "negative_prompt"


# unknown fields


def test_an_unknown_field_is_refused_by_name():
    error = refusal(duration=4)
    assert (error.param, error.code) == ("duration", "unknown_parameter")


def test_an_empty_field_name_is_an_unknown_parameter():
    assert refusal(**{"": 1}).code == "unknown_parameter"


def test_of_several_unknown_fields_the_first_alphabetically_is_named():
    assert refused_param(zeta=1, alpha=2) == "alpha"


# the reference image


def test_a_text_request_is_text_to_video():
    request = parse()
    assert request.image is None
    assert request.params()["mode"] == "text-to-video"


def test_an_uploaded_png_is_kept_with_its_name_and_type():
    request = parse(input_reference=Upload(png(), "image/png", "ref.png"))
    assert request.image is not None
    assert (request.image.data, request.image.filename) == (png(), "ref.png")
    assert request.params()["mode"] == "image-to-video"


def test_an_uploaded_file_that_is_not_an_image_is_invalid_image():
    error = refusal(input_reference=Upload(b"\x89PNG garbage", "image/png", "ref.png"))
    assert (error.param, error.code) == ("input_reference", "invalid_image")


def test_an_empty_upload_is_invalid_image():
    error = refusal(input_reference=Upload(b"", "image/png", "ref.png"))
    assert (error.param, error.code) == ("input_reference", "invalid_image")


def test_a_data_uri_with_a_valid_png_is_accepted():
    request = parse(image_url=data_uri(png()))
    assert request.image is not None
    assert (request.image.data, request.image.content_type) == (png(), "image/png")


def test_a_data_uri_nested_in_input_reference_is_accepted():
    request = parse(input_reference={"image_url": data_uri(png())})
    assert request.image is not None
    assert request.image.data == png()


def test_a_data_uri_that_is_not_base64_is_refused():
    assert refused_param(image_url="data:image/png;base64,not*base64!") == "image_url"


def test_a_data_uri_without_the_base64_marker_is_refused():
    assert refused_param(image_url="data:image/png,rawbytes") == "image_url"


def test_a_base64_data_uri_of_garbage_is_invalid_image():
    error = refusal(image_url=data_uri(b"definitely not an image"))
    assert (error.param, error.code) == ("image_url", "invalid_image")


def test_a_bad_data_uri_in_input_reference_names_the_nested_field():
    bad = {"image_url": "data:image/png;base64,@@@"}
    assert refused_param(input_reference=bad) == "input_reference.image_url"


def test_an_input_reference_file_id_is_unsupported():
    error = refusal(input_reference={"file_id": "file_123"})
    assert (error.param, error.code) == ("input_reference", "unsupported_parameter")


def test_input_reference_and_image_url_together_are_refused():
    both = {"input_reference": Upload(png(), "image/png", "a.png"), "image_url": data_uri(png())}
    assert refused_param(**both) == "image_url"


@pytest.mark.parametrize(
    "url",
    ["https://example.com/ref.png", "http://example.com:8080/a.jpg?x=1", "HTTPS://Example.com/a"],
)
def test_an_http_or_https_url_is_accepted_without_fetching(url):
    request = parse(image_url=url)
    assert request.image is not None
    assert (request.image.url, request.image.data) == (url, None)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/ref.png",
        "file:///etc/passwd",
        "example.com/ref.png",
        "http://",
        "https:///path-only",
        "http://[::1",
        "http://example.com/a\x00b",
        "http://0177.0.0.1/a.png",  # urllib reads it, httpx does not: once a 202, then a crash
        "http://example.com:99999/a.png",
        "https://example.com/" + "a" * 2048,
        "",
        42,
    ],
)
def test_an_image_url_that_is_not_a_web_url_or_data_uri_is_refused(url):
    assert refused_param(image_url=url) == "image_url"


@pytest.mark.parametrize("reference", ["a string", 5, ["x"], {"image_url": None}])
def test_an_input_reference_that_is_neither_a_file_nor_an_image_url_is_refused(reference):
    assert refused_param(input_reference=reference).startswith("input_reference")


# any input at all


def test_params_record_the_normalised_request():
    request = parse(seconds=2, size="160x90", seed="7", fps="12")
    assert request.params() == {
        "seconds": "2",
        "size": "160x90",
        "fps": 12,
        "seed": 7,
        "negative_prompt": None,
        "aspect_ratio": None,
        "resolution": None,
        "audio": False,
        "mode": "text-to-video",
    }


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(["1", "20", "160x90", "480p", "9:16", "local", "http://x", "data:,"])
    | st.sampled_from(["veo-3.1", "kling-3-pro", "wan-2.6", "hailuo-02", "sora-2-pro", "4k"])
    | st.sampled_from(["1280x720", "1792x1024", "8", "10", "768p", "true", "false"])
    | st.builds(Upload, st.binary(max_size=40), st.none() | st.text(max_size=5), st.none())
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
FIELD_NAMES = st.sampled_from(sorted(FIELDS)) | st.text(min_size=1, max_size=10)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(FIELD_NAMES, VALUES, max_size=8))
def test_any_json_like_fields_either_parse_or_are_refused_naming_a_param(fields):
    try:
        request = parse_video_request(fields, CATALOG)
    except InvalidField as refused:
        error = told(refused)
        assert error.status == 400
        assert isinstance(error.param, str) and error.param
    else:
        assert request.prompt.strip()
        assert request.seconds in request.model.durations_for(request.resolution)
        assert request.width % 2 == 0 and request.height % 2 == 0
        assert request.image is not None or request.model.takes_text


# catalog models: discrete frames and clip lengths, checked per model


def test_a_catalog_model_fills_every_param_from_its_defaults():
    request = parse(model="veo-3.1")
    assert request.params() == {
        "seconds": "8",
        "size": "1280x720",
        "fps": 24,
        "seed": None,
        "negative_prompt": None,
        "aspect_ratio": "16:9",
        "resolution": "720p",
        "audio": True,
        "mode": "text-to-video",
    }


def test_an_alias_from_another_seed_resolves_to_the_same_model():
    assert parse(model="veo_3_1").model.id == "veo-3.1"
    assert parse(model="kling-v2-5-turbo").model.id == "kling-2.5-turbo-pro"


def test_seconds_outside_the_models_list_name_the_allowed_values():
    error = refusal(model="veo-3.1", seconds=5)
    assert error.param == "seconds"
    assert error.message == "seconds must be one of 4, 6, 8 for veo-3.1; got 5"


def test_seconds_allowed_only_at_some_resolutions_name_the_resolution():
    error = refusal(model="veo-3.1", resolution="1080p", seconds=4)
    assert error.message == "seconds must be one of 8 for veo-3.1 at 1080p; got 4"
    assert parse(model="hailuo-02", resolution="768p", seconds=10).seconds == 10


def test_a_long_run_of_seconds_is_spelled_as_a_range():
    error = refusal(model="seedance-1-pro", seconds=13)
    assert error.message == "seconds must be from 2 to 12 for seedance-1-pro; got 13"


def test_a_resolution_the_model_lacks_lists_the_ones_it_has():
    error = refusal(model="veo-3", resolution="4k")
    assert (error.param, error.message) == (
        "resolution",
        "resolution must be one of 720p, 1080p for veo-3; got '4k'",
    )


def test_an_aspect_ratio_the_model_lacks_is_refused():
    assert refused_param(model="veo-3.1", aspect_ratio="1:1") == "aspect_ratio"


def test_resolution_and_aspect_ratio_give_the_models_frame():
    request = parse(model="veo-3.1", resolution="1080p", aspect_ratio="9:16")
    assert (request.size, request.seconds) == ("1080x1920", 8)


def test_a_size_must_be_one_of_the_models_frames_which_are_listed():
    error = refusal(model="sora-2", size="1792x1024")
    assert error.param == "size"
    assert error.message == "size must be one of 1280x720, 720x1280 for sora-2; got '1792x1024'"


def test_a_size_picks_the_resolution_and_aspect_ratio():
    request = parse(model="sora-2-pro", size="1024x1792")
    assert (request.resolution, request.aspect_ratio) == ("1024p", "9:16")
    assert request.cost_estimate == 0.5 * 4


def test_a_size_that_disagrees_with_the_resolution_is_refused():
    assert refused_param(model="veo-3.1", size="1280x720", resolution="1080p") == "size"


def test_runway_frames_follow_runways_ratios():
    request = parse(model="runway-gen4-turbo", aspect_ratio="4:3", image_url="https://x.io/a.png")
    assert request.size == "1104x832"


def test_fps_outside_the_models_list_is_refused():
    error = refusal(model="ltx-2-fast", fps=30)
    assert error.message == "fps must be one of 25, 50 for ltx-2-fast; got 30"


def test_a_prompt_over_the_models_limit_names_the_limit_and_the_model():
    error = refusal(model="hailuo-02", prompt="x" * 2345)
    assert (error.param, error.code) == ("prompt", "too_long")
    assert error.message == "prompt is 2345 characters; the limit is 2000 for hailuo-02"


def test_the_cost_estimate_is_the_price_at_the_resolution_times_seconds():
    assert parse(model="veo-3.1", resolution="4k").cost_estimate == 0.60 * 8
    assert parse(model="veo-3.1").cost_estimate == 0.40 * 8
    assert parse().cost_estimate == 0.0


# images, twins and end frames


def test_an_image_switches_a_text_only_model_to_its_twin():
    request = parse(model="kling-3-pro", image_url="https://example.com/a.png")
    assert request.model.id == "kling-3-pro-i2v"
    assert request.params()["mode"] == "image-to-video"
    assert parse(model="wan-2.6", image_url=data_uri(png())).model.id == "wan-2.6-i2v"


def test_without_an_image_a_text_only_model_stays_itself():
    assert parse(model="kling-3-pro").model.id == "kling-3-pro"


def test_a_model_of_both_modes_keeps_its_id_when_given_an_image():
    request = parse(model="kling-2.5-turbo-pro", image_url="https://example.com/a.png")
    assert request.model.id == "kling-2.5-turbo-pro"


@pytest.mark.parametrize("field", ["image_url", "input_reference"])
def test_a_text_only_model_without_a_twin_refuses_an_image_naming_its_field(field):
    text_only = replace(CATALOG.resolve("kling-3-pro"), twin=None)
    catalog = Catalog([CATALOG.default, text_only])
    url = "https://example.com/a.png"
    image = {"image_url": url} if field == "input_reference" else url
    with pytest.raises(InvalidField) as caught:
        parse_video_request({**BASE, "model": "kling-3-pro", field: image}, catalog)
    error = told(caught.value)
    assert (error.param, error.code) == (field, "unsupported_parameter")
    assert "kling-3-pro takes no image" in error.message


def test_an_image_to_video_model_needs_an_image():
    error = refusal(model="hailuo-2.3-fast")
    assert (error.param, error.code) == ("input_reference", "missing_required_parameter")
    assert "hailuo-2.3-fast" in error.message


def test_an_end_frame_is_kept_for_a_model_that_takes_one():
    request = parse(
        model="veo-3.1", image_url=data_uri(png()), end_image_url="https://example.com/end.png"
    )
    assert request.end_image is not None
    assert request.end_image.url == "https://example.com/end.png"


def test_an_end_frame_for_a_model_without_one_is_refused():
    error = refusal(model="veo-3", image_url=data_uri(png()), end_image_url=data_uri(png()))
    assert (error.param, error.code) == ("end_image_url", "unsupported_parameter")
    assert "veo-3" in error.message


def test_an_end_frame_needs_a_first_frame():
    assert refused_param(model="veo-3.1", end_image_url=data_uri(png())) == "end_image_url"


@pytest.mark.parametrize("bad", ["ftp://x/a.png", "data:image/png;base64,@@", 7])
def test_a_malformed_end_frame_is_refused(bad):
    fields = {"model": "veo-3.1", "image_url": data_uri(png()), "end_image_url": bad}
    assert refused_param(**fields) == "end_image_url"


# audio, seed and negative prompt follow the model's capabilities


@pytest.mark.parametrize(("given", "expected"), [(True, True), (False, False), ("false", False)])
def test_audio_is_taken_as_asked_by_a_model_that_makes_sound(given, expected):
    assert parse(model="kling-2.6", audio=given).audio is expected


def test_audio_defaults_to_the_models_default():
    assert (parse(model="veo-3").audio, parse(model="pixverse-v5.5").audio) == (True, False)
    assert parse().audio is False


def test_audio_for_a_silent_model_is_refused():
    error = refusal(model="veo-2", audio=True)
    assert (error.param, error.code) == ("audio", "unsupported_parameter")


@pytest.mark.parametrize("audio", ["yes", 1, [True]])
def test_audio_that_is_not_a_boolean_is_refused(audio):
    assert refused_param(model="veo-3", audio=audio) == "audio"


def test_a_seed_for_a_model_without_seeds_is_refused():
    error = refusal(model="kling-2.6", seed=7)
    assert (error.param, error.code) == ("seed", "unsupported_parameter")


def test_a_negative_prompt_for_a_model_without_one_is_refused():
    assert refused_param(model="sora-2", negative_prompt="blur") == "negative_prompt"


# model-specific flags: prompt_optimizer (MiniMax), loop (Luma)


@pytest.mark.parametrize(
    ("model", "flag"),
    [
        ("hailuo-02", "prompt_optimizer"),
        ("minimax-video-01", "prompt_optimizer"),
        ("luma-ray-2", "loop"),
    ],
)
@pytest.mark.parametrize(
    ("given", "expected"), [(True, True), (False, False), ("false", False), ("1", True)]
)
def test_a_model_specific_flag_is_recorded_for_the_models_that_take_it(
    model, flag, given, expected
):
    params = parse(model=model, **{flag: given}).params()
    assert params[flag] is expected


def test_a_model_specific_flag_left_out_is_not_recorded():
    params = parse(model="hailuo-02").params()
    assert "prompt_optimizer" not in params and "loop" not in params


@pytest.mark.parametrize(
    ("model", "flag"),
    [
        ("veo-3", "prompt_optimizer"),
        ("luma-ray-2", "prompt_optimizer"),
        ("hailuo-02", "loop"),
        ("local-preview", "loop"),
    ],
)
def test_a_model_specific_flag_for_another_model_is_refused(model, flag):
    error = refusal(model=model, **{flag: True})
    assert (error.param, error.code) == (flag, "unsupported_parameter")


@pytest.mark.parametrize("value", ["yes", 1, [True], {}])
def test_a_model_specific_flag_that_is_not_a_boolean_is_refused(value):
    assert refused_param(model="hailuo-02", prompt_optimizer=value) == "prompt_optimizer"
    assert refused_param(model="luma-ray-2", loop=value) == "loop"


@pytest.mark.parametrize("style", ["anime", "3d_animation", "clay", "comic", "cyberpunk"])
def test_a_style_the_model_offers_is_recorded(style):
    assert parse(model="pixverse-v5.5", style=style).params()["style"] == style


def test_a_style_left_out_is_not_recorded():
    assert "style" not in parse(model="pixverse-v5.5").params()


def test_a_style_for_a_model_without_styles_is_refused():
    error = refusal(model="veo-3", style="anime")
    assert (error.param, error.code) == ("style", "unsupported_parameter")
    assert str(error) == "veo-3 takes no style"


@pytest.mark.parametrize("style", ["watercolor", "Anime", 3, ["anime"], True])
def test_a_style_the_model_lacks_is_refused_naming_the_allowed_ones(style):
    error = refusal(model="pixverse-v5.5", style=style)
    assert (error.param, error.code) == ("style", "invalid_value")
    assert "anime, 3d_animation, clay, comic, cyberpunk" in str(error)


def test_the_end_user_is_recorded_for_audit():
    assert parse(user="user-1234").params()["user"] == "user-1234"
    assert "user" not in parse().params()


@pytest.mark.parametrize("user", [1234, "u" * 257, ["a"], "a\x00b"])
def test_an_end_user_that_is_not_a_short_string_is_refused(user):
    assert refused_param(user=user) == "user"


CLIP = "https://media.example/source.mp4"


def test_a_source_video_makes_a_video_to_video_request():
    video = parse(model="luma-ray-2", video_url=CLIP)
    assert (video.video, video.params()["mode"]) == (CLIP, "video-to-video")


def test_a_source_video_for_a_model_without_video_to_video_names_video_url():
    error = refusal(model="veo-3.1", video_url=CLIP)
    assert (error.param, error.code) == ("video_url", "unsupported_parameter")
    assert "luma-ray-2, luma-ray-flash-2" in error.message


@pytest.mark.parametrize("bad", ["source.mp4", "ftp://x/a.mp4", 7, "https://x/" + "a" * 3000])
def test_a_source_video_must_be_an_http_url(bad):
    assert refusal(model="luma-ray-2", video_url=bad).param == "video_url"


def test_a_source_video_and_an_image_together_are_refused():
    error = refusal(model="luma-ray-2", video_url=CLIP, image_url="https://img.example/a.png")
    assert error.param == "video_url"


def test_only_routes_with_a_video_model_serve_video_to_video():
    luma = CATALOG.resolve("luma-ray-2")
    assert luma is not None and luma.takes_video
    assert luma.route({"luma", "fal"}, video=True).upstream_model(False, True) == "ray-2"
    assert luma.route({"fal"}, video=True) is None  # fal's Luma endpoints do no v2v
    assert luma.route({"fal"}) is not None


def test_without_an_enabled_route_that_transforms_videos_the_refusal_names_video_url():
    from types import SimpleNamespace

    from service.videos.commands import _route

    video = parse(model="luma-ray-2", video_url=CLIP)
    only_fal = SimpleNamespace(enabled_providers=frozenset({"fal"}))
    with pytest.raises(InvalidField) as caught:
        _route(only_fal, video)  # type: ignore[arg-type]
    assert (caught.value.field, caught.value.code) == ("video_url", "model_unavailable")
    assert _route(only_fal, parse(model="luma-ray-2")).provider == "fal"
