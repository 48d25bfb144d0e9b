# vidgate: one image for every role (web, worker, emulate); docs/deploy.md shows the layout.
# Build stage: install vidgate and its dependencies into a virtualenv (all wheels: PyAV
# carries its own FFmpeg, psycopg its libpq), so the final image needs no compiler.
FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/vidgate
WORKDIR /src
COPY pyproject.toml README.md ./
COPY events ./events
COPY projections ./projections
COPY service ./service
RUN /opt/vidgate/bin/pip install --no-cache-dir .

FROM python:3.12-slim
ENV PATH=/opt/vidgate/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    VIDGATE_DATA_DIR=/var/lib/vidgate
# A system user without a login shell owns the data directory; nothing runs as root.
RUN useradd --system --no-log-init --uid 10001 --user-group \
        --home-dir /var/lib/vidgate --create-home --shell /usr/sbin/nologin vidgate
COPY --from=build /opt/vidgate /opt/vidgate
USER 10001:10001
WORKDIR /var/lib/vidgate
EXPOSE 8000
# /healthz answers while the process serves; the worker role has no HTTP port, so compose
# turns the check off for it.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=2)"]
CMD ["vidgate", "serve"]
