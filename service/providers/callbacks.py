"""Signed callback URLs: `/hooks/{provider}/{token}`, where the token names the job.

The token is an itsdangerous `URLSafeTimedSerializer` value of the job id, salted per
provider (a token made for one provider is worthless on another's route) and expiring.
Keys rotate as a list: the last one signs, all of them verify, so callbacks handed out
before a rotation still land.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from uuid import UUID

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

# Long enough for the slowest upstream (jobs may queue for hours; fal retries for ~2 h
# after that); short enough that a leaked URL stops working.
DEFAULT_MAX_AGE = 3 * 24 * 3600


class InvalidCallback(Exception):
    """A callback token that is forged, tampered with, for another provider, or expired."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


def clocked(clock: Callable[[], float]) -> type[TimestampSigner]:
    """itsdangerous' timestamp signer on our clock (its documented hook for time)."""

    class ClockedSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock())

    return ClockedSigner


class CallbackTokens:
    def __init__(
        self,
        keys: Sequence[str],
        base_url: str,
        *,
        max_age: int = DEFAULT_MAX_AGE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not keys:
            raise ValueError("CallbackTokens needs at least one key")
        self.keys, self.base_url, self.max_age = list(keys), base_url.rstrip("/"), max_age
        self._signer = clocked(clock)

    def _serializer(self, provider: str) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(
            self.keys, salt=f"vidgate.hooks.{provider}", signer=self._signer
        )

    def token(self, provider: str, job_id: UUID) -> str:
        return self._serializer(provider).dumps(job_id.hex)

    def url(self, provider: str, job_id: UUID) -> str:
        """The callback URL handed to `provider` at dispatch."""
        return f"{self.base_url}/hooks/{provider}/{self.token(provider, job_id)}"

    def job_id(self, provider: str, token: str) -> UUID:
        """The job a token names, or `InvalidCallback`."""
        try:
            value = self._serializer(provider).loads(token, max_age=self.max_age)
        except SignatureExpired:
            raise InvalidCallback("the callback token has expired", expired=True) from None
        except BadSignature:
            raise InvalidCallback("the callback token is not valid") from None
        try:
            return UUID(hex=str(value))
        except ValueError:
            raise InvalidCallback("the callback token names no job") from None


class InputLinks:
    """Signed, expiring URLs at which upstreams fetch the images a client uploaded.

    fal, Replicate and Luma take input images only as URLs; an upload is kept by its sha256
    (`service.storage.store`), and this names it for a day without exposing the store.
    """

    def __init__(self, keys: Sequence[str], base_url: str, *, max_age: int = 24 * 3600) -> None:
        self._serializer = URLSafeTimedSerializer(list(keys), salt="vidgate.inputs")
        self.base_url, self.max_age = base_url.rstrip("/"), max_age

    def url(self, sha256: str, content_type: str | None) -> str:
        token = self._serializer.dumps([sha256, content_type or "application/octet-stream"])
        return f"{self.base_url}/v1/inputs/{token}"

    def resolve(self, token: str) -> tuple[str, str]:
        """The (sha256, content type) a token names, or `InvalidCallback`."""
        try:
            sha256, content_type = self._serializer.loads(token, max_age=self.max_age)
        except SignatureExpired:
            raise InvalidCallback("the input link has expired", expired=True) from None
        except (BadSignature, ValueError, TypeError):
            raise InvalidCallback("the input link is not valid") from None
        return str(sha256), str(content_type)
