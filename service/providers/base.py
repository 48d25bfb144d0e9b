"""The one protocol every upstream adapter speaks, and its error tree."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

import httpx

from service.settings import ProviderSettings


class ProviderError(Exception):
    """An upstream refused or failed a call."""

    def __init__(self, message: str, *, code: str = "provider_error") -> None:
        super().__init__(message)
        self.code = code


class ProviderUnavailable(ProviderError):
    """Retryable: timeouts, 5xx, 429 (with `retry_after` seconds when the upstream said)."""

    def __init__(
        self, message: str, *, code: str = "provider_unavailable", retry_after: float | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class ProviderRejected(ProviderError):
    """Permanent: the upstream will never accept this request (4xx, content policy)."""


@dataclass(frozen=True)
class DispatchRequest:
    """What a provider needs to start one job."""

    job_id: UUID
    model: str
    upstream_model: str
    prompt: str
    params: Mapping[str, Any]
    inputs: Mapping[str, Any]
    callback_url: str | None = None
    # The intended attempt (`Job.DispatchIntended`): the same across a resubmit of that
    # attempt, so an upstream with a client-chosen id or a lookup can recognise it.
    attempt_id: str | None = None
    tenant: str = ""  # whose job: the local renderer shares its slots out by tenant


@dataclass(frozen=True)
class Submission:
    upstream_id: str


@dataclass(frozen=True)
class UpstreamStatus:
    """An upstream's view of a job, mapped to our states; `raw_status` is theirs."""

    state: str  # queued | in_progress | completed | failed | canceled
    raw_status: str | None  # None: no upstream has a say (the local renderer)
    progress: int | None = None
    output_url: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    # A completion whose file is in our storage already (the local renderer): `Completed`
    # carries this output and `OutputStored` follows in the same save (nothing to mirror).
    stored_output: Mapping[str, Any] | None = None
    outputs: int = 1  # videos the job made (Midjourney: 4); `download_output` fetches each


class WebhookKind(Enum):
    """How a callback to `/hooks/{provider}/{token}` is taken."""

    NONE = "none"  # takes no callbacks (the local renderer): the route answers 404
    HINT = "hint"  # unsigned: only a hint, the status is fetched from the provider
    SIGNED = "signed"  # signed by the provider: the verified payload is the status


class InputForm(Enum):
    """How a provider takes an image the client uploaded (kept by its sha256)."""

    LINK = "link"  # fetches it by URL: a signed, expiring link to us
    INLINE = "inline"  # inline, as base64 data
    STORED = "stored"  # reads our storage itself (the local renderer)


def named_upstream(status: UpstreamStatus) -> str | None:
    """The upstream job a verified webhook names, where its payload says (fal: `request_id`,
    Replicate: `prediction_id`, OpenAI: `video_id`)."""
    for key in ("request_id", "prediction_id", "video_id"):
        if named := status.extra.get(key):
            return str(named)
    return None


def is_about(upstream_id: str, status: UpstreamStatus) -> bool:
    """Whether a verified webhook to a job's own callback URL is about `upstream_id` (fal and
    Replicate name it; fal's ids are `app:request_id`)."""
    named = status.extra.get("request_id") or status.extra.get("prediction_id")
    return not named or upstream_id == named or upstream_id.endswith(f":{named}")


