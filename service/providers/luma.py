"""The Luma Dream Machine adapter (`https://api.lumalabs.ai/dream-machine/v1`): Ray 2 & co.

Upstream ids are Luma generation ids. Luma's states map as queued → queued, dreaming →
in_progress (Luma gives no percentage, so `progress` stays None), completed, failed (its
`failure_reason` is the message). `raw_status` is Luma's state and `extra["generation"]` the
whole generation object.

Cancel is `DELETE /generations/{id}`: Luma *deletes* the generation, so a later GET is a 404.
This adapter remembers the ids it deleted and reports them as canceled; an adapter that did
not delete the id (another process, after a restart) sees the 404 as an unknown job.

Callbacks are unsigned: anyone who learns the callback URL can post one. `parse_webhook`
therefore only maps the body into a *hint* (`extra["verified"]` is False); callers must
re-fetch with `status()` before acting on it (the dispatcher does: webhooks only wake it).

A job with a source video (video-to-video) goes to `POST /generations/video/modify`
(`modify_body`), the rest to `POST /generations/video`; both answer a generation that polls
and calls back alike.

Luma takes no client-chosen id, but a generation keeps its whole `request`, callback URL
included, and `GET /generations` lists them newest first. So the callback URL carries the
attempt id (`?attempt=…`, which our hook route ignores), and `find` pages through the
newest generations for the one whose callback URL names it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from service.providers import http as shared
from service.providers.base import (
    Adapter,
    DispatchRequest,
    InputForm,
    Plugin,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    ReadInput,
    Submission,
    UpstreamStatus,
    base_url,
    credential,
)
from service.providers.http import parse_json as _json
from service.settings import ProviderSettings

__all__ = ["DURATIONS", "RATIOS", "RESOLUTIONS", "LumaProvider", "luma_body"]

Json = dict[str, Any]
DURATIONS = {5: "5s", 9: "9s"}
RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "9:21")
RESOLUTIONS = {"540p": 540, "720p": 720, "1080p": 1080, "4k": 2160}
STATES = {
    "queued": "queued",
    "dreaming": "in_progress",
    "completed": "completed",
    "failed": "failed",
}
MODIFY_MODE = "flex_1"  # of adhere_1-3, flex_1-3, reimagine_1-3 (lumaai's modify modes)
DELETED_MEMORY = 10_000  # how many deleted ids the adapter remembers as canceled
# `find` looks this far back (newest first); past it, it cannot say the generation is absent.
FIND_PAGES, FIND_PAGE_SIZE = 10, 100


class LumaProvider(Adapter):
    name = "luma"
    calls_back = True
    inputs = InputForm.LINK
    finds = True

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_key: str,
        base_url: str = "https://api.lumalabs.ai/dream-machine/v1",
        timeout: float = 30.0,
    ) -> None:
        self.http, self.api_key, self.base_url = http, api_key, base_url.rstrip("/")
        self.timeout = timeout
        self._deleted: dict[str, None] = {}  # insertion-ordered set, oldest first

    async def submit(self, request: DispatchRequest) -> Submission:
        if request.inputs.get("video"):  # video-to-video: Luma's modify call
            path, body = "/generations/video/modify", modify_body(request)
        else:
            path, body = "/generations/video", luma_body(request)
        data = _object(await self._send("POST", path, json=body))
        gen_id = data.get("id")
        if not isinstance(gen_id, str) or not gen_id:
            raise ProviderUnavailable("Luma's answer has no generation id", code="malformed")
        return Submission(upstream_id=gen_id)

    async def find(self, request: DispatchRequest) -> Submission | None:
        """The generation whose callback URL names `request.attempt_id`, among the newest
        `FIND_PAGES` pages; None when the list ends without it."""
        if not request.callback_url or not request.attempt_id:
            raise ProviderUnavailable("nothing we sent names the attempt", code="no_lookup")
        for page in range(FIND_PAGES):
            params = {"limit": FIND_PAGE_SIZE, "offset": page * FIND_PAGE_SIZE}
            listed = _object(await self._send("GET", "/generations", params=params))
            generations = listed.get("generations")
            if not isinstance(generations, list):
                raise ProviderUnavailable("Luma's list has no generations", code="malformed")
            for gen in generations:
                if _attempt_of(gen) == request.attempt_id and isinstance(gen.get("id"), str):
                    return Submission(upstream_id=gen["id"])
            if not listed.get("has_more"):
                return None
        raise ProviderUnavailable(
            "the attempt is not among the newest generations", code="no_lookup"
        )

    async def status(self, upstream_id: str) -> UpstreamStatus:
        path = f"/generations/{_checked(upstream_id)}"
        response = await self._call("GET", path)
        if response.status_code == 404 and upstream_id in self._deleted:
            message = "the generation was deleted (canceled)"
            return UpstreamStatus(
                "canceled", "deleted", error_code="canceled", error_message=message
            )
        if not response.is_success:
            raise _http_error(response)
        return generation_status(_object(response))

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> UpstreamStatus:
        """Map a Luma callback (the generation object, unsigned) to a status *hint*: re-fetch
        with `status()` before trusting it (see the module doc)."""
        data = _json(body)
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            raise ProviderRejected("the Luma callback body is malformed", code="malformed")
        try:
            status = generation_status(data)
        except ProviderUnavailable as error:
            raise ProviderRejected(str(error), code="malformed") from None
        return UpstreamStatus(
            status.state,
            status.raw_status,
            status.progress,
            status.output_url,
            status.error_code,
            status.error_message,
            {**status.extra, "verified": False},
        )

    async def cancel(self, upstream_id: str) -> None:
        """Delete the generation (Luma's only way to stop one)."""
        await self._send("DELETE", f"/generations/{_checked(upstream_id)}")
        self._deleted[upstream_id] = None
        while len(self._deleted) > DELETED_MEMORY:
            del self._deleted[next(iter(self._deleted))]

    async def download(self, upstream_id: str, dest: Path) -> Path:
        """Stream the video asset to `dest` (atomically). Luma's asset URLs are public CDN
        URLs: our key is never sent with them."""
        status = await self.status(upstream_id)
        if status.state != "completed" or not status.output_url:
            raise ProviderRejected(
                f"the Luma generation is {status.raw_status}, not completed", code="not_completed"
            )
        return await shared.stream_to_file(
            self.http,
            status.output_url,
            dest,
            deadline=self.timeout,
            who="Luma",
            refused=_http_error,
        )

    async def _call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.api_key}", "Accept": "application/json"}
        return await shared.request(
            self.http,
            method,
            self.base_url + path,
            headers=headers,
            deadline=self.timeout,
            fail=lambda error: _unreachable(error, method, path),
            **kw,
        )

    async def _send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        response = await self._call(method, path, **kw)
        if not response.is_success:
            raise _http_error(response)
        return response


