"""HTTP plumbing the upstream adapters share: guarded calls, JSON bodies, Retry-After,
atomic streamed downloads and input images.

Only what is the same for every adapter using it lives here; each adapter keeps its own
error-body parsing and what its upstream's status codes mean. `who` is the upstream's name
as it appears in error messages ("fal", "OpenAI", "Ark", …).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import os
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import anyio
import httpx

from service.providers.base import (
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    UpstreamStatus,
)
from service.webhooks.signing import verifies

Json = dict[str, Any]
IMAGE_MAGIC = {b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg", b"RIFF": "image/webp"}
Fail = Callable[[Exception], ProviderUnavailable]
MAX_OUTPUT_BYTES = 4 * 1024**3  # the largest upstream output copied (no video we serve is near)


# The request never left: nothing can have been created upstream (a submit may go again).
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def unreachable(error: Exception, who: str, method: str, target: str) -> ProviderUnavailable:
    """A call that never reached the upstream (`unreachable`), timed out waiting for it
    (`upstream_timeout`), or lost its connection on the way (`connection_lost`): after the
    last two a submit may have created a job."""
    if isinstance(error, NOT_SENT):
        return ProviderUnavailable(
            f"{who} is unreachable ({method} {target}): {error}", code="unreachable"
        )
    if isinstance(error, TimeoutError | httpx.TimeoutException):
        return ProviderUnavailable(f"{who} timed out on {method} {target}", code="upstream_timeout")
    return ProviderUnavailable(
        f"{who} dropped the connection ({method} {target}): {error}", code="connection_lost"
    )


def lost(who: str) -> Fail:
    """`unreachable` worded as Runway/Ark/Veo word it."""

    def fail(error: Exception) -> ProviderUnavailable:
        if isinstance(error, NOT_SENT):
            return ProviderUnavailable(f"{who} is unreachable: {error}", code="unreachable")
        if isinstance(error, TimeoutError | httpx.TimeoutException):
            return ProviderUnavailable(f"{who} did not answer in time", code="upstream_timeout")
        return ProviderUnavailable(f"{who} dropped the connection: {error}", code="connection_lost")

    return fail


async def request(
    http: httpx.AsyncClient, method: str, url: str, *, deadline: float, fail: Fail, **kw: Any
) -> httpx.Response:
    """One HTTP call under our own deadline too (ASGI and mock transports ignore httpx
    timeouts); a timeout or transport error becomes `fail(error)`, raised."""
    try:
        with anyio.fail_after(deadline):
            return await http.request(method, url, timeout=deadline, **kw)
    except (TimeoutError, httpx.HTTPError) as error:
        raise fail(error) from None


def parse_json(content: bytes) -> Any:
    """The JSON in `content`, or None if it is not JSON."""
    try:
        return json.loads(content)
    except ValueError:
        return None


def json_object(response: httpx.Response, who: str) -> Json:
    """The JSON object an answer must carry (else ProviderUnavailable `malformed`)."""
    data = parse_json(response.content)
    if not isinstance(data, dict):
        raise ProviderUnavailable(f"{who} answered with a malformed body", code="malformed")
    return data


def json_answer(response: httpx.Response, who: str) -> Json:
    """The JSON object an answer must carry (else ProviderUnavailable `upstream_malformed`,
    quoting the body)."""
    with contextlib.suppress(ValueError):
        answer = response.json()
        if isinstance(answer, dict):
            return answer
    raise ProviderUnavailable(
        f"{who} answered malformed JSON: {response.text[:200]!r}", code="upstream_malformed"
    )


def number(value: Any) -> float | None:
    """`value` as a float, or None when it is not a number."""
    with contextlib.suppress(TypeError, ValueError):
        return float(value)
    return None


def retry_seconds(value: Any) -> float | None:
    """A delay in seconds (negative ones as 0), or None when `value` is not a number."""
    seconds = number(value)
    return None if seconds is None else max(0.0, seconds)


def retry_after(value: str | None) -> float | None:
    """A `Retry-After` header (seconds or an HTTP date) in seconds from now."""
    if not value:
        return None
    seconds = retry_seconds(value)
    if seconds is not None:
        return seconds
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def retryable(status: int, message: str, retry: float | None) -> ProviderUnavailable | None:
    """The error for a retryable 408/409/429/5xx answer (`rate_limited` for 429, else
    `upstream_error`); None for any other status."""
    if status not in (408, 409, 429) and status < 500:
        return None
    code = "rate_limited" if status == 429 else "upstream_error"
    return ProviderUnavailable(message, code=code, retry_after=retry)


async def stream_to_file(
    http: httpx.AsyncClient,
    url: str,
    dest: Path,
    *,
    deadline: float,
    who: str,
    refused: Callable[[httpx.Response], ProviderError],
    target: str | None = None,
    **kw: Any,
) -> Path:
    """GET `url` into `dest` atomically (via `.{name}.part`) within `deadline * 10`. Only the
    headers in `kw` are sent: public/presigned URLs get no API key. A non-2xx answer raises
    `refused(response)`; a timeout or transport error `unreachable` (naming `target`)."""
    part = anyio.Path(dest.with_name(f".{dest.name}.part"))
    try:
        with anyio.fail_after(deadline * 10):  # TODO(wiring): through the SSRF guard
            async with http.stream("GET", url, timeout=deadline, **kw) as response:
                if not response.is_success:
                    await response.aread()
                    raise refused(response)
                async with await anyio.open_file(part, "wb") as out:
                    async for chunk in limited(response.aiter_bytes(), who):
                        await out.write(chunk)
        await part.replace(dest)
    except (TimeoutError, httpx.HTTPError) as error:
        raise unreachable(error, who, "GET", target or url) from None
    finally:
        await part.unlink(missing_ok=True)
    return dest


async def fetch_to_file(
    http: httpx.AsyncClient,
    url: str,
    dest: Path,
    *,
    deadline: float,
    total: float,
    who: str,
    item: str,
) -> Path:
    """GET `url` (no API key: presigned URLs) into `dest` via `write_atomically`, within
    `total` seconds; anything but a 200 ("the {who} {item} answered HTTP …") or a failed
    transfer ("the {who} download …") is ProviderUnavailable."""
    try:
        async with asyncio.timeout(total), http.stream("GET", url, timeout=deadline) as response:
            if response.status_code != 200:
                raise ProviderUnavailable(f"the {who} {item} answered HTTP {response.status_code}")
            return await write_atomically(limited(response.aiter_bytes(), who), dest)
    except (TimeoutError, httpx.TimeoutException):
        timed_out = f"the {who} download timed out"
        raise ProviderUnavailable(timed_out, code="upstream_timeout") from None
    except httpx.HTTPError as error:
        raise ProviderUnavailable(f"the {who} download failed: {error}") from None


async def limited(
    chunks: AsyncIterator[bytes], who: str, max_bytes: int = MAX_OUTPUT_BYTES
) -> AsyncIterator[bytes]:
    """`chunks`, refused (ProviderRejected `output_too_large`) past `max_bytes` in all."""
    seen = 0
    async for chunk in chunks:
        seen += len(chunk)
        if seen > max_bytes:
            raise ProviderRejected(
                f"the {who} output is larger than {max_bytes} bytes", code="output_too_large"
            )
        yield chunk


async def write_atomically(chunks: AsyncIterator[bytes], dest: Path) -> Path:
    """Stream chunks into dest atomically (a temp file next to it, then a rename)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(6)}.tmp")
    handle = await asyncio.to_thread(tmp.open, "wb")
    try:
        async for chunk in chunks:
            await asyncio.to_thread(handle.write, chunk)
        await asyncio.to_thread(handle.close)
        await asyncio.to_thread(os.replace, tmp, dest)
    except BaseException:
        handle.close()
        tmp.unlink(missing_ok=True)
        raise
    return dest