class Provider(Protocol):
    """An upstream (or the local renderer), and what is special about it.

    The capabilities say what other modules would otherwise look up by name: how its
    callbacks are taken (`webhook`, `handshake`, `verify_webhook`), whether it calls back
    when a job moves (`calls_back`: then polled only as a fallback), how it takes uploaded
    images (`inputs`), which image URLs it fetches itself (`takes_image_url`: the dispatcher
    fetches the others and hands them over as uploads), whether the poller asks it
    (`polled`), whether a canceled job is canceled there too (`cancels_upstream`), and what
    a submit whose outcome is unknown (a crash before `Dispatched`) can be reconciled with:
    `finds` (look the job up upstream by what we sent) and `dedupes` (submitting the same
    attempt again never renders twice).
    """

    name: str

    @property
    def webhook(self) -> WebhookKind: ...

    @property
    def calls_back(self) -> bool: ...

    @property
    def inputs(self) -> InputForm: ...

    @property
    def polled(self) -> bool: ...

    @property
    def cancels_upstream(self) -> bool: ...

    @property
    def finds(self) -> bool: ...

    @property
    def dedupes(self) -> bool: ...

    def handshake(self, body: bytes) -> dict[str, str] | None:
        """The answer to a callback that is a handshake, not a status (else None)."""
        ...

    def takes_image_url(self, url: str) -> bool:
        """Whether the upstream fetches an input image at this http(s) URL itself."""
        ...

    async def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> UpstreamStatus:
        """A `SIGNED` callback, verified and parsed (`ProviderRejected` if forged)."""
        ...

    @property
    def named_by_callback(self) -> bool:
        """Whether its callbacks name the upstream job (`callback_names`): a submit cut off
        before its answer is then recovered from the upstream's callback to the job's URL."""
        ...

    async def callback_names(
        self, request: DispatchRequest, headers: Mapping[str, str], body: bytes
    ) -> str | None:
        """The upstream id (as `submit` answers it for `request`) that a callback to the
        job's own URL names, verified where the callback is signed; None if it names none."""
        ...

    async def submit(self, request: DispatchRequest) -> Submission: ...

    async def find(self, request: DispatchRequest) -> Submission | None:
        """The upstream job an earlier submit of `request` (its `attempt_id`) created, or None
        when the upstream surely has none; only asked when `finds`."""
        ...

    async def status(self, upstream_id: str) -> UpstreamStatus: ...

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> UpstreamStatus: ...

    async def cancel(self, upstream_id: str) -> None: ...

    async def download(self, upstream_id: str, dest: Path) -> Path: ...

    async def download_output(self, upstream_id: str, index: int, dest: Path) -> Path:
        """The `index`th video of a job that made several (`UpstreamStatus.outputs`); the
        first is `download`'s."""
        ...


class Adapter:
    """The capabilities most upstreams share; an adapter overrides what is special about it."""

    name: str

    @property
    def webhook(self) -> WebhookKind:
        return WebhookKind.HINT

    @property
    def calls_back(self) -> bool:
        return False

    @property
    def inputs(self) -> InputForm:
        return InputForm.INLINE

    @property
    def polled(self) -> bool:
        return True

    @property
    def cancels_upstream(self) -> bool:
        return True

    @property
    def finds(self) -> bool:
        return False

    @property
    def dedupes(self) -> bool:
        return False

    def handshake(self, body: bytes) -> dict[str, str] | None:
        return None

    def takes_image_url(self, url: str) -> bool:
        return True  # most upstreams (fal, Replicate, Kling, MiniMax, Luma, Ark) fetch URLs

    async def find(self, request: DispatchRequest) -> Submission | None:
        raise ProviderUnavailable(f"{self.name} cannot look jobs up", code="no_lookup")

    async def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> UpstreamStatus:
        return self.parse_webhook(headers, body)

    @property
    def named_by_callback(self) -> bool:
        return False

    async def callback_names(
        self, request: DispatchRequest, headers: Mapping[str, str], body: bytes
    ) -> str | None:
        return None

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> UpstreamStatus:
        raise ProviderRejected(f"{self.name} sends no webhooks", code="no_webhooks")

    async def download_output(self, upstream_id: str, index: int, dest: Path) -> Path:
        raise ProviderRejected(f"{self.name} makes one video a job", code="no_output")


ReadInput = Callable[[str], bytes]  # a stored input's bytes by its sha256
Build = Callable[[httpx.AsyncClient, ProviderSettings, ReadInput | None], Provider]


@dataclass(frozen=True)
class Plugin:
    """What registers an upstream adapter (`service.providers.registry` lists them): its
    name and how it is built from settings. `one_url_hooks`: it posts every webhook to
    `/hooks/{name}`, and the payload names the upstream job (what it names it, e.g. "OpenAI
    video"; OpenAI's project webhooks)."""

    name: str
    build: Build
    one_url_hooks: str | None = None


def credential(value: str | None) -> str:
    """A credential `ProviderSettings.configured()` vouched for (settings refuse
    half-configured pairs)."""
    assert value is not None
    return value


def base_url(config: ProviderSettings, name: str) -> dict[str, Any]:
    """The `base_url` override for `name`, if any (else the adapter's default upstream)."""
    url = config.base_urls.get(name)
    return {"base_url": url} if url else {}
