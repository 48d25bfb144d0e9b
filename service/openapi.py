"""The OpenAPI document for every route vidgate serves."""

from __future__ import annotations

from typing import Any


def openapi_document() -> dict[str, Any]:
    return {"openapi": "3.1.0", "info": {"title": "vidgate", "version": "0.1.0"}, "paths": {}}
