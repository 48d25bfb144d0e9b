"""Browser tests: Playwright driving Debian's Chromium (`playwright install` can't download).

Like the PostgreSQL tests: without Chromium they skip with a reason on a developer's machine,
but where CI runs them (`CI` or VIDGATE_TEST_DATABASE_URL set, see .ci/run) they fail loudly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("VIDGATE_TEST_CHROMIUM", "/usr/bin/chromium"))


def _ci() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("VIDGATE_TEST_DATABASE_URL"))


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        reason = f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
        if _ci():
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            launched.close()
