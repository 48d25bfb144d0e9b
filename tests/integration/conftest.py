"""Fixtures shared by the integration tests (the top-level conftest gives `settings`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from events.app import Gateway
from service.persistence.stores import build_gateway
from service.settings import Settings


@pytest.fixture
def gateway(settings: Settings) -> Iterator[Gateway]:
    """The Gateway application on a fresh store of the current kind, closed afterwards."""
    app = build_gateway(settings)
    yield app
    app.close()
