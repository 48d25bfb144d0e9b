"""The one protocol every upstream adapter speaks, and its error tree."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID


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


@dataclass(frozen=True)
class Submission:
    upstream_id: str


@dataclass(frozen=True)
class UpstreamStatus:
    """An upstream's view of a job, mapped to our states; `raw_status` is theirs."""

    state: str  # queued | in_progress | completed | failed | canceled
    raw_status: str
    progress: int | None = None
    output_url: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


class Provider(Protocol):
    name: str

    async def submit(self, request: DispatchRequest) -> Submission: ...

    async def status(self, upstream_id: str) -> UpstreamStatus: ...

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> UpstreamStatus: ...

    async def cancel(self, upstream_id: str) -> None: ...

    async def download(self, upstream_id: str, dest: Path) -> Path: ...
