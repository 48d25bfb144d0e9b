"""The Replicate predictions adapter (`api.replicate.com/v1`): Kling, MiniMax, Wan, Veo …
hosted on Replicate.

Upstream models are `owner/name` (an official model: `POST /models/{owner}/{name}/predictions`)
or `owner/name:version` (`POST /predictions {version}`); upstream ids are prediction ids.
Progress exists only as tqdm bars in `logs`; it is parsed from there. `aborted` (the deadline
passed before the prediction started) maps to failed, `raw_status` keeping it.

Webhooks are Standard Webhooks-signed with the account's secret
(`GET /webhooks/default/secret`). `parse_webhook` is synchronous, so it verifies against the
`webhook_secret` given or fetched before (`refresh_webhook_secret`); `verify_webhook` is the
async entry point that fetches it when missing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from service.providers import http as shared
from service.providers.base import (
    Adapter,
    DispatchRequest,
    InputForm,
    Plugin,
    ProviderRejected,
    ProviderUnavailable,
    ReadInput,
    Submission,
    UpstreamStatus,
    WebhookKind,
    base_url,
    credential,
)
from service.providers.http import parse_json
from service.providers.replicate_mapping import (
    STATES,
    TOLERANCE,
    http_error,
    json_object,
    log_progress,
    output_url,
    prediction_status,
    replicate_input,
    target,
    unreachable,
    verify,
)
from service.settings import ProviderSettings

__all__ = ["EVENTS", "STATES", "TOLERANCE", "ReplicateProvider", "log_progress", "target"]

EVENTS = ("start", "completed")  # the webhook events we ask for (logs would flood receivers)


class ReplicateProvider(Adapter):
    name = "replicate"
    webhook = WebhookKind.SIGNED
    calls_back = True
    inputs = InputForm.LINK

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        token: str,
        base_url: str = "https://api.replicate.com/v1",
        webhook_secret: str | None = None,
        clock: Callable[[], float] = time.time,
        timeout: float = 30.0,
    ) -> None:
        self.http, self.token, self.base_url = http, token, base_url.rstrip("/")
        self.webhook_secret, self.clock, self.timeout = webhook_secret, clock, timeout

    async def submit(self, request: DispatchRequest) -> Submission:
        model, version = target(request.upstream_model)
        body: dict[str, Any] = {"input": replicate_input(request)}
        if request.callback_url:
            body.update(webhook=request.callback_url, webhook_events_filter=list(EVENTS))
        if version:
            path, body["version"] = "/predictions", version
        else:
            path = f"/models/{model}/predictions"
        data = json_object(await self._send("POST", path, json=body))
        prediction_id = data.get("id")
        if not isinstance(prediction_id, str) or not prediction_id:
            raise ProviderUnavailable("Replicate's prediction has no id", code="malformed")
        return Submission(upstream_id=prediction_id)

    async def status(self, upstream_id: str) -> UpstreamStatus:
        return prediction_status(await self._prediction("GET", upstream_id))

    async def cancel(self, upstream_id: str) -> None:
        """Cancel the prediction (Replicate answers an ended one unchanged: a no-op)."""
        await self._prediction("POST", upstream_id, "/cancel")

    async def download(self, upstream_id: str, dest: Path) -> Path:
        """Stream the output video to `dest` (atomically). Replicate's delivery URLs are
        public: our token is never sent with them."""
        url = output_url((await self._prediction("GET", upstream_id)).get("output"))
        return await shared.stream_to_file(
            self.http, url, dest, deadline=self.timeout, who="Replicate", refused=http_error
        )

    async def refresh_webhook_secret(self) -> str:
        """Fetch the account's webhook signing secret (`whsec_…`)."""
        key = json_object(await self._send("GET", "/webhooks/default/secret")).get("key")
        if not isinstance(key, str) or not key.startswith("whsec_"):
            raise ProviderUnavailable("Replicate's webhook secret is malformed", code="malformed")
        self.webhook_secret = key
        return key

    async def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> UpstreamStatus:
        """`parse_webhook`, fetching the signing secret first when it is not known yet."""
        if self.webhook_secret is None:
            await self.refresh_webhook_secret()
        return self.parse_webhook(headers, body)

    named_by_callback = True

    async def callback_names(
        self, request: DispatchRequest, headers: Mapping[str, str], body: bytes
    ) -> str | None:
        prediction_id = (await self.verify_webhook(headers, body)).extra.get("prediction_id")
        return str(prediction_id) if prediction_id else None

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> UpstreamStatus:
        """Verify a Standard Webhooks-signed Replicate webhook and map the prediction in it."""
        if self.webhook_secret is None:
            raise ProviderUnavailable(
                "Replicate's webhook secret is not known: await refresh_webhook_secret()"
            )
        lower = {name.lower(): value for name, value in headers.items()}
        verify(lower, body, self.webhook_secret, self.clock())
        return prediction_status(parse_json(body))

    async def _prediction(self, method: str, upstream_id: str, suffix: str = "") -> Any:
        """One prediction call: the prediction object Replicate answers."""
        if not upstream_id.isalnum():
            raise ProviderRejected(f"{upstream_id!r} is not a prediction id", code="invalid_id")
        return json_object(await self._send(method, f"/predictions/{upstream_id}{suffix}"))

    async def _send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """One API call (`path` under base_url), raising Replicate's error unless it succeeds."""
        headers = {"Authorization": f"Bearer {self.token}"}
        response = await shared.request(
            self.http,
            method,
            self.base_url + path,
            headers=headers,
            deadline=self.timeout,
            fail=lambda error: unreachable(error, method, path),
            **kw,
        )
        if not response.is_success:
            raise http_error(response)
        return response


def build(
    http: httpx.AsyncClient, config: ProviderSettings, read_input: ReadInput | None
) -> ReplicateProvider:
    # Without a configured secret the adapter fetches it (GET /webhooks/default/secret).
    return ReplicateProvider(
        http,
        token=credential(config.replicate_api_token),
        webhook_secret=config.replicate_webhook_secret,
        **base_url(config, ReplicateProvider.name),
    )


PLUGIN = Plugin(ReplicateProvider.name, build)
