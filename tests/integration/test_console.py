"""The console through Starlette's TestClient, on both stores: sessions, CSRF, scopes, and
tenants kept apart. (The browser tests in tests/browser/ drive the same pages in Chromium.)"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from itsdangerous import URLSafeTimedSerializer
from starlette.testclient import TestClient

from service.app import create_app
from service.videos.errors import NotAuthenticated
from tests.conftest import ADMIN_KEY
from tests.console_support import READ_ONLY, csrf_of, new_key, post_form, sign_in
from tests.e2e.api import TINY

BEARER = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture
def app(settings):
    return create_app(settings)


@pytest.fixture
def browser(app) -> Iterator[TestClient]:
    """A browser-like client (cookies, no redirects followed) running the app's lifespan."""
    with TestClient(app, follow_redirects=False) as client:
        yield client


def another_browser(app) -> TestClient:
    """A second cookie jar on the same running app (the first client runs its lifespan)."""
    return TestClient(app, follow_redirects=False)


def submit(client: TestClient, headers: dict[str, str] = BEARER) -> str:
    answer = client.post("/v1/videos", json=TINY, headers=headers)
    assert answer.status_code == 202, answer.text
    video_id: str = answer.json()["id"]
    return video_id


def wait_completed(client: TestClient, video_id: str, headers: dict[str, str] = BEARER) -> None:
    deadline = time.monotonic() + 60
    while client.get(f"/v1/videos/{video_id}", headers=headers).json()["status"] != "completed":
        assert time.monotonic() < deadline, f"{video_id} did not complete"
        time.sleep(0.05)


def test_signed_out_pages_redirect_to_the_sign_in_form(browser):
    for path in ("/console/jobs", "/console/keys", "/console/jobs/video_x", "/console/events"):
        answer = browser.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == "/console/sign-in"
    assert browser.get("/console/sign-in").status_code == 200


def test_the_session_cookie_is_httponly_samesite_scoped_and_holds_no_key(browser, settings):
    sign_in(browser, ADMIN_KEY)
    header = browser.cookies.jar
    cookie = next(c for c in header if c.name == "vidgate_console")
    assert cookie.path == "/console" and not cookie.secure
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.get_nonstandard_attr("SameSite").lower() == "lax"
    assert cookie.expires is not None  # Max-Age: the session ends
    assert ADMIN_KEY not in cookie.value
    signer = URLSafeTimedSerializer(settings.secret_key, salt="vidgate.console.session")
    payload = signer.loads(cookie.value)
    assert set(payload) == {"sid", "key", "tenant"} and payload["tenant"] == "default"
    assert ADMIN_KEY not in str(payload)


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_behind_https_the_cookie_is_secure(settings):
    app = create_app(replace(settings, public_url="https://gateway.example"))
    with TestClient(app, follow_redirects=False) as client:
        set_cookie = client.get("/console/sign-in").headers["set-cookie"]
    assert "Secure" in set_cookie and "HttpOnly" in set_cookie


def test_a_wrong_key_is_refused_at_sign_in(browser):
    form = browser.get("/console/sign-in")
    answer = browser.post(
        "/console/sign-in", data={"csrf_token": csrf_of(form.text), "api_key": "vg_nope"}
    )
    assert answer.status_code == 401
    assert "not valid" in answer.text
    assert browser.get("/console/jobs").status_code == 303


def test_forms_without_this_sessions_csrf_token_are_refused(browser, app):
    sign_in(browser, ADMIN_KEY)
    missing = browser.post("/console/jobs", data={"model": "local-preview", "prompt": "fox"})
    forged = browser.post("/console/jobs", data={"csrf_token": "x", "prompt": "fox"})
    other = another_browser(app)
    sign_in(other, ADMIN_KEY)
    foreign = csrf_of(other.get("/console/jobs").text)  # valid, but another session's
    crossed = browser.post("/console/jobs", data={"csrf_token": foreign, "prompt": "fox"})
    sign_in_forged = another_browser(app).post(
        "/console/sign-in", data={"csrf_token": foreign, "api_key": ADMIN_KEY}
    )
    assert [missing.status_code, forged.status_code, crossed.status_code] == [403, 403, 403]
    assert "CSRF" in crossed.text
    assert sign_in_forged.status_code in (400, 403)
    listed = browser.get("/v1/videos", headers=BEARER).json()["data"]
    assert listed == []


