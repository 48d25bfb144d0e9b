"""Pages: Jinja2 templates from the package, with the console's headers.

Every page forbids framing and any script, style or media from another origin (the console's
assets are its own files), and is never cached: pages may show a secret once.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; media-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def when(moment: float | int | str | None) -> str:
    """Unix seconds (or an ISO string) as `2026-12-07 19:08:55` UTC."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        parsed = datetime.fromisoformat(moment)
    else:
        parsed = datetime.fromtimestamp(float(moment), UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def as_json(value: Any) -> str:
    """Compact, keys sorted: as the live rows show it (`console.js`)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def money(value: float | None) -> str:
    """Dollars; cents unless it is a fraction of a cent-scale price (e.g. $0.0350)."""
    if value is None:
        return "—"
    return f"${value:,.2f}" if value == 0 or abs(value) >= 1 else f"${value:.4f}"


templates = Jinja2Templates(directory=str(TEMPLATES))
templates.env.filters.update(when=when, as_json=as_json, money=money)


def page(name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    """Render `name` (a template) as a page with the console's headers."""
    body = templates.get_template(name).render(context)
    return HTMLResponse(body, status_code=status, headers=HEADERS)
