"""The `components.schemas` of vidgate's OpenAPI document, one small builder per shape."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from events.endpoint import EVENT_FILTERS
from events.job import STATUSES
from projections.analytics.view import DIMENSIONS
from projections.deliveries.projection import STATUS as PAYLOAD_STATUS
from projections.deliveries.view import ABANDONED, FAILED, PENDING, SUCCEEDED
from service.catalog import ASPECT_RATIOS, MODES, PROVIDERS, RESOLUTIONS
from service.videos.request import MAX_IMAGE_BYTES, MAX_SEED
from service.webhooks.fields import DEFAULT_GRACE, MAX_DESCRIPTION, MAX_GRACE, MAX_URL

Schema = dict[str, Any]

VIDEO_ID_PATTERN = r"^video_[0-9a-f]{32}$"
ENDPOINT_ID_PATTERN = r"^we_[0-9a-f]{32}$"
DELIVERY_ID_PATTERN = r"^dlv_[0-9a-f]{32}$"
MESSAGE_ID_PATTERN = r"^msg_[0-9a-f]{32}$"
SECRET_PATTERN = r"^whsec_[A-Za-z0-9+/]{43}=$"  # base64 of 32 bytes
HTTP_URL_PATTERN = r"^\s*[Hh][Tt][Tt][Pp][Ss]?://"
_KINDS = "|".join(EVENT_FILTERS)
EVENT_LIST_PATTERN = rf"^\s*({_KINDS})\s*(,\s*({_KINDS})\s*)*$"  # "completed, failed"
WEBHOOK_EVENT_TYPES = tuple(f"video.{kind}" for kind in EVENT_FILTERS)
DELIVERY_STATUSES = (PENDING, SUCCEEDED, FAILED, ABANDONED)
INT_STRING_PATTERN = r"^\s*-?\d{1,12}\s*$"  # what `_as_int` accepts from a string
SIZE_PATTERN = r"^\d+x\d+$"
EVENT_TYPES = (
    "Submitted",
    "DispatchIntended",
    "Dispatched",
    "Progressed",
    "Completed",
    "Failed",
    "Canceled",
    "OutputStored",
    "Deleted",
)
OUTPUT_FIELDS = ("url", "content_type", "width", "height", "duration", "fps", "bytes", "sha256")
ERROR_TYPES = (
    "invalid_request_error",
    "authentication_error",
    "permission_error",
    "rate_limit_error",
    "service_unavailable",
    "server_error",
)


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(description: str, properties: dict[str, Schema], optional: Iterable[str] = ()) -> Schema:
    """An object whose properties are all present unless named in `optional`."""
    skipped = set(optional)
    required = [name for name in properties if name not in skipped]
    return {
        "type": "object",
        "description": description,
        "required": required,
        "properties": properties,
    }


def _t(kind: str | list[str], description: str, **extra: Any) -> Schema:
    return {"type": kind, "description": description, **extra}


def _const(value: str) -> Schema:
    return {"type": "string", "const": value}


def error() -> Schema:
    detail = _obj(
        "What went wrong.",
        {
            "message": _t("string", "A human-readable explanation."),
            "type": _t("string", "The error class, following OpenAI.", enum=list(ERROR_TYPES)),
            "param": _t(["string", "null"], "The request field at fault, if one is."),
            "code": _t(
                ["string", "null"],
                "A stable machine-readable code, e.g. `invalid_value`, "
                "`missing_api_key`, `missing_scope`, `not_found`, `video_not_ready`.",
            ),
        },
    )
    return _obj("The error body of every failed request (OpenAI's shape).", {"error": detail})


def video() -> Schema:
    output = _obj(
        "The rendered file, once the video is completed; null until then.",
        {
            "url": _t(
                "string", "Absolute URL of the file (the `/content` endpoint).", format="uri"
            ),
            "content_type": _t("string", "The file's media type.", examples=["video/mp4"]),
            "width": _t("integer", "Frame width in pixels.", minimum=1),
            "height": _t("integer", "Frame height in pixels.", minimum=1),
            "duration": _t("number", "Length in seconds.", minimum=0),
            "fps": _t("integer", "Frames per second.", minimum=1),
            "bytes": _t("integer", "File size in bytes.", minimum=0),
            "sha256": _t("string", "Hex SHA-256 of the file.", pattern="^[0-9a-f]{64}$"),
        },
        optional=OUTPUT_FIELDS,
    )
    output["type"] = ["object", "null"]
    failure = _obj(
        "Why the video failed; null unless `status` is `failed`.",
        {
            "code": _t("string", "A stable code, e.g. `render_failed`, `invalid_image`."),
            "message": _t("string", "A human-readable explanation."),
        },
    )
    failure["type"] = ["object", "null"]
    return _obj(
        "A video generation job (the OpenAI video object, plus `provider` and `output`).",
        {
            "id": _t("string", "The video's id.", pattern=VIDEO_ID_PATTERN),
            "object": _const("video"),
            "model": _t("string", "The catalog id of the model (aliases are resolved)."),
            "status": _t("string", "Where the job is.", enum=list(STATUSES)),
            "progress": _t(
                "integer", "Percent done; 100 only once completed.", minimum=0, maximum=100
            ),
            "created_at": _t("integer", "Unix seconds when the request was accepted."),
            "completed_at": _t(
                ["integer", "null"],
                "Unix seconds when the job finished (completed, failed or canceled).",
            ),
            "expires_at": _t(["integer", "null"], "Always null: files are kept until deleted."),
            "seconds": _t("string", "The clip length in seconds, as a string (OpenAI's form)."),
            "size": _t("string", "The frame size, `WIDTHxHEIGHT`.", pattern=SIZE_PATTERN),
            "prompt": _t("string", "The prompt as submitted."),
            "remixed_from_video_id": _t(
                ["string", "null"], "Always null: remixing is not offered."
            ),
            "error": failure,
            "provider": _t("string", "The provider that renders the job, e.g. `local`."),
            "output": output,
        },
    )


def video_list() -> Schema:
    return _obj(
        "A page of videos, newest first unless `order=asc`.",
        {
            "object": _const("list"),
            "data": {"type": "array", "items": ref("Video")},
            "has_more": _t("boolean", "Whether another page follows `last_id`."),
            "first_id": _t(["string", "null"], "The first video's id; null for an empty page."),
            "last_id": _t(["string", "null"], "The last video's id (the next page's `after`)."),
        },
    )


def video_deleted() -> Schema:
    return _obj(
        "Confirms a deletion.",
        {
            "id": _t("string", "The deleted video's id.", pattern=VIDEO_ID_PATTERN),
            "object": _const("video.deleted"),
            "deleted": {"type": "boolean", "const": True},
        },
    )


def _int_field(form: bool, description: str, minimum: int, maximum: int | None = None) -> Schema:
    """An integer field: a JSON integer or a string of digits; a form sends only text."""
    digits = {"type": "string", "pattern": INT_STRING_PATTERN}
    if form:
        return {**digits, "description": f"{description} A string of digits."}
    bounds = {"minimum": minimum} | ({} if maximum is None else {"maximum": maximum})
    return {
        "description": f"{description} An integer or a string of digits.",
        "anyOf": [{"type": "integer", **bounds}, digits],
    }


def _request_fields(form: bool) -> dict[str, Schema]:
    """The create-video fields; a form sends numbers as text and the image as a file."""
    return {
        "model": _t(
            "string",
            "A model id or alias from `GET /v1/models`; the catalog's first "
            "model (`local-preview`) when omitted. Unknown → 400 `model_not_found`; no "
            "enabled provider serves it → 400 `model_unavailable`.",
        ),
        "prompt": _t(
            "string",
            "What to render. Required and not blank; at most the model's "
            "`capabilities.prompt_max_chars` (e.g. 4000; MiniMax 2000).",
            pattern=r"\S",
        ),
        "seconds": _int_field(
            form,
            "Clip length: one of the model's "
            "`capabilities.seconds.allowed` (some only at some resolutions: "
            "`seconds.by_resolution`); default `seconds.default`.",
            1,
        ),
        "size": _t(
            "string",
            "Frame size `WIDTHxHEIGHT`: one of the model's "
            "`capabilities.size.allowed` (its resolutions × aspect ratios). For a model "
            "with free sizing (`local-preview`): even sides from 16 to `size.max_side`, "
            "at most `size.max_pixels` pixels. Must agree with `resolution`/"
            "`aspect_ratio` if those are given; derived from them when omitted.",
            pattern=SIZE_PATTERN,
            examples=["1280x720"],
        ),
        "aspect_ratio": _t(
            "string",
            "One of the model's `capabilities.aspect_ratios`; default "
            "`capabilities.default_aspect_ratio`.",
            enum=list(ASPECT_RATIOS),
        ),
        "resolution": _t(
            "string",
            "One of the model's `capabilities.resolutions` (the short "
            "side); default `capabilities.default_resolution`.",
            enum=list(RESOLUTIONS),
        ),
        "fps": _int_field(
            form,
            "Frames per second: one of the model's "
            "`capabilities.fps.allowed` (local-preview: 1-60, default 24).",
            1,
        ),
        "seed": _int_field(
            form,
            "Seed for a reproducible render, for models whose "
            f"`capabilities.seed` is true (else 400). 0-{MAX_SEED}.",
            0,
            MAX_SEED,
        ),
        "negative_prompt": _t(
            "string",
            "What to avoid, for models whose "
            "`capabilities.negative_prompt` is true (else 400); at most "
            "`capabilities.prompt_max_chars`.",
        ),
        "audio": _bool_field(
            form,
            "Generate a soundtrack; default "
            "`capabilities.audio_default`. `true` for a model without "
            "`capabilities.audio` → 400.",
        ),
        "prompt_optimizer": _bool_field(
            form,
            "MiniMax models: let the upstream rewrite the "
            "prompt (its default is on). For models whose "
            "`capabilities.prompt_optimizer` is true (else 400).",
        ),
        "loop": _bool_field(
            form,
            "Luma models: make the last frame lead back into the first. "
            "For models whose `capabilities.loop` is true (else 400).",
        ),
        "style": _t(
            "string",
            "A named look, one of the model's `capabilities.styles` (e.g. "
            "Pixverse: anime, 3d_animation, clay, comic, cyberpunk); a model without "
            "styles → 400.",
        ),
        "user": _t(
            "string",
            "Your end user's id, for audit and abuse monitoring: recorded "
            "in the job's `Submitted` event (`params.user`), never sent upstream. At "
            "most 256 characters.",
            maxLength=256,
        ),
        "input_reference": _image_reference(form),
        "image_url": ref("ImageUrl"),
        "end_image_url": _end_image(form),
        "webhook_url": _webhook_url(
            "Where to POST this video's events (see the `videoEvent` "
            "webhook), signed with the tenant's default secret "
            "(`GET /v1/webhooks/default/secret`)."
        ),
        "webhook_events": _event_filter(
            form,
            "Which events go to `webhook_url` (needs it): "
            "any of the kinds; all of them when omitted or empty.",
        ),
    }


def _bool_field(form: bool, description: str) -> Schema:
    """A boolean: JSON true/false, or in a form the text "true"/"false"/"1"/"0"."""
    text = {"type": "string", "enum": ["true", "false", "1", "0"]}
    if form:
        return {**text, "description": description}
    return {"description": description, "anyOf": [{"type": "boolean"}, text]}


def _end_image(form: bool) -> Schema:
    """The last frame: an image URL (or, in a form, a file part too)."""
    description = (
        "The last frame, for models whose `capabilities.end_frame` is true (else "
        "400); needs a first frame (`input_reference` or `image_url`)."
    )
    if form:
        file = {"type": "string", "contentMediaType": "application/octet-stream"}
        return {"description": description, "anyOf": [file, ref("ImageUrl")]}
    return {"description": description, "allOf": [ref("ImageUrl")]}


def _webhook_url(description: str) -> Schema:
    """A destination URL, as `webhook_fields.webhook_url` accepts it."""
    return _t(
        "string",
        f"{description} An http(s) URL with a host, at most {MAX_URL} printable "
        "characters, without userinfo (`user:pass@`). Destinations on private, loopback or "
        "link-local networks are refused when the webhook is sent (the delivery is "
        "`abandoned`) unless the server allow-lists them "
        "(`VIDGATE_ALLOWED_PRIVATE_NETWORKS`).",
        format="uri",
        maxLength=MAX_URL,
        pattern=HTTP_URL_PATTERN,
        examples=["https://example.com/hooks/vidgate"],
    )


def _event_filter(form: bool, description: str) -> Schema:
    """Event kinds: a list or a comma-separated string (a form sends only the string)."""
    kinds = ", ".join(f"`{kind}`" for kind in EVENT_FILTERS)
    text = {"type": "string", "pattern": EVENT_LIST_PATTERN, "examples": ["completed,failed"]}
    if form:
        return {**text, "description": f"{description} Comma-separated: {kinds}."}
    kind = {"type": "string", "enum": list(EVENT_FILTERS)}
    listed = {"type": "array", "minItems": 1, "items": kind}
    return {
        "description": f"{description} A list or a comma-separated string of {kinds}.",
        "anyOf": [listed, text],
    }


def _image_reference(form: bool) -> Schema:
    """The first frame: a file part in a form, `{"image_url": …}` in JSON."""
    needs = (
        "Needs a model with the `image-to-video` mode; a text-only model with a `twin` "
        "switches to it (the video's `model` is the twin)."
    )
    if form:
        return {
            "type": "string",
            "contentMediaType": "application/octet-stream",
            "description": f"The first-frame image file (≤ {MAX_IMAGE_BYTES} bytes, any "
            f"format Pillow reads). {needs}",
        }
    return _obj(
        f"The first-frame image by URL. {needs} `file_id` is not supported "
        "(400 `unsupported_parameter`).",
        {"image_url": ref("ImageUrl")},
    )


def _create_request(description: str, form: bool) -> Schema:
    fields = _request_fields(form)
    if form:
        fields["input_reference[image_url]"] = ref("ImageUrl")
    return {
        **_obj(description, fields, optional=tuple(n for n in fields if n != "prompt")),
        "additionalProperties": False,
    }


def image_url() -> Schema:
    return _t(
        "string",
        "An http(s) URL (≤ 2048 characters) or a base64 `data:` URI "
        f"(`data:image/png;base64,…`) of an image of at most {MAX_IMAGE_BYTES} bytes. Give "
        "either this or `input_reference`, not both.",
        examples=["https://example.com/first-frame.png"],
    )


def video_event() -> Schema:
    return _obj(
        "One entry of a job's audit history.",
        {
            "object": _const("video.event"),
            "type": _t("string", "The event's kind.", enum=list(EVENT_TYPES)),
            "version": _t(
                "integer", "The event's position in the job's history (from 1).", minimum=1
            ),
            "occurred_at": _t("string", "When it was recorded (ISO 8601).", format="date-time"),
            "actor": _t(
                "string", "Who or what caused it: `api`, `dispatcher`, a provider, or `unknown`."
            ),
            "data": _t("object", "The event's recorded fields, which depend on `type`."),
        },
    )


def video_event_list() -> Schema:
    return _obj(
        "A job's whole history, oldest first.",
        {
            "object": _const("list"),
            "video_id": _t("string", "The video the events belong to.", pattern=VIDEO_ID_PATTERN),
            "data": {"type": "array", "items": ref("VideoEvent")},
        },
    )


def feed_event() -> Schema:
    """An item of the tenant event feed: a `VideoEvent` with its place in the event log."""
    item = video_event()
    head = {
        "object": item["properties"]["object"],
        "position": _t(
            "integer",
            "The event's position in the event log: increasing, unique "
            "across tenants (so gaps are other tenants' events); the `after` cursor.",
            minimum=1,
        ),
        "video_id": _t("string", "The video the event belongs to.", pattern=VIDEO_ID_PATTERN),
    }
    return _obj("One job event in the tenant's event feed.", {**head, **item["properties"]})


def feed_event_list() -> Schema:
    return _obj(
        "A page of the tenant's event feed, in log order.",
        {
            "object": _const("list"),
            "data": {"type": "array", "items": ref("Event")},
            "has_more": _t("boolean", "Whether more events follow `next_after` already."),
            "next_after": _t(
                "integer",
                "The `after` of the next page: the last event's position, "
                "or the `after` asked for when the page is empty.",
                minimum=0,
            ),
        },
    )


def analytics() -> Schema:
    """`GET /v1/analytics` (`service.surfaces.openai.analytics`)."""
    return _obj(
        "A tenant's job figures, per group.",
        {
            "object": _const("analytics"),
            "group_by": {
                "type": "array",
                "items": {"type": "string", "enum": list(DIMENSIONS)},
                "description": "The dimensions the groups are keyed by (empty: one "
                "group, the totals).",
            },
            "from": _t(["string", "null"], "The first submission day counted.", format="date"),
            "to": _t(["string", "null"], "The last submission day counted.", format="date"),
            "model": _t(["string", "null"], "Only this model's jobs (its id, aliases resolved)."),
            "provider": _t(["string", "null"], "Only this provider's jobs."),
            "data": {
                "type": "array",
                "items": ref("AnalyticsGroup"),
                "description": "Ordered by the group keys.",
            },
        },
    )


def analytics_group() -> Schema:
    count = {"type": "integer", "minimum": 0}
    span = _obj(
        "Seconds between two moments, over the group's jobs that have both.",
        {
            "count": _t("integer", "How many jobs the percentiles cover.", minimum=0),
            **{
                p: _t(
                    ["number", "null"],
                    f"The {p[1:]}th percentile (`percentile_cont`), null without jobs.",
                )
                for p in ("p50", "p90", "p99")
            },
        },
    )
    latency = {
        "submit_to_dispatch": {**span, "description": "Submission to the first dispatch."},
        "dispatch_to_complete": {**span, "description": "First dispatch to completion."},
        "submit_to_complete": {**span, "description": "Submission to completion."},
    }
    signals = _obj(
        "State changes (Progressed, Completed, Failed) by where they came from.",
        {
            "webhook": count,
            "poll": count,
            "other": {**count, "description": "The local renderer, the dispatcher …"},
            "webhook_share": _t(
                ["number", "null"], "webhook / all (null: none).", minimum=0, maximum=1
            ),
            "poll_share": _t(["number", "null"], "poll / all (null: none).", minimum=0, maximum=1),
        },
    )
    keys = {
        "day": _t("string", "UTC day of submission (grouped by day).", format="date"),
        "model": _t("string", "The model (grouped by model)."),
        "provider": _t("string", "The provider the job was routed to (grouped by provider)."),
    }
    return _obj(
        "One group's figures; its keys are present as grouped.",
        {
            **keys,
            "submitted": count,
            "completed": count,
            "failed": count,
            "canceled": count,
            "unfinished": {**count, "description": "Submitted and not ended yet."},
            "failures": {
                "type": "object",
                "additionalProperties": count,
                "description": "Failed jobs by failure code.",
            },
            "output_seconds": _t(
                "number", "Completed jobs' output duration (else the seconds asked for).", minimum=0
            ),
            "estimated_cost": _t("number", "The estimates of every submitted job (USD)."),
            "cost": _t(
                "number",
                "Completed jobs: the upstream's reported cost where it gave "
                "one, else the estimate (USD).",
            ),
            "latency": _obj("Latency percentiles, seconds.", latency),
            "signals": signals,
        },
        optional=keys,
    )


def _choices(description: str) -> Schema:
    """Discrete integer choices (seconds, fps) with their default and bounds."""
    integers = {"type": "array", "items": {"type": "integer"}}
    return _obj(
        description,
        {
            "allowed": {**integers, "description": "Every accepted value."},
            "default": _t("integer", "Value used when the field is omitted."),
            "min": _t("integer", "Smallest value."),
            "max": _t("integer", "Largest value."),
            "by_resolution": {
                "type": "object",
                "additionalProperties": integers,
                "description": "Resolutions that allow fewer values, and those.",
            },
        },
        optional=("by_resolution",),
    )


def _model_capabilities() -> Schema:
    strings = {"type": "array", "items": {"type": "string"}}
    size = _obj(
        "Frames: the allowed sizes, or (free sizing) the limits.",
        {
            "allowed": {**strings, "description": "Every accepted `size` (WIDTHxHEIGHT)."},
            "default": _t("string", "Size used when none is derived.", pattern=SIZE_PATTERN),
            "max_side": _t("integer", "Longest allowed side in pixels."),
            "max_pixels": _t("integer", "Largest allowed width times height."),
        },
        optional=("allowed", "default", "max_side", "max_pixels"),
    )
    return _obj(
        "What requests for this model may ask for.",
        {
            "modes": {
                "type": "array",
                "description": "Generation modes offered.",
                "items": {"type": "string", "enum": list(MODES)},
            },
            "seconds": _choices("Clip lengths in seconds."),
            "resolutions": {
                "type": "array",
                "items": {"type": "string", "enum": list(RESOLUTIONS)},
            },
            "default_resolution": _t("string", "Resolution used when none is given."),
            "aspect_ratios": {
                "type": "array",
                "items": {"type": "string", "enum": list(ASPECT_RATIOS)},
            },
            "default_aspect_ratio": _t("string", "Aspect ratio used when none is given."),
            "size": size,
            "fps": _choices("Frames per second."),
            "audio": _t("boolean", "Whether the model can generate a soundtrack."),
            "audio_default": _t("boolean", "Whether it does when `audio` is omitted."),
            "end_frame": _t(
                "boolean", "Whether a last-frame image (`end_image_url`) can be given."
            ),
            "negative_prompt": _t("boolean", "Whether `negative_prompt` is taken."),
            "seed": _t("boolean", "Whether `seed` is taken."),
            "prompt_optimizer": _t("boolean", "Whether `prompt_optimizer` is taken (MiniMax)."),
            "loop": _t("boolean", "Whether `loop` is taken (Luma)."),
            "styles": {
                "type": "array",
                "items": {"type": "string"},
                "description": "The values `style` takes; empty: the model takes none.",
            },
            "quality_levels": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "Quality tier (the vendor's name, e.g. Kling's "
                "std/pro) → the resolution that selects it.",
            },
            "prompt_max_chars": _t("integer", "Longest accepted prompt."),
            "twin": _t(
                ["string", "null"],
                "For a text-only model: the image-to-video model a "
                "request with an image switches to.",
            ),
        },
    )


def model() -> Schema:
    route = _obj(
        "One way vidgate can run the model.",
        {
            "provider": _t("string", "The provider adapter.", enum=list(PROVIDERS)),
            "model": _t("string", "The upstream model or endpoint id."),
            "image_model": _t(
                ["string", "null"],
                "The upstream endpoint for requests with an image, where the upstream splits them.",
            ),
        },
    )
    pricing = _obj(
        "List-price estimate (the video's cost estimate is this × seconds).",
        {
            "per_second_usd": _t("number", "USD per second of video at the default resolution."),
            "currency": _const("USD"),
            "per_second_usd_by_resolution": {
                "type": "object",
                "additionalProperties": {"type": "number"},
                "description": "USD per second at each resolution.",
            },
        },
    )
    return _obj(
        "A catalog model (OpenAI's model object, plus capabilities, pricing and routes).",
        {
            "id": _t("string", "The model's id."),
            "object": _const("model"),
            "created": _t("integer", "Unix seconds when the model joined the catalog."),
            "owned_by": _t("string", "Who makes the model, e.g. `google`, `kuaishou`."),
            "name": _t("string", "A display name."),
            "description": _t("string", "What the model does."),
            "aliases": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Other names it answers to (other APIs' ids).",
            },
            "capabilities": _model_capabilities(),
            "pricing": pricing,
            "routes": {
                "type": "array",
                "items": route,
                "description": "Routes in preference order: direct, then fal.ai, then Replicate.",
            },
            "providers": {"type": "array", "items": {"type": "string", "enum": list(PROVIDERS)}},
            "available": _t("boolean", "Whether a provider for one of the routes is enabled."),
            "provider": _t(
                ["string", "null"],
                "The provider that would serve a request now.",
                enum=[*PROVIDERS, None],
            ),
        },
    )


def model_list() -> Schema:
    return _obj(
        "Every model in the catalog.",
        {
            "object": _const("list"),
            "data": {"type": "array", "items": ref("Model")},
        },
    )


def health() -> Schema:
    return _obj("Liveness.", {"status": _const("ok")})


def readiness() -> Schema:
    return _obj(
        "Whether the event store answers.",
        {
            "status": _t(
                "string", "`ready`, or `unavailable` (503).", enum=["ready", "unavailable"]
            ),
            "store": _t("string", "The event store in use.", enum=["sqlite", "postgresql"]),
        },
    )


def _endpoint_fields() -> dict[str, Schema]:
    filters = _event_filter(
        False,
        "Which job events to send; all of them when omitted or null. "
        "Stored as a list in canonical order.",
    )
    filters["anyOf"].append({"type": "null"})
    return {
        "url": _webhook_url("Where to POST events (see the `videoEvent` webhook)."),
        "events": filters,
        "description": _t(
            ["string", "null"], "A note for people; null means empty.", maxLength=MAX_DESCRIPTION
        ),
        "enabled": _t(
            "boolean",
            "Whether events are sent; default true. Setting it to true "
            "re-enables an endpoint the sender disabled.",
        ),
    }


def create_webhook_endpoint() -> Schema:
    return {
        **_obj(
            "Registers a webhook endpoint. An unknown field is a 400 `unknown_parameter`.",
            _endpoint_fields(),
            optional=("events", "description", "enabled"),
        ),
        "additionalProperties": False,
    }


def update_webhook_endpoint() -> Schema:
    fields = _endpoint_fields()
    return {
        **_obj(
            "Changes a webhook endpoint: only the fields given (`{}` changes nothing).",
            fields,
            optional=fields,
        ),
        "additionalProperties": False,
    }


def rotate_webhook_secret() -> Schema:
    grace = _t(
        "integer",
        "How long the previous secret keeps signing (alongside the new one), "
        f"in seconds; at most {MAX_GRACE} (7 days), 0 to retire it at once.",
        minimum=0,
        maximum=MAX_GRACE,
        default=DEFAULT_GRACE,
    )
    return {
        **_obj(
            "Options of a secret rotation (the body may be omitted).",
            {"grace_period_seconds": grace},
            optional=["grace_period_seconds"],
        ),
        "additionalProperties": False,
    }


def _moment(description: str) -> Schema:
    forms = [{"type": "number"}, {"type": "string", "format": "date-time"}, {"type": "null"}]
    return {
        "description": f"{description} Unix seconds, or an ISO 8601 time with a zone.",
        "anyOf": forms,
        "examples": [1767225600, "2026-01-01T00:00:00Z"],
    }


def recover_webhook_deliveries() -> Schema:
    fields = {
        "since": _moment("Start of the window (inclusive); 7 days ago when omitted or null."),
        "until": _moment(
            "End of the window (exclusive); now when omitted or null. Must be after `since`."
        ),
    }
    window = _obj(
        "The window of deliveries to send again, by creation time (the body may be omitted).",
        fields,
        optional=fields,
    )
    return {**window, "additionalProperties": False}


def webhook_endpoint() -> Schema:
    return _obj(
        "A registered webhook endpoint: every job event of the tenant whose kind it "
        "subscribes to is POSTed to it, signed with its own secret.",
        {
            "id": _t("string", "The endpoint's id.", pattern=ENDPOINT_ID_PATTERN),
            "object": _const("webhook_endpoint"),
            "url": _t("string", "Where events are POSTed.", format="uri"),
            "events": {
                "type": "array",
                "description": "The event kinds it receives, in canonical order.",
                "items": {"type": "string", "enum": list(EVENT_FILTERS)},
            },
            "description": _t("string", "The tenant's note (empty when none)."),
            "enabled": _t(
                "boolean",
                "Whether events are sent to it. The sender disables an endpoint "
                "that answers 410 Gone or has failed every delivery for 5 days.",
            ),
            "disabled_reason": _t(["string", "null"], "Why it was disabled; null while enabled."),
            "created_at": _t("integer", "Unix seconds when it was registered."),
            "secret": _t(
                "string",
                "The signing secret (`whsec_` and base64): only in the answers to "
                "create and rotate_secret; it cannot be read again.",
                pattern=SECRET_PATTERN,
            ),
        },
        optional=["secret"],
    )


def webhook_endpoint_with_secret() -> Schema:
    return {
        "description": "A webhook endpoint, with its current signing `secret`.",
        "allOf": [ref("WebhookEndpoint"), {"required": ["secret"]}],
    }


def webhook_endpoint_list() -> Schema:
    return _obj(
        "The tenant's webhook endpoints (not deleted), by id; secrets are not shown.",
        {
            "object": _const("list"),
            "data": {"type": "array", "items": ref("WebhookEndpoint")},
        },
    )


def webhook_endpoint_deleted() -> Schema:
    return _obj(
        "Confirms a deletion.",
        {
            "id": _t("string", "The deleted endpoint's id.", pattern=ENDPOINT_ID_PATTERN),
            "object": _const("webhook_endpoint.deleted"),
            "deleted": {"type": "boolean", "const": True},
        },
    )


def default_webhook_secret() -> Schema:
    return _obj(
        "The tenant's default signing secret: it signs the webhooks sent to a video's "
        "`webhook_url` (registered endpoints have their own).",
        {
            "key": _t("string", "The secret, `whsec_` and base64.", pattern=SECRET_PATTERN),
        },
    )


def webhook_recovery() -> Schema:
    return _obj(
        "How many failed or abandoned deliveries were queued again.",
        {
            "object": _const("recovery"),
            "requeued": _t("integer", "The number of deliveries queued again.", minimum=0),
        },
    )


def webhook_delivery_attempt() -> Schema:
    return _obj(
        "One try at sending a delivery.",
        {
            "at": _t("number", "Unix seconds (fractional) when it was sent."),
            "status_code": _t(
                ["integer", "null"], "The receiver's HTTP status; null when there was no answer."
            ),
            "latency_ms": _t("number", "How long it took, in milliseconds.", minimum=0),
            "response": _t(
                ["string", "null"],
                "The start of the receiver's response body (its "
                "first 20000 bytes, as text); null when there was no answer.",
            ),
            "error": _t(["string", "null"], "What went wrong; null when it succeeded."),
            "trigger": _t(
                "string",
                "`scheduled` (the retry schedule) or `manual` (redeliver, recover).",
                enum=["scheduled", "manual"],
            ),
        },
    )


def webhook_delivery() -> Schema:
    return _obj(
        "One job event on its way to one destination, and every attempt so far.",
        {
            "id": _t("string", "The delivery's id.", pattern=DELIVERY_ID_PATTERN),
            "object": _const("webhook_delivery"),
            "webhook_id": _t(
                "string",
                "The `webhook-id` header: one per job event, the same on "
                "every attempt and for every destination.",
                pattern=MESSAGE_ID_PATTERN,
            ),
            "endpoint_id": _t(
                ["string", "null"],
                "The registered endpoint; null for the video's own `webhook_url`.",
                pattern=ENDPOINT_ID_PATTERN,
            ),
            "url": _t("string", "Where it is sent.", format="uri"),
            "event_type": _t("string", "The payload's `type`.", enum=list(WEBHOOK_EVENT_TYPES)),
            "sequence": _t(
                "integer", "The job event's position in the video's history.", minimum=1
            ),
            "status": _t(
                "string",
                "`pending` (queued or waiting for a retry), `succeeded` (a 2xx), "
                "`failed` (retries exhausted, or a manual attempt failed) or `abandoned` "
                "(410 Gone, a refused destination, a disabled endpoint, or a progress "
                "update superseded by a newer one).",
                enum=list(DELIVERY_STATUSES),
            ),
            "attempt_count": _t("integer", "How many attempts were made.", minimum=0),
            "next_attempt_at": _t(
                ["number", "null"],
                "Unix seconds of the next attempt while `pending`; null otherwise.",
            ),
            "last_status_code": _t(["integer", "null"], "The last attempt's HTTP status, if any."),
            "last_error": _t(
                ["string", "null"], "The last attempt's error (or why it was abandoned), if any."
            ),
            "created_at": _t("number", "Unix seconds (fractional) of the job event."),
            "attempts": {
                "type": "array",
                "items": ref("WebhookDeliveryAttempt"),
                "description": "Every attempt, oldest first.",
            },
        },
    )


def webhook_delivery_list() -> Schema:
    return _obj(
        "Deliveries: a video's by job event, or an endpoint's newest first.",
        {
            "object": _const("list"),
            "data": {"type": "array", "items": ref("WebhookDelivery")},
        },
    )


def webhook_payload() -> Schema:
    failure = _obj(
        "Why the video failed; null unless `type` is `video.failed`.",
        {
            "code": _t("string", "A stable code, e.g. `render_failed`."),
            "message": _t("string", "A human-readable explanation."),
        },
    )
    failure["type"] = ["object", "null"]
    return _obj(
        "The JSON body of every webhook vidgate sends.",
        {
            "type": _t("string", "What happened.", enum=list(WEBHOOK_EVENT_TYPES)),
            "video_id": _t("string", "The video.", pattern=VIDEO_ID_PATTERN),
            "status": _t(
                "string",
                "The video's status after the event.",
                enum=list(dict.fromkeys(PAYLOAD_STATUS.values())),
            ),
            "progress": _t(
                "integer",
                "Percent done (the last known value for failed and canceled; 100 when completed).",
                minimum=0,
                maximum=100,
            ),
            "output_url": _t(
                ["string", "null"],
                "The file's `/content` URL; only in `video.completed`, null otherwise.",
                format="uri",
            ),
            "error": failure,
            "sequence": _t(
                "integer",
                "The event's position in the video's history: order events by "
                "it, as deliveries may arrive out of order.",
                minimum=1,
            ),
            "occurred_at": _t(
                "string", "When the event was recorded (ISO 8601).", format="date-time"
            ),
        },
    )


def schemas() -> dict[str, Schema]:
    return {
        "Error": error(),
        "Video": video(),
        "VideoList": video_list(),
        "VideoDeleted": video_deleted(),
        "CreateVideoRequest": _create_request(
            "A JSON create-video request. A field that is null (or an empty string) counts as "
            "omitted; an unknown field is a 400 `unknown_parameter`.",
            form=False,
        ),
        "CreateVideoMultipart": _create_request(
            "A multipart create-video request: the same fields as text parts, and the image as "
            "the `input_reference` file part (or `input_reference[image_url]`).",
            form=True,
        ),
        "ImageUrl": image_url(),
        "VideoEvent": video_event(),
        "VideoEventList": video_event_list(),
        "Event": feed_event(),
        "EventList": feed_event_list(),
        "Analytics": analytics(),
        "AnalyticsGroup": analytics_group(),
        "Model": model(),
        "ModelList": model_list(),
        "Health": health(),
        "Readiness": readiness(),
        "WebhookEndpoint": webhook_endpoint(),
        "WebhookEndpointWithSecret": webhook_endpoint_with_secret(),
        "WebhookEndpointList": webhook_endpoint_list(),
        "WebhookEndpointDeleted": webhook_endpoint_deleted(),
        "CreateWebhookEndpointRequest": create_webhook_endpoint(),
        "UpdateWebhookEndpointRequest": update_webhook_endpoint(),
        "RotateWebhookSecretRequest": rotate_webhook_secret(),
        "RecoverWebhookDeliveriesRequest": recover_webhook_deliveries(),
        "WebhookRecovery": webhook_recovery(),
        "DefaultWebhookSecret": default_webhook_secret(),
        "WebhookDelivery": webhook_delivery(),
        "WebhookDeliveryAttempt": webhook_delivery_attempt(),
        "WebhookDeliveryList": webhook_delivery_list(),
        "WebhookPayload": webhook_payload(),
    }
