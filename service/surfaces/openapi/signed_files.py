"""What the facades' OpenAPI descriptions share: the signed output links' routes, and the
`Idempotency-Key` header of their create operations."""

from __future__ import annotations

from typing import Any

from service.surfaces.idempotency import HEADER, MAX_KEY

Spec = dict[str, Any]
BINARY = {"type": "string", "format": "binary"}


def signed_file(surface: str, op_id: str, summary: str, media: str, errors: Spec) -> Spec:
    """The GET of a signed link (`service.surfaces.output_files`); `errors` in the surface's
    shape for 403 (`invalid_link`) and 404 (`not_found`)."""
    token = {
        "name": "token",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
        "description": "The signed token of a link the surface handed out.",
    }
    return {
        "x-surface": surface,
        "tags": ["videos"],
        "operationId": op_id,
        "summary": summary,
        "security": [],
        "description": "No key: the signed, expiring link is the credential, as the vendors' "
        "CDN URLs are (3 days by default, `VIDGATE_OUTPUT_LINK_TTL_S`). `Range` requests "
        "are served.",
        "parameters": [token],
        "responses": {
            "200": {"description": "The file.", "content": {media: {"schema": BINARY}}},
            "206": {
                "description": "Part of the file, for a `Range` request.",
                "content": {media: {"schema": BINARY}},
            },
            **errors,
            "416": {"description": "The `Range` lies outside the file (empty body)."},
        },
    }


def idempotency_key(answer: str) -> Spec:
    """The optional header; `answer` says what a retry gets on this surface."""
    replay = (
        f"Makes retries safe: the same key and request {answer}; the same key with a "
        "different request is a 409 (`idempotency_key_reused`). Printable, not blank."
    )
    return {
        "name": HEADER,
        "in": "header",
        "required": False,
        "description": replay,
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY},
    }
