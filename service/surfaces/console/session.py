"""The console's session cookie and its CSRF tokens, both signed with itsdangerous.

The cookie holds a random session id and, once signed in, the id of the API key and its
tenant — never the key itself: the key is checked once, at sign-in, and every request then
reloads that key by id (`Authenticator.principal_of`), so revoking it ends the session.
The cookie's signature carries its time; past `MAX_AGE` it is refused (and the browser
drops it by then too). A form's CSRF token is the session id signed under another salt:
a page of one session can't post for another, and a site that can't read our pages
can't forge one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from itsdangerous import BadData, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "vidgate_console"
PATH = "/console"
MAX_AGE = 12 * 3600  # seconds a session lasts after sign-in
CSRF_FIELD = "csrf_token"


class CsrfRefused(Exception):
    """A form came without this session's CSRF token."""


@dataclass(frozen=True)
class Session:
    sid: str
    key_id: UUID | None = None
    tenant: str | None = None

    @classmethod
    def fresh(cls, key_id: UUID | None = None, tenant: str | None = None) -> Session:
        """A new id: signing in always starts a new session (no fixation)."""
        return cls(secrets.token_urlsafe(18), key_id, tenant)

    def payload(self) -> dict[str, Any]:
        key = self.key_id.hex if self.key_id else None
        return {"sid": self.sid, "key": key, "tenant": self.tenant}

    @classmethod
    def from_payload(cls, data: Any) -> Session | None:
        if not isinstance(data, dict) or not isinstance(data.get("sid"), str):
            return None
        key, tenant = data.get("key"), data.get("tenant")
        if not isinstance(key, str) or not isinstance(tenant, str):
            return cls(data["sid"])
        return cls(data["sid"], UUID(hex=key), tenant)


class Sessions:
    """Reads and writes the cookie; makes and checks CSRF tokens."""

    def __init__(self, secret: str, *, secure: bool) -> None:
        self._cookies = URLSafeTimedSerializer(secret, salt="vidgate.console.session")
        self._csrf = URLSafeTimedSerializer(secret, salt="vidgate.console.csrf")
        self.secure = secure  # behind https: the browser sends the cookie over https only

    def read(self, request: Request) -> Session | None:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            return Session.from_payload(self._cookies.loads(raw, max_age=MAX_AGE))
        except (BadData, ValueError):
            return None  # forged, expired or from an older secret: signed out

    def write(self, response: Response, session: Session) -> None:
        response.set_cookie(
            COOKIE,
            self._cookies.dumps(session.payload()),
            max_age=MAX_AGE,
            path=PATH,
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )

    def clear(self, response: Response) -> None:
        response.delete_cookie(COOKIE, path=PATH, secure=self.secure, httponly=True, samesite="lax")

    def csrf_token(self, session: Session) -> str:
        return self._csrf.dumps(session.sid)

    def check_csrf(self, session: Session, token: object) -> None:
        if not isinstance(token, str) or not token:
            raise CsrfRefused("this form has no CSRF token")
        try:
            sid = self._csrf.loads(token, max_age=MAX_AGE)
        except BadData:
            raise CsrfRefused("this form's CSRF token is not valid") from None
        if not secrets.compare_digest(str(sid), session.sid):
            raise CsrfRefused("this form's CSRF token is from another session")