def test_a_job_submitted_from_the_page_shows_its_timeline_video_and_thumbnail(browser):
    sign_in(browser, ADMIN_KEY)
    answer = post_form(
        browser,
        "/console/jobs",
        "/console/jobs",
        model="local-preview",
        prompt="a fox",
        seconds="1",
        size="160x90",
    )
    assert answer.status_code == 303
    video_id = answer.headers["location"].split("created=")[1]
    assert video_id in browser.get(answer.headers["location"]).text
    wait_completed(browser, video_id)
    page = browser.get(f"/console/jobs/{video_id}").text
    rows = re.findall(r'<tr data-type="(\w+)"', page)
    assert rows[:2] == ["Submitted", "DispatchIntended"]
    assert 'data-type="Completed"' in page
    # The live timeline resumes after the last row shown: no event twice, none missed.
    (after,) = re.findall(r'data-timeline="[^"]*/events\?after=(\d+)"', page)
    assert int(after) == len(rows)
    assert f'src="/console/jobs/{video_id}/content"' in page
    video = browser.get(f"/console/jobs/{video_id}/content")
    thumb = browser.get(f"/console/jobs/{video_id}/content?variant=thumbnail")
    assert video.headers["content-type"] == "video/mp4" and len(video.content) > 1000
    assert thumb.headers["content-type"] == "image/jpeg"


def test_a_refused_submission_says_which_field(browser):
    sign_in(browser, ADMIN_KEY)
    answer = post_form(
        browser,
        "/console/jobs",
        "/console/jobs",
        model="local-preview",
        prompt="a fox",
        seconds="999",
    )
    assert answer.status_code == 400
    assert "seconds" in answer.text


def test_a_read_only_key_sees_no_write_controls_and_its_posts_are_refused(browser, app):
    video_id = submit(browser)
    wait_completed(browser, video_id)
    reader = new_key(browser, "default", READ_ONLY)
    sign_in(browser, reader)
    pages = [
        browser.get(path).text
        for path in ("/console/jobs", f"/console/jobs/{video_id}", "/console/webhooks")
    ]
    for page in pages:
        assert "data-submit-form" not in page and "data-cancel" not in page
        assert "data-delete" not in page and "data-redeliver" not in page
        assert "data-endpoint-form" not in page
        assert 'href="/console/keys"' not in page  # keys take the admin scope
    refused = [
        post_form(browser, "/console/jobs", "/console/jobs", model="local-preview", prompt="x"),
        post_form(browser, "/console/jobs", f"/console/jobs/{video_id}/delete"),
        post_form(browser, "/console/jobs", "/console/webhooks", url="https://example.com/h"),
        post_form(browser, "/console/jobs", "/console/keys", scopes="admin"),
    ]
    assert [answer.status_code for answer in refused] == [403, 403, 403, 403]
    assert "lacks the 'videos:write' scope" in html.unescape(refused[0].text)
    assert browser.get("/console/keys").status_code == 403
    assert browser.get(f"/v1/videos/{video_id}", headers=BEARER).json()["status"] == "completed"


def test_one_tenant_never_sees_anothers_jobs(browser, app):
    theirs = submit(browser)  # the admin of `default`
    wait_completed(browser, theirs)
    sign_in(browser, new_key(browser, "acme"))
    listing = browser.get("/console/jobs").text
    assert theirs not in listing and "No jobs" in listing
    for path in ("", "/row", "/events", "/content", "/content?variant=thumbnail"):
        answer = browser.get(f"/console/jobs/{theirs}{path}")
        assert answer.status_code == 404, path
        assert theirs not in answer.text or "no video with id" in answer.text
    for action in ("cancel", "delete"):
        assert (
            post_form(browser, "/console/jobs", f"/console/jobs/{theirs}/{action}").status_code
            == 404
        )
    assert browser.get("/console/jobs/video_0000").status_code == 404
    assert browser.get(f"/v1/videos/{theirs}", headers=BEARER).json()["status"] == "completed"


