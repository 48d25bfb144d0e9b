"""The landing page at `/` and the API docs at `/docs` (Swagger UI over `/openapi.json`).

Swagger UI's files come from the `swagger-ui-bundle-v2` package and are served from here, so
the docs render offline: the page loads nothing from any other host (`validatorUrl: null`
turns off the badge that would ask swagger.io to validate the document).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

STATIC = "/docs/static"

DOCS_PAGE = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>vidgate API docs</title>
  <link rel="stylesheet" href="{STATIC}/swagger-ui.css">
  <link rel="icon" type="image/png" href="{STATIC}/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{STATIC}/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({{
      url: "/openapi.json",
      dom_id: "#swagger-ui",
      presets: [SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
      deepLinking: true,
      displayOperationId: true,
      validatorUrl: null,
    }});
  </script>
</body>
</html>
"""

LANDING_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>vidgate</title>
  <style>
    body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; }
    li { margin: 0.4rem 0; }
  </style>
</head>
<body>
  <h1>vidgate</h1>
  <p>A self-hosted gateway for AI video generation.</p>
  <ul>
    <li><a href="/docs">API docs</a> (Swagger UI) over
        <a href="/openapi.json">/openapi.json</a></li>
    <li>Health: <a href="/healthz">/healthz</a> (liveness),
        <a href="/readyz">/readyz</a> (the store answers),
        <a href="/metrics">/metrics</a> (Prometheus)</li>
    <li><a href="/console">Console</a>: jobs, their history and videos, analytics,
        webhooks, keys and balance (sign in with an API key)</li>
  </ul>
  <p>Try it: <code>vidgate videos create --model local-preview --prompt "a fox" --wait
     -o fox.mp4</code> with <code>VIDGATE_URL</code> and <code>VIDGATE_API_KEY</code> set.</p>
</body>
</html>
"""


async def landing(request: Request) -> Response:
    return HTMLResponse(LANDING_PAGE)


async def docs(request: Request) -> Response:
    return HTMLResponse(DOCS_PAGE)


routes = [
    Route("/", landing, methods=["GET"]),
    Route("/docs", docs, methods=["GET"]),
    # Swagger UI's own files: static assets, not API operations (not in /openapi.json).
    Mount(STATIC, app=StaticFiles(directory=str(swagger_ui_path)), name="docs-static"),
]
