"""Signed, expiring links to a job's stored video and thumbnail: the link is the credential.

The compatible surfaces hand out output URLs that a player, a CDN or an `<img>` fetches
without vidgate's bearer key, as the vendors' own CDN links are. A link's token is an
itsdangerous `URLSafeTimedSerializer` value of the job id, salted per surface (a link made
for one surface's route is worthless on another's) and expiring after `max_age` seconds
(`VIDGATE_OUTPUT_LINK_TTL_S`, 3 days by default): a client asks for the job again to get a
fresh one. Keys rotate as a list, like the callback tokens': the last signs, all verify.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from uuid import UUID

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from service.providers.callbacks import clocked

DEFAULT_MAX_AGE = 3 * 24 * 3600


class InvalidLink(Exception):
    """A link that is forged, tampered with, made for another surface, or expired."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


class OutputLinks:
    def __init__(
        self,
        keys: Sequence[str],
        *,
        max_age: int = DEFAULT_MAX_AGE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not keys:
            raise ValueError("OutputLinks needs at least one key")
        self.keys, self.max_age = list(keys), max_age
        self._signer = clocked(clock)

    def _serializer(self, surface: str) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(
            self.keys, salt=f"vidgate.outputs.{surface}", signer=self._signer
        )

    def token(self, surface: str, job_id: UUID) -> str:
        """A token naming the job, for `surface`'s file route."""
        return self._serializer(surface).dumps(job_id.hex)

    def job_id(self, surface: str, token: str) -> UUID:
        """The job a token names, or `InvalidLink`."""
        try:
            value = self._serializer(surface).loads(token, max_age=self.max_age)
        except SignatureExpired:
            raise InvalidLink("the link has expired", expired=True) from None
        except BadSignature:
            raise InvalidLink("the link is not valid") from None
        try:
            return UUID(hex=str(value))
        except ValueError:
            raise InvalidLink("the link names no video") from None
