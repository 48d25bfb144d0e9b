"""`/docs` renders the API's operations in a real Chromium, with no request leaving loopback."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from service.app import create_app
from tests.e2e.server import serve_in_thread

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_the_docs_render_every_operation_offline(browser, settings, tmp_path):
    elsewhere: list[str] = []
    with serve_in_thread(lambda base: create_app(settings)) as url:
        ours = urlsplit(url).netloc

        def only_ours(route):  # anything else is refused and recorded: it must work offline
            if urlsplit(route.request.url).netloc == ours:
                return route.continue_()
            elsewhere.append(route.request.url)
            return route.abort()

        page = browser.new_page()
        page.route("**/*", only_ours)
        page.goto(f"{url}/docs")
        create = page.locator("#operations-videos-createVideo")
        create.wait_for(timeout=30_000)
        page.screenshot(path=str(tmp_path / "docs.png"), full_page=True)
        assert "Create a video" in create.inner_text()
        assert page.locator(".opblock").count() > 40
        assert page.locator(".opblock-summary-operation-id", has_text="listVideos").count() == 1
        page.close()
    assert elsewhere == []
    assert (tmp_path / "docs.png").stat().st_size > 10_000
