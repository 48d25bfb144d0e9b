"""Helpers for the console's tests: sign in through the form, read a page's CSRF token."""

from __future__ import annotations

import re
from typing import Any

from starlette.testclient import TestClient

from events.apikey import DEFAULT_SCOPES
from service.runtime import issue_key

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
READ_ONLY = ("videos:read", "webhooks:read")


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client: TestClient, key: str) -> None:
    """Through the form, as a browser does; the client keeps the session cookie."""
    form = client.get("/console/sign-in")
    assert form.status_code == 200, form.text
    answer = client.post(
        "/console/sign-in", data={"csrf_token": csrf_of(form.text), "api_key": key}
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/console/jobs", answer.text


def post_form(client: TestClient, page: str, action: str, **fields: Any) -> Any:
    """Post `fields` to `action` with the CSRF token of `page` (as its form would)."""
    token = csrf_of(client.get(page).text)
    return client.post(action, data={"csrf_token": token, **fields})


def new_key(client: TestClient, tenant: str, scopes: tuple[str, ...] = DEFAULT_SCOPES) -> str:
    key: str = issue_key(client.app.state.runtime, tenant, scopes)  # type: ignore[attr-defined]
    return key
