"""The `components.schemas` of vidgate's OpenAPI document, one small builder per shape."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from events.job import STATUSES
from service.api.video_request import MAX_IMAGE_BYTES, MAX_SEED
from service.catalog import ASPECT_RATIOS, RESOLUTIONS

Schema = dict[str, Any]

VIDEO_ID_PATTERN = r"^video_[0-9a-f]{32}$"
INT_STRING_PATTERN = r"^\s*-?\d{1,12}\s*$"  # what `_as_int` accepts from a string
SIZE_PATTERN = r"^\d+x\d+$"
EVENT_TYPES = (
    "Submitted", "Dispatched", "Progressed", "Completed", "Failed", "Canceled", "OutputStored",
    "Deleted",
)  # fmt: skip
OUTPUT_FIELDS = ("url", "content_type", "width", "height", "duration", "fps", "bytes", "sha256")
ERROR_TYPES = (
    "invalid_request_error", "authentication_error", "permission_error", "rate_limit_error",
    "service_unavailable", "server_error",
)  # fmt: skip


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(description: str, properties: dict[str, Schema], optional: Iterable[str] = ()) -> Schema:
    """An object whose properties are all present unless named in `optional`."""
    skipped = set(optional)
    required = [name for name in properties if name not in skipped]
    return {"type": "object", "description": description, "required": required,
            "properties": properties}  # fmt: skip


def _t(kind: str | list[str], description: str, **extra: Any) -> Schema:
    return {"type": kind, "description": description, **extra}


def _const(value: str) -> Schema:
    return {"type": "string", "const": value}


def _range(description: str) -> Schema:
    return _obj(description, {
        "min": _t("integer", "Smallest value."),
        "max": _t("integer", "Largest value."),
        "default": _t("integer", "Value used when the field is omitted."),
    })  # fmt: skip


def error() -> Schema:
    detail = _obj("What went wrong.", {
        "message": _t("string", "A human-readable explanation."),
        "type": _t("string", "The error class, following OpenAI.", enum=list(ERROR_TYPES)),
        "param": _t(["string", "null"], "The request field at fault, if one is."),
        "code": _t(["string", "null"], "A stable machine-readable code, e.g. `invalid_value`, "
                   "`missing_api_key`, `missing_scope`, `not_found`, `video_not_ready`."),
    })  # fmt: skip
    return _obj("The error body of every failed request (OpenAI's shape).", {"error": detail})


def video() -> Schema:
    output = _obj("The rendered file, once the video is completed; null until then.", {
        "url": _t("string", "Absolute URL of the file (the `/content` endpoint).", format="uri"),
        "content_type": _t("string", "The file's media type.", examples=["video/mp4"]),
        "width": _t("integer", "Frame width in pixels.", minimum=1),
        "height": _t("integer", "Frame height in pixels.", minimum=1),
        "duration": _t("number", "Length in seconds.", minimum=0),
        "fps": _t("integer", "Frames per second.", minimum=1),
        "bytes": _t("integer", "File size in bytes.", minimum=0),
        "sha256": _t("string", "Hex SHA-256 of the file.", pattern="^[0-9a-f]{64}$"),
    }, optional=OUTPUT_FIELDS)  # fmt: skip
    output["type"] = ["object", "null"]
    failure = _obj("Why the video failed; null unless `status` is `failed`.", {
        "code": _t("string", "A stable code, e.g. `render_failed`, `invalid_image`."),
        "message": _t("string", "A human-readable explanation."),
    })  # fmt: skip
    failure["type"] = ["object", "null"]
    return _obj("A video generation job (the OpenAI video object, plus `provider` and `output`).", {
        "id": _t("string", "The video's id.", pattern=VIDEO_ID_PATTERN),
        "object": _const("video"),
        "model": _t("string", "The catalog id of the model (aliases are resolved)."),
        "status": _t("string", "Where the job is.", enum=list(STATUSES)),
        "progress": _t("integer", "Percent done; 100 only once completed.", minimum=0, maximum=100),
        "created_at": _t("integer", "Unix seconds when the request was accepted."),
        "completed_at": _t(["integer", "null"], "Unix seconds when the job finished "
                           "(completed, failed or canceled)."),
        "expires_at": _t(["integer", "null"], "Always null: files are kept until deleted."),
        "seconds": _t("string", "The clip length in seconds, as a string (OpenAI's form)."),
        "size": _t("string", "The frame size, `WIDTHxHEIGHT`.", pattern=SIZE_PATTERN),
        "prompt": _t("string", "The prompt as submitted."),
        "remixed_from_video_id": _t(["string", "null"], "Always null: remixing is not offered."),
        "error": failure,
        "provider": _t("string", "The provider that renders the job, e.g. `local`."),
        "output": output,
    })  # fmt: skip


def video_list() -> Schema:
    return _obj("A page of videos, newest first unless `order=asc`.", {
        "object": _const("list"),
        "data": {"type": "array", "items": ref("Video")},
        "has_more": _t("boolean", "Whether another page follows `last_id`."),
        "first_id": _t(["string", "null"], "The first video's id; null for an empty page."),
        "last_id": _t(["string", "null"], "The last video's id (the next page's `after`)."),
    })  # fmt: skip


def video_deleted() -> Schema:
    return _obj("Confirms a deletion.", {
        "id": _t("string", "The deleted video's id.", pattern=VIDEO_ID_PATTERN),
        "object": _const("video.deleted"),
        "deleted": {"type": "boolean", "const": True},
    })  # fmt: skip


def _int_field(form: bool, description: str, minimum: int, maximum: int | None = None) -> Schema:
    """An integer field: a JSON integer or a string of digits; a form sends only text."""
    digits = {"type": "string", "pattern": INT_STRING_PATTERN}
    if form:
        return {**digits, "description": f"{description} A string of digits."}
    bounds = {"minimum": minimum} | ({} if maximum is None else {"maximum": maximum})
    return {"description": f"{description} An integer or a string of digits.",
            "anyOf": [{"type": "integer", **bounds}, digits]}  # fmt: skip


def _request_fields(form: bool) -> dict[str, Schema]:
    """The create-video fields; a form sends numbers as text and the image as a file."""
    return {
        "model": _t("string", "A model id or alias from `GET /v1/models`; the catalog's first "
                    "model (`local-preview`) when omitted. Unknown → 400 `model_not_found`."),
        "prompt": _t("string", "What to render. Required and not blank; at most the model's "
                     "`capabilities.prompt_max_chars` (4000 for local-preview).", pattern=r"\S"),
        "seconds": _int_field(form, "Clip length, within the model's `capabilities.seconds` "
                              "(local-preview: 1-20, default 4).", 1),
        "size": _t("string", "Frame size `WIDTHxHEIGHT`: even sides from 16 to the model's "
                   "`size.max_side`, at most `size.max_pixels` pixels; default `size.default`. "
                   "Must agree with `resolution`/`aspect_ratio` if those are given.",
                   pattern=SIZE_PATTERN, examples=["1280x720"]),
        "aspect_ratio": _t("string", "Derive the size from this ratio (with `resolution`, or "
                           "the default size's short side); one of the model's "
                           "`capabilities.aspect_ratios`.", enum=list(ASPECT_RATIOS)),
        "resolution": _t("string", "Derive the size from this short side; one of the model's "
                         "`capabilities.resolutions`.", enum=list(RESOLUTIONS)),
        "fps": _int_field(form, "Frames per second, within the model's `capabilities.fps` "
                          "(local-preview: 1-60, default 24).", 1),
        "seed": _int_field(form, "Seed for a reproducible render; ignored when the model's "
                           f"`capabilities.seed` is false. 0-{MAX_SEED}.", 0, MAX_SEED),
        "negative_prompt": _t("string", "What to avoid; at most `capabilities.prompt_max_chars`."),
        "input_reference": _image_reference(form),
        "image_url": ref("ImageUrl"),
    }  # fmt: skip


def _image_reference(form: bool) -> Schema:
    """The first frame: a file part in a form, `{"image_url": …}` in JSON."""
    needs = "Needs a model with the `image-to-video` mode."
    if form:
        return {"type": "string", "contentMediaType": "application/octet-stream",
                "description": f"The first-frame image file (≤ {MAX_IMAGE_BYTES} bytes, any "
                f"format Pillow reads). {needs}"}  # fmt: skip
    return _obj(f"The first-frame image by URL. {needs} `file_id` is not supported "
                "(400 `unsupported_parameter`).", {"image_url": ref("ImageUrl")})  # fmt: skip


def _create_request(description: str, form: bool) -> Schema:
    fields = _request_fields(form)
    if form:
        fields["input_reference[image_url]"] = ref("ImageUrl")
    return {**_obj(description, fields, optional=tuple(n for n in fields if n != "prompt")),
            "additionalProperties": False}  # fmt: skip


def image_url() -> Schema:
    return _t("string", "An http(s) URL (≤ 2048 characters) or a base64 `data:` URI "
              f"(`data:image/png;base64,…`) of an image of at most {MAX_IMAGE_BYTES} bytes. Give "
              "either this or `input_reference`, not both.",
              examples=["https://example.com/first-frame.png"])  # fmt: skip


def video_event() -> Schema:
    return _obj("One entry of a job's audit history.", {
        "object": _const("video.event"),
        "type": _t("string", "The event's kind.", enum=list(EVENT_TYPES)),
        "version": _t("integer", "The event's position in the job's history (from 1).", minimum=1),
        "occurred_at": _t("string", "When it was recorded (ISO 8601).", format="date-time"),
        "actor": _t("string", "Who or what caused it: `api`, `dispatcher`, a provider, or "
                    "`unknown`."),
        "data": _t("object", "The event's recorded fields, which depend on `type`."),
    })  # fmt: skip


def video_event_list() -> Schema:
    return _obj("A job's whole history, oldest first.", {
        "object": _const("list"),
        "video_id": _t("string", "The video the events belong to.", pattern=VIDEO_ID_PATTERN),
        "data": {"type": "array", "items": ref("VideoEvent")},
    })  # fmt: skip


def model() -> Schema:
    capabilities = _obj("What requests for this model may ask for.", {
        "modes": {"type": "array", "description": "Generation modes offered.",
                  "items": {"type": "string", "enum": ["text-to-video", "image-to-video"]}},
        "seconds": _range("Clip length in seconds."),
        "resolutions": {"type": "array", "items": {"type": "string", "enum": list(RESOLUTIONS)}},
        "aspect_ratios": {"type": "array",
                          "items": {"type": "string", "enum": list(ASPECT_RATIOS)}},
        "size": _obj("Frame size limits.", {
            "default": _t("string", "Size used when none is derived.", pattern=SIZE_PATTERN),
            "max_side": _t("integer", "Longest allowed side in pixels."),
            "max_pixels": _t("integer", "Largest allowed width times height."),
        }),
        "fps": _range("Frames per second."),
        "seed": _t("boolean", "Whether `seed` is honoured."),
        "negative_prompt": _t("boolean", "Whether `negative_prompt` is honoured."),
        "audio": _t("boolean", "Whether the output has sound."),
        "end_frame": _t("boolean", "Whether a last-frame image can be given."),
        "prompt_max_chars": _t("integer", "Longest accepted prompt."),
    })  # fmt: skip
    return _obj("A catalog model (OpenAI's model object, plus capabilities and pricing).", {
        "id": _t("string", "The model's id."),
        "object": _const("model"),
        "created": _t("integer", "Unix seconds when the model joined the catalog."),
        "owned_by": _t("string", "The provider serving it."),
        "description": _t("string", "What the model does."),
        "aliases": {"type": "array", "items": {"type": "string"}, "description": "Other names."},
        "providers": {"type": "array", "items": {"type": "string"}},
        "capabilities": capabilities,
        "pricing": _obj("Price estimate.", {"per_second_usd": _t("number", "USD per second.")}),
    })  # fmt: skip


def model_list() -> Schema:
    return _obj("Every model in the catalog.", {
        "object": _const("list"), "data": {"type": "array", "items": ref("Model")},
    })  # fmt: skip


def health() -> Schema:
    return _obj("Liveness.", {"status": _const("ok")})


def readiness() -> Schema:
    return _obj("Whether the event store answers.", {
        "status": _t("string", "`ready`, or `unavailable` (503).", enum=["ready", "unavailable"]),
        "store": _t("string", "The event store in use.", enum=["sqlite", "postgresql"]),
    })  # fmt: skip


def schemas() -> dict[str, Schema]:
    return {
        "Error": error(),
        "Video": video(),
        "VideoList": video_list(),
        "VideoDeleted": video_deleted(),
        "CreateVideoRequest": _create_request(
            "A JSON create-video request. A field that is null (or an empty string) counts as "
            "omitted; an unknown field is a 400 `unknown_parameter`.", form=False),
        "CreateVideoMultipart": _create_request(
            "A multipart create-video request: the same fields as text parts, and the image as "
            "the `input_reference` file part (or `input_reference[image_url]`).", form=True),
        "ImageUrl": image_url(),
        "VideoEvent": video_event(),
        "VideoEventList": video_event_list(),
        "Model": model(),
        "ModelList": model_list(),
        "Health": health(),
        "Readiness": readiness(),
    }  # fmt: skip