def test_a_revoked_keys_session_ends(browser, app):
    key = new_key(browser, "acme", ("videos:read", "videos:write", "admin"))
    sign_in(browser, key)
    assert browser.get("/console/jobs").status_code == 200
    admin = another_browser(app)
    sign_in(admin, key)  # the same key, in another browser, revokes itself
    page = admin.get("/console/keys").text
    key_id = re.search(r'data-key-id="(\w+)"[^>]*data-hint="vg_…' + key[-4:], page).group(1)
    assert post_form(admin, "/console/keys", f"/console/keys/{key_id}/revoke").status_code == 303
    answer = browser.get("/console/jobs")
    assert answer.status_code == 303 and answer.headers["location"] == "/console/sign-in"


def test_keys_are_created_with_scopes_shown_once_and_revoked(browser):
    sign_in(browser, ADMIN_KEY)
    created = post_form(
        browser, "/console/keys", "/console/keys", scopes=["videos:read", "webhooks:read"]
    )
    assert created.status_code == 200
    key = re.search(r"<code data-new-key>(vg_[\w-]+)</code>", created.text).group(1)
    headers = {"Authorization": f"Bearer {key}"}
    assert browser.get("/v1/videos", headers=headers).status_code == 200
    assert browser.post("/v1/videos", json=TINY, headers=headers).status_code == 403
    listing = browser.get("/console/keys").text
    assert key not in listing  # only its hint, from now on
    key_id = re.search(r'data-key-id="(\w+)"[^>]*data-hint="vg_…' + key[-4:], listing).group(1)
    revoked = post_form(browser, "/console/keys", f"/console/keys/{key_id}/revoke")
    assert revoked.status_code == 303
    # Refused at once where keys are checked afresh (the API's cache lets it lapse in 5 s).
    with pytest.raises(NotAuthenticated):
        browser.app.state.runtime.authenticator.sign_in(key)


def test_a_webhook_endpoint_is_created_rotated_and_disabled(browser):
    sign_in(browser, ADMIN_KEY)
    created = post_form(
        browser,
        "/console/webhooks",
        "/console/webhooks",
        url="https://example.com/hooks",
        events=["completed", "failed"],
    )
    assert created.status_code == 200
    first = re.search(r"<code data-secret>(whsec_\S+)</code>", created.text).group(1)
    endpoint_id = re.search(r'href="/console/webhooks/(we_\w+)"', created.text).group(1)
    page = f"/console/webhooks/{endpoint_id}"
    rotated = post_form(browser, page, f"{page}/rotate")
    second = re.search(r"<code data-secret>(whsec_\S+)</code>", rotated.text).group(1)
    assert second != first
    assert post_form(browser, page, f"{page}/enabled", enabled="false").status_code == 303
    assert "disabled" in browser.get(page).text
    api = browser.get(f"/v1/webhook_endpoints/{endpoint_id}", headers=BEARER).json()
    assert api["enabled"] is False and api["events"] == ["completed", "failed"]


def test_another_tenants_endpoint_and_delivery_are_not_found(browser):
    endpoint = browser.post(
        "/v1/webhook_endpoints", json={"url": "https://example.com/h"}, headers=BEARER
    ).json()["id"]
    sign_in(browser, new_key(browser, "acme"))
    assert browser.get(f"/console/webhooks/{endpoint}").status_code == 404
    assert (
        post_form(browser, "/console/jobs", f"/console/webhooks/{endpoint}/rotate").status_code
        == 404
    )
    redeliver = post_form(browser, "/console/jobs", "/console/deliveries/dlv_nope/redeliver")
    assert redeliver.status_code == 404


