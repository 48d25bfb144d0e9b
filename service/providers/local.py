"""The built-in `local` provider: renders real MP4s on this machine's CPU.

It speaks the same `Provider` protocol as the real upstreams. Where they would post a
webhook, it reports an `UpstreamStatus` (progress, completion with the stored output,
failure) through the injected `report` (`Signals.apply`, source `local`): the path
webhooks and polls take. It appends nothing itself and only reads jobs (`find_job`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from events.ids import video_id
from events.job import Job
from service.media.render import ImageUnreadable, RenderCanceled, RenderSpec, render_video
from service.providers.base import (
    Adapter,
    DispatchRequest,
    InputForm,
    ProviderRejected,
    Submission,
    UpstreamStatus,
    WebhookKind,
)
from service.providers.fair_slots import FairSlots
from service.storage.blobs import StorageUnavailable
from service.storage.store import Storage

log = logging.getLogger(__name__)
SOURCE = "local"
MAX_IMAGE_BYTES = 20 * 1024 * 1024  # as for an uploaded image (service.videos.images)
FETCH_TIMEOUT = 30.0  # seconds for a whole image_url download (VIDGATE_INPUT_FETCH_TIMEOUT_MS)
STORE_CHECK_EVERY = 0.5  # seconds between "was the job canceled?" reads of the store
STOP_CHECK_EVERY = 0.1  # seconds between looks at a fetch's stop flag (set by close/cancel)
Report = Callable[[UUID, UpstreamStatus, str], tuple[Job, bool]]  # Signals.apply
FindJob = Callable[[UUID], Job | None]


class ImageFetchFailed(Exception):
    """An `image_url` could not be downloaded."""

    code = "image_unavailable"


class ImageFetchTimedOut(ImageFetchFailed):
    """An `image_url` did not download within the fetch deadline."""

    code = "input_fetch_timeout"


class _Ended(Exception):
    """The job ended (canceled) or the provider is closing: its fetch was abandoned."""


class LocalProvider(Adapter):
    name = "local"
    webhook = WebhookKind.NONE
    inputs = InputForm.STORED
    polled = False  # only this process knows how its render goes: it reports, never asked
    cancels_upstream = False  # it watches the store and stops a canceled render itself
    # Its upstream id is the job's, and a render dies with its process: submitting again
    # after a crash renders once.
    dedupes = True

    def __init__(
        self,
        report: Report,
        find_job: FindJob,
        storage: Storage,
        http: httpx.AsyncClient,
        *,
        concurrency: int = 2,
        frame_delay: float = 0.0,
        dispatch_wait: float = 10.0,
        fetch_timeout: float = FETCH_TIMEOUT,
        fetch_max_bytes: int = MAX_IMAGE_BYTES,
    ) -> None:
        self.report, self.find_job = report, find_job
        self.storage, self.http = storage, http
        self.frame_delay = frame_delay
        self.dispatch_wait = dispatch_wait  # seconds a new render waits for `Dispatched`
        self.fetch_timeout, self.fetch_max_bytes = fetch_timeout, fetch_max_bytes
        # Taken in turns by tenant: one tenant's many renders can't keep another's waiting.
        self._slots = FairSlots(concurrency)
        self._stops: dict[UUID, threading.Event] = {}
        self._progress: dict[UUID, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, request: DispatchRequest) -> Submission:
        self.start(request, after_dispatch=True)
        return Submission(upstream_id=f"local_{request.job_id.hex}")

    def start(self, request: DispatchRequest, *, after_dispatch: bool = False) -> bool:
        """Render the job in the background unless it is already rendering here;
        `after_dispatch`: first wait until the dispatcher has recorded `Dispatched`."""
        if request.job_id in self._stops:
            return False
        self._stops[request.job_id] = threading.Event()
        task = asyncio.get_running_loop().create_task(self._run(request, after_dispatch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def status(self, upstream_id: str) -> UpstreamStatus:
        job_id = UUID(hex=upstream_id.removeprefix("local_"))
        if job_id in self._progress:
            return UpstreamStatus("in_progress", "rendering", progress=self._progress[job_id])
        if job_id in self._stops:
            return UpstreamStatus("queued", "waiting_for_slot")
        return UpstreamStatus(
            "failed",
            "unknown",
            error_code="not_rendering",
            error_message="this process is not rendering the job",
        )

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> UpstreamStatus:
        raise ProviderRejected("the local provider sends no webhooks")

    async def cancel(self, upstream_id: str) -> None:
        stop = self._stops.get(UUID(hex=upstream_id.removeprefix("local_")))
        if stop is not None:
            stop.set()

    async def download(self, upstream_id: str, dest: Path) -> Path:
        job_id = UUID(hex=upstream_id.removeprefix("local_"))
        await asyncio.to_thread(self.storage.fetch_output, job_id, dest)
        return dest

    async def close(self) -> None:
        """Stop rendering; unfinished jobs resume when a worker starts again."""
        for stop in self._stops.values():
            stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self, request: DispatchRequest, after_dispatch: bool) -> None:
        job_id, stop = request.job_id, self._stops[request.job_id]
        try:
            if after_dispatch:
                await self._dispatched(job_id, stop)
            async with self._slots.slot(request.tenant):
                if not await asyncio.to_thread(_StopCheck(self.find_job, job_id, stop).now):
                    await self._render(request, stop)
        except Exception:
            log.exception("local render of %s crashed", job_id)
            await self._fail(job_id, "render_failed", "the local renderer crashed; see the log")
        finally:
            self._stops.pop(job_id, None)
            self._progress.pop(job_id, None)

    async def _render(self, request: DispatchRequest, stop: threading.Event) -> None:
        job_id = request.job_id
        try:
            image = await self._watched(self._image(request.inputs), job_id, stop)
        except _Ended:
            return  # canceled, or this process is stopping: it lets go of the image host
        except ImageFetchFailed as error:
            await self._fail(job_id, error.code, str(error))
            return
        except OSError as error:
            await self._fail(job_id, "image_unavailable", str(error))
            return
        spec = _spec(request, image)
        staged = self.storage.staging_file(job_id, ".mp4")
        try:
            video = await asyncio.to_thread(
                render_video,
                spec,
                staged,
                on_progress=lambda percent: self._on_progress(job_id, percent, stop),
                should_stop=_StopCheck(self.find_job, job_id, stop),
                frame_delay=self.frame_delay,
            )
            # Stored before `Completed`: a job is never completed without its file.
            await asyncio.to_thread(self.storage.store_output, job_id, staged)
        except RenderCanceled:
            return
        except ImageUnreadable as error:
            await self._fail(job_id, "invalid_image", f"unreadable image: {error}")
            return
        except StorageUnavailable as error:
            await self._fail(job_id, "storage_unavailable", f"the video was not stored: {error}")
            return
        finally:
            staged.unlink(missing_ok=True)
        output = {
            "url": f"/v1/videos/{video_id(job_id)}/content",
            "content_type": video.content_type,
            "width": video.width,
            "height": video.height,
            "duration": video.duration,
            "fps": video.fps,
            "bytes": video.bytes,
            "sha256": video.sha256,
        }
        done = UpstreamStatus("completed", None, progress=100, stored_output=output)
        job, _ = await asyncio.to_thread(self.report, job_id, done, SOURCE)
        if job.status != "completed":  # canceled while the last frames were encoded
            await asyncio.to_thread(self.storage.delete_outputs, job_id)

    async def _dispatched(self, job_id: UUID, stop: threading.Event) -> None:
        """Wait for the dispatcher to record `Dispatched` (it does so once `submit` returns):
        a small render can otherwise record progress, even completion, before it, and the
        job's history would say it progressed before it was dispatched. After `dispatch_wait`
        (the dispatcher died in between) the render goes ahead, as it always did."""
        deadline, pause = time.monotonic() + self.dispatch_wait, 0.005
        while time.monotonic() < deadline and not stop.is_set():
            job = await asyncio.to_thread(self.find_job, job_id)
            if job is None or job.is_dispatched or job.is_terminal:
                return
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.1)

    def _on_progress(self, job_id: UUID, percent: int, stop: threading.Event) -> None:
        self._progress[job_id] = percent
        status = UpstreamStatus("in_progress", "rendering", progress=percent)
        job, _ = self.report(job_id, status, SOURCE)
        if job.is_terminal:
            stop.set()

    async def _fail(self, job_id: UUID, code: str, message: str) -> None:
        failed = UpstreamStatus("failed", None, error_code=code, error_message=message)
        await asyncio.to_thread(self.report, job_id, failed, SOURCE)

    async def _watched(
        self, work: Coroutine[Any, Any, bytes | None], job_id: UUID, stop: threading.Event
    ) -> bytes | None:
        """`work`'s result, unless the job ends or the provider stops first: then the work
        is cancelled (a slow image host never holds a slot a cancel or a shutdown freed)."""
        task = asyncio.ensure_future(work)
        check = _StopCheck(self.find_job, job_id, stop)
        try:
            while not task.done():
                await asyncio.wait({task}, timeout=STOP_CHECK_EVERY)
                if not task.done() and await asyncio.to_thread(check):
                    raise _Ended
            return task.result()
        finally:
            task.cancel()

    async def _image(self, inputs: Mapping[str, Any]) -> bytes | None:
        image = inputs.get("image")
        if not image:
            return None
        if image.get("sha256"):
            return await asyncio.to_thread(self.storage.read_input, image["sha256"])
        return await self._fetch(image["url"])

    async def _fetch(self, url: str) -> bytes:
        """The image at `url` (fetched through the SSRF-guarded client), within the fetch
        deadline for the whole download: httpx's own timeout is per read, and a host that
        drips a byte at a time never trips it."""
        try:
            async with asyncio.timeout(self.fetch_timeout):
                return await self._download(url)
        except TimeoutError:
            raise ImageFetchTimedOut(
                f"image_url did not download within {self.fetch_timeout:g} s"
            ) from None
        except httpx.HTTPError as error:
            raise ImageFetchFailed(f"image_url could not be fetched: {error}") from None

    async def _download(self, url: str) -> bytes:
        limit = self.fetch_max_bytes
        too_large = ImageFetchFailed(f"image_url is larger than {limit} bytes")
        async with self.http.stream("GET", url) as response:
            if response.status_code != 200:
                raise ImageFetchFailed(f"image_url answered HTTP {response.status_code}")
            length = response.headers.get("content-length", "")
            if length.isdigit() and int(length) > limit:
                raise too_large
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > limit:
                    raise too_large
            return bytes(data)


class _StopCheck:
    """Stop when asked, or when the store says the job ended (e.g. canceled elsewhere)."""

    def __init__(self, find_job: FindJob, job_id: UUID, stop: threading.Event) -> None:
        self.find_job, self.job_id, self.stop = find_job, job_id, stop
        self.checked_at = time.monotonic()

    def __call__(self) -> bool:
        if self.stop.is_set():
            return True
        if time.monotonic() - self.checked_at >= STORE_CHECK_EVERY:
            self.checked_at = time.monotonic()
            job = self.find_job(self.job_id)
            if job is None or job.is_terminal:
                self.stop.set()
        return self.stop.is_set()

    def now(self) -> bool:
        """Whether the job ended or was asked to stop, reading the store now."""
        self.checked_at = float("-inf")
        return self()


def _spec(request: DispatchRequest, image: bytes | None) -> RenderSpec:
    params = request.params
    width, height = (int(side) for side in str(params["size"]).split("x"))
    return RenderSpec(
        width=width,
        height=height,
        seconds=float(params["seconds"]),
        fps=int(params["fps"]),
        prompt=request.prompt,
        seed=params.get("seed"),
        negative_prompt=params.get("negative_prompt"),
        image=image,
    )
