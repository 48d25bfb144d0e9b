"""The fal.ai queue adapter (`queue.fal.run`): Kling, Wan, MiniMax, Veo, LTX … hosted on fal.

Upstream ids are `"<owner>/<app>:<request_id>"`: fal serves status, result and cancel under
the owner/app *without* the endpoint sub-path, so the id carries exactly what those need.

Webhooks: the `Provider` protocol's `parse_webhook` is synchronous (receivers call it on
the request path), but fal's signing keys come from a JWKS document over the network. So
the keys are cached here: `parse_webhook` verifies against the cache and refuses (retryably)
when it is empty or older than 24 h; `verify_webhook` is the async entry point receivers
should use: it refreshes a missing/expired cache, and refetches once when no cached key
verifies (fal rotated its key), at most once a minute so forged requests cannot make us
hammer the JWKS host.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import anyio
import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from service.providers.base import (
    DispatchRequest,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    Submission,
    UpstreamStatus,
)

FAL_JWKS_URL = "https://rest.alpha.fal.ai/.well-known/jwks.json"
JWKS_TTL = 24 * 3600.0  # fal: cache the keys for at most 24 hours
JWKS_REFETCH_EVERY = 60.0  # an unknown signature refetches the JWKS at most this often
TOLERANCE = 300  # seconds a webhook timestamp may be off, either way
NAMESPACES = ("workflows", "comfy")  # app ids with three segments (fal-client's AppId)
RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "9:21")
Json = dict[str, Any]


def app_id(endpoint: str) -> str:
    """`fal-ai/kling-video/v2.5-turbo/pro/text-to-video` → `fal-ai/kling-video`."""
    parts = endpoint.strip("/").split("/")
    size = 3 if parts[0] in NAMESPACES else 2
    if len(parts) < size or not all(parts[:size]):
        raise ProviderRejected(f"{endpoint!r} is not a fal endpoint id", code="invalid_model")
    return "/".join(parts[:size])


def fal_input(request: DispatchRequest) -> Json:
    """Our job parameters in the input schema fal's video models share."""
    params, body = request.params, {"prompt": request.prompt}
    if params.get("seconds") is not None:
        body["duration"] = f"{float(params['seconds']):g}"  # Kling & co. take "5" / "10"
    ratio = params.get("aspect_ratio") or _ratio(params.get("size"))
    if ratio:
        body["aspect_ratio"] = ratio
    for name in ("seed", "negative_prompt"):
        if params.get(name) is not None:
            body[name] = params[name]
    image = request.inputs.get("image")
    if image and image.get("url"):
        body["image_url"] = image["url"]
    elif image:
        raise ProviderRejected(
            "fal fetches input images from a URL; uploaded images (sha256) are not supported "
            "by the fal provider yet: pass the image as image_url",
            code="image_upload_unsupported",
        )
    return body


