"""Fixtures shared by the integration tests (the top-level conftest gives `settings`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from events.app import Gateway
from service.settings import Settings
from service.stores import build_gateway


@pytest.fixture
def gateway(settings: Settings) -> Iterator[Gateway]:
    """The Gateway application on a fresh store of the current kind, closed afterwards."""
    app = build_gateway(settings)
    yield app
    app.close()