def sniff(data: bytes) -> str:
    """An image's MIME type from its magic bytes (PNG when unknown)."""
    return next(
        (mime for magic, mime in IMAGE_MAGIC.items() if data.startswith(magic)), "image/png"
    )


def image_mime(image: Mapping[str, Any], data: bytes) -> Any:
    """An input image's declared `content_type` / `mime_type` (as given), else `sniff(data)`."""
    return image.get("content_type") or image.get("mime_type") or sniff(data)


def decode_base64(value: Any, message: str) -> bytes:
    """Strict base64 from an input, else ProviderRejected(message, `invalid_input`)."""
    try:
        return base64.b64decode(str(value), validate=True)
    except binascii.Error:
        raise ProviderRejected(message, code="invalid_input") from None


async def image_bytes(
    image: Mapping[str, Any],
    read_input: Callable[[str], bytes] | None,
    *,
    not_base64: str,
    missing: str,
) -> bytes:
    """An input image's bytes: its base64 `data`, or a stored `sha256` through `read_input`."""
    if image.get("data"):
        return decode_base64(image["data"], not_base64)
    if image.get("sha256") and read_input is not None:
        return await asyncio.to_thread(read_input, str(image["sha256"]))
    raise ProviderRejected(missing, code="invalid_input")


def data_uri(data: bytes, mime: str) -> str:
    """`data` as a base64 `data:` URI."""
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


WEBHOOK_TOLERANCE = 300  # seconds a webhook timestamp may be off, either way


def verify_standard_webhook(
    headers: Mapping[str, str], body: bytes, secret: str, now: float, who: str
) -> None:
    """Check an upstream's Standard Webhooks signature (`whsec_…` secret, ±5 minutes)."""
    msg_id, stamp, signatures = (
        headers.get(f"webhook-{n}", "") for n in ("id", "timestamp", "signature")
    )
    if not (msg_id and stamp and signatures):
        raise ProviderRejected(f"not a signed {who} webhook", code="invalid_signature")
    if not stamp.isdigit() or abs(now - int(stamp)) > WEBHOOK_TOLERANCE:
        raise ProviderRejected(f"the {who} webhook timestamp is too old or new", code="stale")
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except ValueError:
        raise ProviderUnavailable(f"the {who} webhook secret is malformed") from None
    if not verifies(msg_id, int(stamp), body, key, signatures):
        raise ProviderRejected(
            f"the {who} webhook signature does not verify", code="invalid_signature"
        )


def finished_output(status: UpstreamStatus, who: str, task: str = "task") -> str:
    """The output URL of a finished job, or why there is none yet (retryable) or ever."""
    if status.state in ("queued", "in_progress"):
        raise ProviderUnavailable(f"the {who} {task} has not finished yet", code="not_ready")
    if status.state != "completed" or not status.output_url:
        raise ProviderRejected(
            f"the {who} {task} has no video ({status.raw_status})", code="no_output"
        )
    return status.output_url
