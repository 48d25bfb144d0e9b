"""The web console at `/console`: jobs, one job's history, analytics, webhooks, keys,
balance and models, for a tenant signed in with an API key.

Server-rendered pages (Jinja2 templates, plain forms) and one small script of our own for
the live parts (`static/console.js`, following the Server-Sent Events streams); nothing is
loaded from another host. HTTP stays here; the work is the API's own service layer.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from service.settings import Settings
from service.surfaces.console import auth, job, jobs, keys, overview, webhooks
from service.surfaces.console.render import STATIC
from service.surfaces.console.session import Sessions


def sessions_for(settings: Settings, secret: str) -> Sessions:
    """The console's sessions, signed with the server secret; `Secure` cookies when the
    gateway's public URL is https."""
    return Sessions(secret, secure=(settings.public_url or "").startswith("https://"))


async def home(request: Request) -> Response:
    return RedirectResponse("/console/jobs", status_code=303)


routes = [
    Mount(
        "/console",
        name="console",
        routes=[
            Route("/", home, methods=["GET"]),
            Route("/sign-in", auth.sign_in_form, methods=["GET"]),
            Route("/sign-in", auth.sign_in, methods=["POST"]),
            Route("/sign-out", auth.sign_out, methods=["POST"]),
            Route("/jobs", jobs.jobs_page, methods=["GET"]),
            Route("/jobs", jobs.submit_job, methods=["POST"]),
            Route("/events", jobs.tenant_events, methods=["GET"]),
            Route("/jobs/{video_id}", job.job_page, methods=["GET"]),
            Route("/jobs/{video_id}/row", jobs.job_row, methods=["GET"]),
            Route("/jobs/{video_id}/events", job.job_events, methods=["GET"]),
            Route("/jobs/{video_id}/content", job.job_content, methods=["GET"]),
            Route("/jobs/{video_id}/cancel", job.cancel_job, methods=["POST"]),
            Route("/jobs/{video_id}/delete", job.delete_job, methods=["POST"]),
            Route("/analytics", overview.analytics_page, methods=["GET"]),
            Route("/billing", overview.billing_page, methods=["GET"]),
            Route("/models", overview.models_page, methods=["GET"]),
            Route("/webhooks", webhooks.endpoints_page, methods=["GET"]),
            Route("/webhooks", webhooks.create_endpoint, methods=["POST"]),
            Route("/webhooks/{endpoint_id}", webhooks.endpoint_page, methods=["GET"]),
            Route("/webhooks/{endpoint_id}/rotate", webhooks.rotate_secret, methods=["POST"]),
            Route("/webhooks/{endpoint_id}/enabled", webhooks.set_enabled, methods=["POST"]),
            Route("/deliveries/{delivery_id}/redeliver", webhooks.redeliver, methods=["POST"]),
            Route("/keys", keys.keys_page, methods=["GET"]),
            Route("/keys", keys.create_key, methods=["POST"]),
            Route("/keys/{key_id}/revoke", keys.revoke_key, methods=["POST"]),
            Mount("/static", app=StaticFiles(directory=str(STATIC)), name="console-static"),
        ],
    )
]
