"""The probes, this document, metrics, and what upstream providers call (no API key)."""

from __future__ import annotations

from typing import Any

from service.surfaces.openai.shapes.ops import Health, Readiness
from service.surfaces.openai.shapes.videos import Error
from service.surfaces.openapi.jsonschema import ref
from service.surfaces.openapi.operations import json_answer, operation

Spec = dict[str, Any]


def ops_paths() -> Spec:
    """Probes and this document: no API key (`security: []`)."""
    return {
        "/healthz": {
            "get": operation(
                "healthz",
                "Liveness probe",
                "ops",
                {
                    "200": json_answer(ref(Health), "The process is up."),
                },
                security=[],
            )
        },
        "/readyz": {
            "get": operation(
                "readyz",
                "Readiness probe",
                "ops",
                {
                    "200": json_answer(ref(Readiness), "The event store answers."),
                    "503": json_answer(ref(Readiness), "The event store does not answer."),
                },
                security=[],
            )
        },
        "/openapi.json": {
            "get": operation(
                "getOpenApi",
                "This OpenAPI document",
                "ops",
                {
                    "200": json_answer({"type": "object"}, "The OpenAPI 3.1 document."),
                },
                security=[],
            )
        },
        "/": {"get": _html("landing", "The landing page (links to the docs and probes)")},
        "/docs": {"get": _html("docs", "These docs, rendered by Swagger UI")},
        "/metrics": {
            "get": operation(
                "metrics",
                "Prometheus metrics",
                "ops",
                {
                    "200": {
                        "description": "Prometheus text exposition format.",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                },
                security=[],
            )
        },
    }


def _html(operation_id: str, summary: str) -> Spec:
    page = {
        "description": "An HTML page.",
        "content": {"text/html": {"schema": {"type": "string"}}},
    }
    return operation(operation_id, summary, "ops", {"200": page}, security=[])


def upstream_paths() -> Spec:
    """What upstream providers call: no API key; signed tokens and signatures instead."""
    hook = {
        "type": "object",
        "properties": {
            "ok": {"type": "boolean"},
            "outcome": {"type": "string"},
            "error": {"type": "string"},
        },
    }
    answers = {
        "200": json_answer(
            hook,
            "Accepted (`outcome` accepted), or a duplicate that changed "
            "nothing (`duplicate`). MiniMax's challenge is echoed back.",
        ),
        "202": json_answer(
            hook, "An unsigned hint whose status fetch failed; the poller follows up."
        ),
        "401": json_answer(
            hook,
            "Forged, expired or tampered token, bad provider signature, or "
            "another job's webhook: nothing was appended.",
        ),
        "404": json_answer(hook, "The provider is not enabled, or the token names no job."),
        "413": json_answer(hook, "The body is larger than 1 MiB."),
        "503": json_answer(hook, "Our store is down or the dispatch is not recorded yet: retry."),
    }
    provider = {
        "name": "provider",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
        "description": "fal, replicate, minimax, luma …",
    }
    token = {
        "name": "token",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
        "description": "The signed, expiring token vidgate put in the callback URL.",
    }
    return {
        "/hooks/{provider}/{token}": {
            "parameters": [provider, token],
            "post": operation(
                "receiveUpstreamWebhook",
                "An upstream provider's webhook for one job",
                "upstream",
                answers,
                security=[],
                description="Verified on the raw body before parsing: the "
                "token, then the provider's own signature (fal ED25519 + user id, Replicate "
                "Standard Webhooks). Unsigned callbacks (MiniMax, Luma, Kling) only trigger a "
                "status fetch.",
            ),
        },
        "/hooks/sora": {
            "post": operation(
                "receiveOpenAIWebhook",
                "OpenAI's project webhook (video.completed/failed)",
                "upstream",
                answers,
                security=[],
                description="Standard Webhooks signed with "
                "VIDGATE_OPENAI_WEBHOOK_SECRET; the video id names the job.",
            )
        },
        "/v1/inputs/{token}": {
            "parameters": [
                {"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "get": operation(
                "getInput",
                "An uploaded input image, for an upstream",
                "upstream",
                {
                    "200": {"description": "The image.", "content": {"image/*": {}}},
                    "403": json_answer(ref(Error), "The link is forged or expired."),
                    "404": json_answer(ref(Error), "The input is no longer stored."),
                },
                security=[],
            ),
        },
    }
