"""A core refusal names fields canonically; each surface tells it with its own names."""

from __future__ import annotations

from service.surfaces import concurred, task_api
from service.surfaces.errors import told
from service.surfaces.facade import as_sent
from service.videos.errors import (
    FIRST_FRAME,
    Conflict,
    Forbidden,
    InvalidField,
    NotAuthenticated,
    NotFound,
)

SECONDS = InvalidField(
    "seconds",
    lambda n: f"{n('seconds')} must be one of 4, 6 or 8 for veo-3.1; got 5",
    allowed=(4, 6, 8),
)
SIZE = InvalidField(
    "size",
    lambda n: (
        f"{n('size')} 1280x720 is 720p 16:9, which disagrees with "
        f"{n('resolution')}/{n('aspect_ratio')}; give one"
    ),
)
NEEDS_IMAGE = InvalidField(
    "input_reference",
    lambda n: f"wan-2.6-i2v is an image-to-video model: give {n(FIRST_FRAME)}",
    "missing_required_parameter",
)


def test_a_refusal_reads_in_canonical_names_by_default():
    assert str(SECONDS) == "seconds must be one of 4, 6 or 8 for veo-3.1; got 5"
    assert (SECONDS.field, SECONDS.code, SECONDS.allowed) == ("seconds", "invalid_value", (4, 6, 8))


def test_v1_tells_a_refusal_as_a_400_naming_the_canonical_field():
    error = told(SECONDS)
    assert (error.status, error.param, error.code) == (400, "seconds", "invalid_value")
    assert error.message == "seconds must be one of 4, 6 or 8 for veo-3.1; got 5"


def test_v1_names_the_idempotency_key_by_its_header():
    reused = Conflict(
        lambda n: f"this {n('idempotency_key')} was already used",
        code="idempotency_key_reused",
        field="idempotency_key",
    )
    error = told(reused)
    assert (error.status, error.param) == (409, "Idempotency-Key")
    assert error.message == "this Idempotency-Key was already used"


def test_each_kind_of_refusal_has_its_status():
    assert told(NotFound("no video with id 'x'", field="video_id")).status == 404
    assert told(Forbidden("this API key lacks the 'videos:write' scope")).status == 403
    unauthenticated = told(NotAuthenticated("incorrect or revoked API key"))
    assert (unauthenticated.status, unauthenticated.headers) == (
        401,
        {"WWW-Authenticate": "Bearer"},
    )


def test_a_surface_names_every_field_it_was_sent_by_its_own_name():
    names = {"size": "size", "resolution": "parameters.resolution", "aspect_ratio": "aspectRatio"}
    error = as_sent(names)(SIZE)
    assert error.param == "size"
    assert error.message == (
        "size 1280x720 is 720p 16:9, which disagrees with parameters.resolution/aspectRatio; "
        "give one"
    )


def test_a_message_that_does_not_name_the_field_is_prefixed_with_it():
    unreadable = InvalidField("image_url", "unreadable image: truncated", "invalid_image")
    error = as_sent({"image_url": "parameters.imageUrl"})(unreadable)
    assert error.message == "parameters.imageUrl: unreadable image: truncated"


def test_a_refusal_about_a_field_the_client_did_not_send_keeps_vidgates_names():
    error = as_sent({"resolution": "parameters.resolution"})(SIZE)
    assert (error.param, error.message) == ("size", str(SIZE))


def test_the_task_api_renames_only_the_refused_field():
    error = task_api.IN_OUR_WORDS(SIZE)
    assert error.param == "width/height"
    assert error.message == (
        "width/height 1280x720 is 720p 16:9, which disagrees with resolution/aspect_ratio; give one"
    )


def test_a_surface_with_one_image_field_names_the_first_frame_by_it():
    assert task_api.IN_OUR_WORDS(NEEDS_IMAGE).message.endswith("give image")
    error = concurred.IN_OUR_WORDS(NEEDS_IMAGE)
    assert (error.param, error.message) == (
        "image_url",
        "wan-2.6-i2v is an image-to-video model: give image_url",
    )
    assert concurred.IN_OUR_WORDS(SECONDS).message.startswith("duration must be one of")