def luma_body(request: DispatchRequest) -> Json:
    """Our job as Luma's video generation request (`POST /generations/video`, as `lumaai`)."""
    params = request.params
    body: Json = {"model": request.upstream_model, "prompt": request.prompt}
    if params.get("seconds") is not None:
        body["duration"] = _duration(params["seconds"])
    size = _size(params.get("size"))
    ratio = params.get("aspect_ratio") or (size and _nearest_ratio(*size))
    if ratio:
        if ratio not in RATIOS:
            raise ProviderRejected(
                f"Luma takes aspect ratios {', '.join(RATIOS)}, not {ratio!r}",
                code="invalid_aspect_ratio",
            )
        body["aspect_ratio"] = ratio
    resolution = params.get("resolution") or (size and _nearest_resolution(*size))
    if resolution:
        resolution = "4k" if str(resolution).lower() in ("4k", "2160p") else str(resolution)
        if resolution not in RESOLUTIONS:
            raise ProviderRejected(
                f"Luma takes resolutions {', '.join(RESOLUTIONS)}, not {resolution!r}",
                code="invalid_resolution",
            )
        body["resolution"] = resolution
    if isinstance(params.get("loop"), bool):
        body["loop"] = params["loop"]
    frames = {"frame0": request.inputs.get("image"), "frame1": request.inputs.get("end_image")}
    keyframes = {key: _keyframe(image) for key, image in frames.items() if image}
    if keyframes:
        body["keyframes"] = keyframes
    if request.callback_url:
        body["callback_url"] = _marked(request.callback_url, request.attempt_id)
    return body


def modify_body(request: DispatchRequest) -> Json:
    """Our video-to-video job as Luma's modify request (`POST /generations/video/modify`, as
    `lumaai`'s `generations.video.modify`): the source by URL, which Luma fetches itself.
    The output follows the source's length and frame, so no duration, ratio or resolution
    goes; `mode` is Luma's middle setting, `flex_1` (between adhering to the source and
    reimagining it)."""
    body: Json = {
        "generation_type": "modify_video",
        "model": request.upstream_model,
        "media": {"url": request.inputs["video"]["url"]},
        "mode": MODIFY_MODE,
        "prompt": request.prompt,
    }
    if request.callback_url:
        body["callback_url"] = _marked(request.callback_url, request.attempt_id)
    return body