class FalProvider:
    name = "fal"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        key: str,
        base_url: str = "https://queue.fal.run",
        user_id: str,
        jwks_url: str = FAL_JWKS_URL,
        clock: Callable[[], float] = time.time,
        timeout: float = 30.0,
    ) -> None:
        self.http, self.key, self.base_url = http, key, base_url.rstrip("/")
        self.user_id, self.jwks_url, self.clock, self.timeout = user_id, jwks_url, clock, timeout
        self._keys: list[Ed25519PublicKey] = []
        self._keys_at = -math.inf  # clock time of the last JWKS fetch
        self._refetched_at = -math.inf

    async def submit(self, request: DispatchRequest) -> Submission:
        endpoint = request.upstream_model.strip("/")
        app, body = app_id(endpoint), fal_input(request)
        query = {"fal_webhook": request.callback_url} if request.callback_url else None
        data = _json(await self._send("POST", f"/{endpoint}", json=body, params=query))
        request_id = data.get("request_id")
        if not isinstance(request_id, str) or not request_id:
            raise ProviderUnavailable("fal's submit answer has no request_id", code="malformed")
        return Submission(upstream_id=f"{app}:{request_id}")

    async def status(self, upstream_id: str) -> UpstreamStatus:
        app, rid = _split(upstream_id)
        data = _json(await self._send("GET", f"/{app}/requests/{rid}/status", params={"logs": 1}))
        raw = data.get("status")
        if raw == "IN_QUEUE":
            return UpstreamStatus(
                "queued", raw, extra={"queue_position": data.get("queue_position")}
            )
        if raw == "IN_PROGRESS":
            return UpstreamStatus("in_progress", raw, progress=_progress(data.get("logs")))
        if raw != "COMPLETED":
            raise ProviderUnavailable(f"fal answered an unknown status {raw!r}", code="malformed")
        response = await self._call("GET", f"/{app}/requests/{rid}")
        if response.is_success:
            return _completed(_json(response), raw, {"request_id": rid})
        error = _error(response)
        if isinstance(error, ProviderUnavailable) and not data.get("error"):
            raise error  # the result call failed, not the job
        code, message = _fal_error(_loads(response.content))
        code, message = code or data.get("error_type"), message or data.get("error")
        return _failed(code, message or str(error), raw, response.status_code, {"request_id": rid})

    async def cancel(self, upstream_id: str) -> None:
        """Cancel a queued job (a running one is only signalled; fal may still finish it)."""
        app, rid = _split(upstream_id)
        response = await self._call("PUT", f"/{app}/requests/{rid}/cancel")
        if response.status_code == 400 and b"ALREADY_COMPLETED" in response.content:
            raise ProviderRejected(
                "the fal request has already completed", code="already_completed"
            )
        if not response.is_success:
            raise _error(response)

    async def download(self, upstream_id: str, dest: Path) -> Path:
        """Stream the result video to `dest` (atomically). fal's file URLs are public: our key
        is never sent with them."""
        app, rid = _split(upstream_id)
        url = _video_url(_json(await self._send("GET", f"/{app}/requests/{rid}")))
        part = anyio.Path(dest.with_name(f".{dest.name}.part"))
        try:
            with anyio.fail_after(self.timeout * 10):  # TODO(wiring): through the SSRF guard
                async with self.http.stream("GET", url, timeout=self.timeout) as response:
                    if not response.is_success:
                        await response.aread()
                        raise _error(response)
                    async with await anyio.open_file(part, "wb") as out:
                        async for chunk in response.aiter_bytes():
                            await out.write(chunk)
            await part.replace(dest)
        except (TimeoutError, httpx.HTTPError) as error:
            raise _unreachable(error, "GET", url) from None
        finally:
            await part.unlink(missing_ok=True)
        return dest

    async def refresh_keys(self) -> None:
        """Fetch fal's webhook signing keys (JWKS) into the cache."""
        found = _json(await self._send("GET", self.jwks_url, auth=False)).get("keys")
        keys = [key for key in map(_jwk, found if isinstance(found, list) else []) if key]
        if not keys:
            raise ProviderUnavailable("fal's JWKS holds no Ed25519 key", code="malformed")
        self._keys, self._keys_at = keys, self.clock()

    async def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> UpstreamStatus:
        """`parse_webhook`, fetching fal's keys when the cache is empty, stale or outdated."""
        if self.clock() - self._keys_at > JWKS_TTL:
            await self.refresh_keys()
        try:
            return self.parse_webhook(headers, body)
        except ProviderRejected as error:
            if error.code != "invalid_signature" or not self._may_refetch():
                raise
        await self.refresh_keys()
        return self.parse_webhook(headers, body)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> UpstreamStatus:
        """Verify a fal webhook against the cached keys (see the module doc) and map it."""
        if self.clock() - self._keys_at > JWKS_TTL:
            raise ProviderUnavailable("fal's webhook keys are not loaded: await refresh_keys()")
        lower = {name.lower(): value for name, value in headers.items()}
        names = ("request-id", "user-id", "timestamp", "signature")
        rid, user, stamp, signature = (lower.get(f"x-fal-webhook-{n}", "") for n in names)
        if not (rid and user and stamp and signature):
            raise ProviderRejected("not a signed fal webhook", code="invalid_signature")
        if not hmac.compare_digest(user.encode(), self.user_id.encode()):
            raise ProviderRejected("the fal webhook is for another fal user", code="wrong_user")
        if not stamp.isdigit() or abs(self.clock() - int(stamp)) > TOLERANCE:
            raise ProviderRejected("the fal webhook timestamp is too old or new", code="stale")
        message = "\n".join((rid, user, stamp, hashlib.sha256(body).hexdigest())).encode()
        if not any(_verifies(key, signature, message) for key in self._keys):
            raise ProviderRejected(
                "the fal webhook signature does not verify", code="invalid_signature"
            )
        data = _loads(body)
        if not isinstance(data, dict) or data.get("request_id") != rid:
            raise ProviderRejected("the fal webhook body is malformed", code="malformed")
        extra = {"request_id": rid, "gateway_request_id": data.get("gateway_request_id")}
        if data.get("status") == "OK":
            return _completed(data.get("payload"), "OK", extra)  # no payload → poll instead
        code, message_ = _fal_error(data.get("payload"))
        text = message_ or data.get("error") or data.get("payload_error") or "fal reported an error"
        return _failed(code, str(text), "ERROR", None, extra)

    def _may_refetch(self) -> bool:
        if self.clock() - self._refetched_at < JWKS_REFETCH_EVERY:
            return False
        self._refetched_at = self.clock()
        return True

    async def _call(self, method: str, path: str, auth: bool = True, **kw: Any) -> httpx.Response:
        """One queue API call (`path` under base_url) or, with auth=False, a keyless GET of
        an absolute URL (the JWKS): fal's key only ever goes to fal's queue host."""
        url = self.base_url + path if auth else path
        headers = {"Authorization": f"Key {self.key}"} if auth else {}
        try:  # ASGI and mock transports ignore httpx timeouts: enforce our own deadline too
            with anyio.fail_after(self.timeout):
                return await self.http.request(
                    method, url, headers=headers, timeout=self.timeout, **kw
                )
        except (TimeoutError, httpx.HTTPError) as error:
            raise _unreachable(error, method, path) from None

    async def _send(self, method: str, path: str, auth: bool = True, **kw: Any) -> httpx.Response:
        response = await self._call(method, path, auth, **kw)
        if not response.is_success:
            raise _error(response)
        return response