def test_bad_filters_are_a_400_naming_the_field(browser):
    sign_in(browser, ADMIN_KEY)
    for query, field in (
        ("status=done", "status"),
        ("provider=x", "provider"),
        ("from=soon", "from"),
    ):
        answer = browser.get(f"/console/jobs?{query}")
        assert answer.status_code == 400, query
        assert field in answer.text


def test_the_pages_render_and_load_nothing_from_elsewhere(browser):
    video_id = submit(browser)
    wait_completed(browser, video_id)
    sign_in(browser, ADMIN_KEY)
    for path in (
        "/console/jobs",
        "/console/analytics",
        "/console/webhooks",
        "/console/keys",
        "/console/billing",
        "/console/models",
        f"/console/jobs/{video_id}",
    ):
        answer = browser.get(path)
        assert answer.status_code == 200, path
        assert "default-src 'self'" in answer.headers["content-security-policy"]
        assets = re.findall(r'(?:src|href)="([^"]+)"', answer.text)
        assert all(a.startswith("/") for a in assets), (path, assets)
    assert browser.get("/console/static/console.js").status_code == 200
    assert browser.get("/console/static/console.css").status_code == 200
    models = browser.get("/console/models").text
    assert 'data-model="local-preview"' in models and 'data-model="veo-3.1"' in models


def test_the_analytics_page_draws_charts_of_the_tenants_jobs(browser):
    video_id = submit(browser)
    wait_completed(browser, video_id)
    sign_in(browser, ADMIN_KEY)
    deadline = time.monotonic() + 30  # the analytics view trails the log by a moment
    # Each chart appears once the view holds what it draws (the completion lands after the
    # submission): wait for all six, not the first bar.
    while (page := browser.get("/console/analytics").text).count("<svg") < 6:
        assert time.monotonic() < deadline, f"{page.count('<svg')} of 6 charts drawn"
        time.sleep(0.1)
    assert page.count("<svg") == 6 and "<rect" in page
    assert "Jobs submitted by day" in page and "local-preview" in page


def test_signing_out_ends_the_session(browser):
    sign_in(browser, ADMIN_KEY)
    answer = post_form(browser, "/console/jobs", "/console/sign-out")
    assert answer.status_code == 303 and answer.headers["location"] == "/console/sign-in"
    assert browser.get("/console/jobs").status_code == 303


def test_a_running_job_is_canceled_and_a_job_deleted_from_its_page(settings):
    slow = create_app(replace(settings, local_frame_delay=0.5))  # ~12 s a 1 s video
    with TestClient(slow, follow_redirects=False) as browser:
        video_id = submit(browser)
        sign_in(browser, ADMIN_KEY)
        page = f"/console/jobs/{video_id}"
        assert "data-cancel" in browser.get(page).text
        canceled = post_form(browser, page, f"{page}/cancel")
        assert canceled.status_code == 303 and canceled.headers["location"] == page
        shown = browser.get(page).text
        assert 'data-type="Canceled"' in shown and "data-cancel" not in shown
        assert browser.get(f"/v1/videos/{video_id}", headers=BEARER).json()["status"] == "canceled"
        deleted = post_form(browser, page, f"{page}/delete")
        assert deleted.status_code == 303
        assert browser.get(page).status_code == 404
        assert video_id not in browser.get(deleted.headers["location"]).text


def test_the_balance_page_shows_the_tenants_ledger(browser):
    runtime = browser.app.state.runtime
    runtime.gateway.grant_credits("default", 5_000_000, note="welcome credits")
    runtime.gateway.grant_credits("acme", 7_000_000, note="acme's own")
    sign_in(browser, ADMIN_KEY)
    deadline = time.monotonic() + 30  # the ledger is read from the feed, a moment behind
    while "welcome credits" not in (page := browser.get("/console/billing").text):
        assert time.monotonic() < deadline, "the grant never reached the ledger"
        time.sleep(0.05)
    assert "CreditsGranted" in page and "$5.00" in page
    assert "acme&#39;s own" not in page and "$7.00" not in page
