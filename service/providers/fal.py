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

The pure mappings (ids, fal's input schema, answers and errors) are in `fal_mapping`; its
public names are importable from here too.
"""

from __future__ import annotations

import base64
import hashlib
import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from service.providers import http as shared
from service.providers.base import (
    Adapter,
    DispatchRequest,
    InputForm,
    Plugin,
    ProviderRejected,
    ProviderUnavailable,
    ReadInput,
    Submission,
    UpstreamStatus,
    WebhookKind,
    base_url,
    credential,
)
from service.providers.fal_mapping import (
    NAMESPACES,
    RATIOS,
    Json,
    app_id,
    completed_status,
    failed_status,
    fal_endpoint,
    fal_error,
    fal_input,
    http_error,
    json_object,
    log_progress,
    parse_json,
    split_upstream_id,
    unreachable,
    video_url,
    webhook_status,
)
from service.settings import ProviderSettings

__all__ = [
    "FAL_JWKS_URL",
    "JWKS_REFETCH_EVERY",
    "JWKS_TTL",
    "NAMESPACES",
    "RATIOS",
    "TOLERANCE",
    "FalProvider",
    "Json",
    "app_id",
    "fal_input",
]

FAL_JWKS_URL = "https://rest.alpha.fal.ai/.well-known/jwks.json"
JWKS_TTL = 24 * 3600.0  # fal: cache the keys for at most 24 hours
JWKS_REFETCH_EVERY = 60.0  # an unknown signature refetches the JWKS at most this often
TOLERANCE = 300  # seconds a webhook timestamp may be off, either way


class FalProvider(Adapter):
    name = "fal"
    webhook = WebhookKind.SIGNED
    calls_back = True
    inputs = InputForm.LINK

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
        endpoint = fal_endpoint(request)
        app, body = app_id(endpoint), fal_input(request)
        query = {"fal_webhook": request.callback_url} if request.callback_url else None
        data = json_object(await self._send("POST", f"/{endpoint}", json=body, params=query))
        request_id = data.get("request_id")
        if not isinstance(request_id, str) or not request_id:
            raise ProviderUnavailable("fal's submit answer has no request_id", code="malformed")
        return Submission(upstream_id=f"{app}:{request_id}")

    async def status(self, upstream_id: str) -> UpstreamStatus:
        app, rid = split_upstream_id(upstream_id)
        data = json_object(
            await self._send("GET", f"/{app}/requests/{rid}/status", params={"logs": 1})
        )
        raw = data.get("status")
        if raw == "IN_QUEUE":
            return UpstreamStatus(
                "queued", raw, extra={"queue_position": data.get("queue_position")}
            )
        if raw == "IN_PROGRESS":
            return UpstreamStatus("in_progress", raw, progress=log_progress(data.get("logs")))
        if raw != "COMPLETED":
            raise ProviderUnavailable(f"fal answered an unknown status {raw!r}", code="malformed")
        return await self._result_status(app, rid, data)

    async def _result_status(self, app: str, rid: str, data: Json) -> UpstreamStatus:
        """A COMPLETED request (`data` is its status) as its result says it ended."""
        raw = "COMPLETED"
        response = await self._call("GET", f"/{app}/requests/{rid}")
        if response.is_success:
            return completed_status(json_object(response), raw, {"request_id": rid})
        error = http_error(response)
        if isinstance(error, ProviderUnavailable) and not data.get("error"):
            raise error  # the result call failed, not the job
        code, message = fal_error(parse_json(response.content))
        code, message = code or data.get("error_type"), message or data.get("error")
        return failed_status(
            code, message or str(error), raw, response.status_code, {"request_id": rid}
        )

    async def cancel(self, upstream_id: str) -> None:
        """Cancel a queued job (a running one is only signalled; fal may still finish it)."""
        app, rid = split_upstream_id(upstream_id)
        response = await self._call("PUT", f"/{app}/requests/{rid}/cancel")
        if response.status_code == 400 and b"ALREADY_COMPLETED" in response.content:
            raise ProviderRejected(
                "the fal request has already completed", code="already_completed"
            )
        if not response.is_success:
            raise http_error(response)

    async def download(self, upstream_id: str, dest: Path) -> Path:
        return await self.download_output(upstream_id, 0, dest)

    async def download_output(self, upstream_id: str, index: int, dest: Path) -> Path:
        """Stream the result's `index`th video to `dest` (atomically). fal's file URLs are
        public: our key is never sent with them."""
        app, rid = split_upstream_id(upstream_id)
        result = json_object(await self._send("GET", f"/{app}/requests/{rid}"))
        url = video_url(result, index)
        return await shared.stream_to_file(
            self.http, url, dest, deadline=self.timeout, who="fal", refused=http_error
        )

    async def refresh_keys(self) -> None:
        """Fetch fal's webhook signing keys (JWKS) into the cache."""
        found = json_object(await self._send("GET", self.jwks_url, auth=False)).get("keys")
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

    named_by_callback = True

    async def callback_names(
        self, request: DispatchRequest, headers: Mapping[str, str], body: bytes
    ) -> str | None:
        request_id = (await self.verify_webhook(headers, body)).extra.get("request_id")
        return f"{app_id(fal_endpoint(request))}:{request_id}" if request_id else None

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> UpstreamStatus:
        """Verify a fal webhook against the cached keys (see the module doc) and map it."""
        if self.clock() - self._keys_at > JWKS_TTL:
            raise ProviderUnavailable("fal's webhook keys are not loaded: await refresh_keys()")
        lower = {name.lower(): value for name, value in headers.items()}
        names = ("request-id", "user-id", "timestamp", "signature")
        rid, user, stamp, signature = (lower.get(f"x-fal-webhook-{n}", "") for n in names)
        if not (rid and user and stamp and signature):
            raise ProviderRejected("not a signed fal webhook", code="invalid_signature")
        if user != self.user_id:  # an account id, not a secret: plain comparison is fine
            raise ProviderRejected("the fal webhook is for another fal user", code="wrong_user")
        if not stamp.isdigit() or abs(self.clock() - int(stamp)) > TOLERANCE:
            raise ProviderRejected("the fal webhook timestamp is too old or new", code="stale")
        message = "\n".join((rid, user, stamp, hashlib.sha256(body).hexdigest())).encode()
        if not any(_verifies(key, signature, message) for key in self._keys):
            raise ProviderRejected(
                "the fal webhook signature does not verify", code="invalid_signature"
            )
        return webhook_status(body, rid)

    def _may_refetch(self) -> bool:
        """Whether an unverifiable signature may refetch the JWKS now (once a minute)."""
        if self.clock() - self._refetched_at < JWKS_REFETCH_EVERY:
            return False
        self._refetched_at = self.clock()
        return True

    async def _call(self, method: str, path: str, auth: bool = True, **kw: Any) -> httpx.Response:
        """One queue API call (`path` under base_url) or, with auth=False, a keyless GET of
        an absolute URL (the JWKS): fal's key only ever goes to fal's queue host."""
        url = self.base_url + path if auth else path
        headers = {"Authorization": f"Key {self.key}"} if auth else {}
        return await shared.request(
            self.http,
            method,
            url,
            headers=headers,
            deadline=self.timeout,
            fail=lambda error: unreachable(error, method, path),
            **kw,
        )

    async def _send(self, method: str, path: str, auth: bool = True, **kw: Any) -> httpx.Response:
        """`_call`, raising fal's error when the answer is not a success."""
        response = await self._call(method, path, auth, **kw)
        if not response.is_success:
            raise http_error(response)
        return response


def _jwk(jwk: Any) -> Ed25519PublicKey | None:
    """The Ed25519 public key in a JWK, or None if it holds none."""
    if not isinstance(jwk, dict) or (jwk.get("kty"), jwk.get("crv")) != ("OKP", "Ed25519"):
        return None
    try:
        x = str(jwk["x"])
        return Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(x + "=" * (-len(x) % 4)))
    except (KeyError, ValueError):
        return None


def _verifies(key: Ed25519PublicKey, signature: str, message: bytes) -> bool:
    """Whether `signature` (hex) is `key`'s ED25519 signature of `message`."""
    try:
        key.verify(bytes.fromhex(signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def build(
    http: httpx.AsyncClient, config: ProviderSettings, read_input: ReadInput | None
) -> FalProvider:
    jwks: dict[str, Any] = {"jwks_url": config.fal_jwks_url} if config.fal_jwks_url else {}
    return FalProvider(
        http,
        key=credential(config.fal_key),
        user_id=credential(config.fal_user_id),
        **base_url(config, FalProvider.name),
        **jwks,
    )


PLUGIN = Plugin(FalProvider.name, build)