def _split(upstream_id: str) -> tuple[str, str]:
    app, _, rid = upstream_id.rpartition(":")
    if not app or not re.fullmatch(r"[\w-]+", rid):
        raise ProviderRejected(f"{upstream_id!r} is not a fal upstream id", code="invalid_id")
    return app, rid


def _jwk(jwk: Any) -> Ed25519PublicKey | None:
    if not isinstance(jwk, dict) or (jwk.get("kty"), jwk.get("crv")) != ("OKP", "Ed25519"):
        return None
    try:
        x = str(jwk["x"])
        return Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(x + "=" * (-len(x) % 4)))
    except (KeyError, ValueError):
        return None


def _verifies(key: Ed25519PublicKey, signature: str, message: bytes) -> bool:
    try:
        key.verify(bytes.fromhex(signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def _unreachable(error: Exception, method: str, target: str) -> ProviderUnavailable:
    if isinstance(error, TimeoutError | httpx.TimeoutException):
        return ProviderUnavailable(f"fal timed out on {method} {target}", code="upstream_timeout")
    return ProviderUnavailable(
        f"fal is unreachable ({method} {target}): {error}", code="unreachable"
    )


def _error(response: httpx.Response) -> ProviderError:
    """A failed fal call: 408/409/429/5xx are retryable, other 4xx permanent."""
    code, message = _fal_error(_loads(response.content))
    status = response.status_code
    text = f"fal answered HTTP {status}: {message or response.text[:200] or response.reason_phrase}"
    if status in (408, 409, 429) or status >= 500:
        retry_after = _retry_after(response.headers.get("retry-after"))
        fallback = "rate_limited" if status == 429 else "upstream_error"
        return ProviderUnavailable(text, code=code or fallback, retry_after=retry_after)
    return ProviderRejected(text, code=code or f"upstream_{status}")


def _fal_error(body: Any) -> tuple[str | None, str | None]:
    """(type, message) of fal's error bodies: `{detail: str, error_type}` (request errors) or
    `{detail: [{loc, msg, type}, …]}` (model errors)."""
    if not isinstance(body, dict):
        return None, None
    detail = body.get("detail")
    if isinstance(detail, list):
        items = [item for item in detail if isinstance(item, dict)]
        if items:
            return items[0].get("type"), "; ".join(str(item.get("msg")) for item in items)
    error_type = body.get("error_type")
    return (error_type if isinstance(error_type, str) else None), (str(detail) if detail else None)


def _completed(payload: Any, raw: str, extra: Json) -> UpstreamStatus:
    url = _video_url(payload)
    seed = payload.get("seed")
    extra = {**extra, "video": payload["video"], "seed": seed}
    return UpstreamStatus("completed", raw, progress=100, output_url=url, extra=extra)


def _failed(
    code: str | None, message: str, raw: str, http: int | None, extra: Json
) -> UpstreamStatus:
    state = "canceled" if code == "client_cancelled" or http == 499 else "failed"
    code = code or (f"upstream_{http}" if http else "upstream_error")
    return UpstreamStatus(state, raw, error_code=code, error_message=message, extra=extra)


def _video_url(payload: Any) -> str:
    video = payload.get("video") if isinstance(payload, dict) else None
    url = video.get("url") if isinstance(video, dict) else None
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise ProviderUnavailable("fal's result carries no video URL", code="malformed")
    return url


def _progress(logs: Any) -> int | None:
    """fal has no progress field; many apps log percentages ("… 40%"): use the latest."""
    for entry in reversed(logs if isinstance(logs, list) else []):
        found = re.search(
            r"(\d{1,3})\s*%", str(entry.get("message")) if isinstance(entry, dict) else ""
        )
        if found:
            return min(99, int(found.group(1)))
    return None


def _ratio(size: Any) -> str | None:
    """The fal aspect ratio nearest to a `WxH` size."""
    found = re.fullmatch(r"(\d+)x(\d+)", str(size or ""))
    if not found or not int(found.group(1)) or not int(found.group(2)):
        return None
    want = math.log(int(found.group(1)) / int(found.group(2)))
    return min(
        RATIOS, key=lambda r: abs(math.log(int(r.split(":")[0]) / int(r.split(":")[1])) - want)
    )


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _loads(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return None


def _json(response: httpx.Response) -> Json:
    data = _loads(response.content)
    if not isinstance(data, dict):
        raise ProviderUnavailable("fal answered with a malformed body", code="malformed")
    return data