def _marked(callback_url: str, attempt_id: str | None) -> str:
    """The callback URL naming the attempt (what `find` recognises the generation by)."""
    if attempt_id is None:
        return callback_url
    return str(httpx.URL(callback_url).copy_add_param("attempt", attempt_id))


def _attempt_of(generation: Any) -> str | None:
    request = generation.get("request") if isinstance(generation, dict) else None
    url = request.get("callback_url") if isinstance(request, dict) else None
    if not isinstance(url, str):
        return None
    try:
        attempt = httpx.URL(url).params.get("attempt")
    except httpx.InvalidURL:
        return None
    return attempt if isinstance(attempt, str) else None


def _keyframe(image: Mapping[str, Any]) -> Json:
    """An input image as a Luma keyframe: Luma fetches keyframes by URL only."""
    if image.get("url"):
        return {"type": "image", "url": image["url"]}
    raise ProviderRejected(
        "Luma fetches keyframe images from a URL; uploaded images (sha256) are not "
        "supported by the Luma provider: pass the image as image_url",
        code="image_upload_unsupported",
    )


def generation_status(data: Json) -> UpstreamStatus:
    """A Luma generation object, mapped."""
    raw = data.get("state")
    state = STATES.get(raw) if isinstance(raw, str) else None
    if raw is None or state is None:
        raise ProviderUnavailable(f"Luma answered an unknown state {raw!r}", code="malformed")
    extra = {"generation": data}
    if state == "completed":
        assets = data.get("assets")
        url = assets.get("video") if isinstance(assets, dict) else None
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ProviderUnavailable("Luma's completed generation has no video", code="malformed")
        return UpstreamStatus(state, raw, progress=100, output_url=url, extra=extra)
    if state == "failed":
        reason = data.get("failure_reason") or "Luma reported a failure without a reason"
        return UpstreamStatus(
            state, raw, error_code="generation_failed", error_message=str(reason), extra=extra
        )
    return UpstreamStatus(state, raw, progress=0 if raw == "queued" else None, extra=extra)


def _duration(seconds: Any) -> str:
    text = str(seconds).strip().removesuffix("s")
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if value in DURATIONS:
        return DURATIONS[int(value)]
    raise ProviderRejected(
        f'Luma makes 5 or 9 second videos (duration "5s" | "9s"), not {seconds!r} seconds',
        code="invalid_duration",
    )


def _size(size: Any) -> tuple[int, int] | None:
    found = re.fullmatch(r"(\d+)x(\d+)", str(size or ""))
    if not found or not int(found.group(1)) or not int(found.group(2)):
        return None
    return int(found.group(1)), int(found.group(2))


def _nearest_ratio(width: int, height: int) -> str:
    def distance(ratio: str) -> float:
        w, _, h = ratio.partition(":")
        return abs(math.log(int(w) / int(h)) - math.log(width / height))

    return min(RATIOS, key=distance)


def _nearest_resolution(width: int, height: int) -> str:
    side = min(width, height)
    return min(RESOLUTIONS, key=lambda name: abs(RESOLUTIONS[name] - side))


def _checked(upstream_id: str) -> str:
    if not re.fullmatch(r"[\w-]{1,100}", upstream_id):
        raise ProviderRejected(f"{upstream_id!r} is not a Luma generation id", code="invalid_id")
    return upstream_id


def _unreachable(error: Exception, method: str, target: str) -> ProviderUnavailable:
    return shared.unreachable(error, "Luma", method, target)


def _http_error(response: httpx.Response) -> ProviderError:
    """A failed Luma call (`{"detail": str | [{msg, …}]}`): 408/409/429/5xx are retryable."""
    detail = (_json(response.content) or {}) if response.content else {}
    detail = detail.get("detail") if isinstance(detail, dict) else None
    if isinstance(detail, list):
        detail = "; ".join(str(d.get("msg", d)) if isinstance(d, dict) else str(d) for d in detail)
    status = response.status_code
    text = f"Luma answered HTTP {status}: {detail or response.text[:200] or response.reason_phrase}"
    retry = shared.retryable(status, text, shared.retry_after(response.headers.get("retry-after")))
    if retry is not None:
        return retry
    if status == 404:
        return ProviderRejected(text, code="not_found")
    return ProviderRejected(
        text, code={401: "unauthorized", 403: "forbidden"}.get(status, f"upstream_{status}")
    )


def _object(response: httpx.Response) -> Json:
    return shared.json_object(response, "Luma")


def build(
    http: httpx.AsyncClient, config: ProviderSettings, read_input: ReadInput | None
) -> LumaProvider:
    key = credential(config.luma_api_key)
    return LumaProvider(http, api_key=key, **base_url(config, LumaProvider.name))


PLUGIN = Plugin(LumaProvider.name, build)
