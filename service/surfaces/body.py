"""Reads a request body as fields (JSON or multipart), within a size limit."""

from __future__ import annotations

import json
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.types import Message

from service.surfaces.errors import ApiError, invalid
from service.videos.request import Upload


def too_large(limit: int) -> ApiError:
    return ApiError(
        413, f"request body is larger than {limit} bytes", code="request_too_large", param="body"
    )


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large(limit)
    return bytes(body)


async def read_optional_fields(request: Request, limit: int) -> dict[str, Any]:
    """Like `read_fields`, but an empty body is no fields rather than an error."""
    body = await read_body(request, limit)
    if not body.strip():
        return {}
    return await read_fields(Request(request.scope, receive=_replay(body)), limit)


async def read_fields(request: Request, limit: int) -> dict[str, Any]:
    """The request's fields; multipart files become `Upload`s, `a[b]` keys nest."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await read_body(request, limit)
    if content_type in ("application/json", "") or content_type.endswith("+json"):
        return _json_object(body)
    if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return await _form(request, body, limit)
    raise ApiError(
        415,
        f"unsupported content type {content_type!r}; send JSON or multipart",
        code="unsupported_media_type",
        param="Content-Type",
    )


def _json_object(body: bytes) -> dict[str, Any]:
    if not body.strip():
        raise invalid("body", "the request body is empty; send a JSON object", "invalid_json")
    try:
        value = json.loads(body)
        # A lone surrogate escape (a "\\ud800" without its pair) parses, but can be neither
        # stored nor echoed back in a response: refuse it here, as the client's error.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise invalid(
            "body", "the body has an unpaired surrogate escape (\\ud800-\\udfff)", "invalid_json"
        ) from None
    except ValueError as error:  # includes UnicodeDecodeError
        raise invalid("body", f"the body is not valid JSON: {error}", "invalid_json") from None
    except RecursionError:  # `[[[[…` nested deeper than the parser recurses
        raise invalid("body", "the body's JSON is nested too deeply", "invalid_json") from None
    if not isinstance(value, dict):
        raise invalid("body", "the body must be a JSON object", "invalid_json")
    return value


async def _form(request: Request, body: bytes, limit: int) -> dict[str, Any]:
    replayed = Request(request.scope, receive=_replay(body))
    try:
        form = await replayed.form(max_files=4, max_fields=64, max_part_size=limit)
    except Exception as error:  # any parse failure is the client's malformed body
        detail = getattr(error, "detail", None) or str(error) or type(error).__name__
        raise invalid("body", f"malformed form body: {detail}", "invalid_form") from None
    fields: dict[str, Any] = {}
    for name, item in form.multi_items():
        value: str | Upload = item if isinstance(item, str) else await _upload(item)
        outer, _, inner = name.partition("[")
        if inner.endswith("]"):
            nested = fields.setdefault(outer, {})
            if not isinstance(nested, dict):
                raise invalid(outer, f"{outer} is given both as a value and as {name}")
            nested[inner[:-1]] = value
        elif isinstance(fields.get(name), dict):
            raise invalid(name, f"{name} is given both as a value and as {name}[…]")
        else:
            fields[name] = value
    await form.close()
    return fields


async def _upload(file: UploadFile) -> Upload:
    return Upload(await file.read(), file.content_type, file.filename)


def _replay(body: bytes) -> Any:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
