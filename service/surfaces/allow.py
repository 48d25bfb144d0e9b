"""The `Allow` header of a 405: every method served at the path, not just one route's."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import BaseRoute, Match


def allowed_methods(request: Request) -> str:
    """The methods of every route whose path matches (several routes may share a path)."""
    routes: list[BaseRoute] = request.app.routes
    methods: set[str] = set()
    for route in routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))
