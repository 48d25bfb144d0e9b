"""The output mirror: copies each upstream video into our storage (`OutputStored`).

Upstream URLs expire (Replicate after ~1 h), need the provider's key (Gemini files) or are
private (`gs://…`), so clients are only ever served our copy. The mirror follows
`Completed` events with a tracked position; a batch is retried after a crash, and a job
whose output is already stored is skipped, so handling one twice is harmless.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import TrackingRecorder

from events.app import Gateway
from events.ids import video_id
from events.job import Job
from service.media.render import describe_video
from service.providers.base import Provider, ProviderRejected, ProviderUnavailable
from service.storage.blobs import StorageUnavailable
from service.storage.store import Storage
from service.workers.topic_follower import TopicFollower

log = logging.getLogger(__name__)
SOURCE = "mirror"


class OutputMirror:
    def __init__(
        self,
        gateway: Gateway,
        tracking: TrackingRecorder,
        providers: Mapping[str, Provider],
        storage: Storage,
        *,
        interval: float = 0.05,
        attempts: int = 6,
        retry_base: float = 1.0,
        download_timeout: float = 600.0,
    ) -> None:
        """`download_timeout`: seconds for one whole copy (VIDGATE_DOWNLOAD_TIMEOUT_S)."""
        self.gateway, self.providers, self.storage = gateway, providers, storage
        self.download_timeout = download_timeout
        self.attempts, self.retry_base = attempts, retry_base
        self.follower = TopicFollower(
            gateway, tracking, [Job.Completed], self.mirror, interval=interval, name="mirror"
        )

    def wake(self) -> None:
        self.follower.wake()

    async def mirror(self, job_id: UUID) -> None:
        """Store one job's output unless it is stored already (or ours to begin with)."""
        job = await asyncio.to_thread(self.gateway.find_job, job_id)
        if job is None or job.status != "completed" or job.output_stored or job.deleted:
            return
        provider = self.providers.get(job.provider)
        if provider is None or job.upstream_id is None:
            log.warning("cannot mirror %s: %r is not enabled", video_id(job_id), job.provider)
            return
        for attempt in range(1, self.attempts + 1):
            try:
                await self._copy(provider, job)
                return
            except ProviderRejected as error:
                log.error("the output of %s is gone upstream: %s", video_id(job_id), error)
                return
            except (ProviderUnavailable, StorageUnavailable) as error:  # the upstream or our store
                if attempt == self.attempts:
                    log.error("gave up mirroring %s: %s", video_id(job_id), error)
                    return
                hint = error.retry_after if isinstance(error, ProviderUnavailable) else None
                await asyncio.sleep(hint or self.retry_base * 2 ** (attempt - 1))

    async def _copy(self, provider: Provider, job: Job) -> None:
        """Copy every video the job made (the first is its video; Midjourney makes four),
        then record them in one `OutputStored`."""
        count = job.video_count
        copies = [await self._copy_one(provider, job, index) for index in range(count)]
        (size, digest, media), outputs = copies[0], None
        if count > 1:
            outputs = [
                {"url": _content_url(job.id, i), "bytes": n, "sha256": d, **m}
                for i, (n, d, m) in enumerate(copies)
            ]
        url = _content_url(job.id, 0)

        def store(j: Job) -> None:
            if not j.deleted:
                j.store_output(url, size, digest, SOURCE, media, outputs)

        await asyncio.to_thread(self.gateway.update_job, job.id, store)

    async def _copy_one(
        self, provider: Provider, job: Job, index: int
    ) -> tuple[int, str, dict[str, Any]]:
        assert job.upstream_id is not None
        part = self.storage.staging_file(job.id, ".download")
        try:
            await self._download(provider, job.upstream_id, index, part)
            size, digest, media = await asyncio.to_thread(_inspect, part)
            await asyncio.to_thread(self.storage.store_output, job.id, part, index)
        finally:
            part.unlink(missing_ok=True)
        return size, digest, media

    async def _download(self, provider: Provider, upstream_id: str, index: int, part: Path) -> None:
        """The provider's download, within the deadline for the whole copy: a URL that
        drips a byte at a time never trips a per-read timeout."""
        try:
            async with asyncio.timeout(self.download_timeout):
                if index:
                    await provider.download_output(upstream_id, index, part)
                else:
                    await provider.download(upstream_id, part)
        except TimeoutError:
            raise ProviderUnavailable(
                f"the output did not download within {self.download_timeout:g} s",
                code="download_timeout",
            ) from None


def _content_url(job_id: UUID, index: int) -> str:
    url = f"/v1/videos/{video_id(job_id)}/content"
    return f"{url}?index={index}" if index else url


def _inspect(path: Path) -> tuple[int, str, dict[str, Any]]:
    """Size, sha256 and what the video is; a file that is no video is refused."""
    digest = hashlib.sha256()
    with path.open("rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    try:
        info = describe_video(path)
    except Exception as error:  # PyAV raises many kinds for a file that is not a video
        raise ProviderRejected(f"the upstream output is not a playable video: {error}") from None
    media = {
        "content_type": "video/mp4",
        "width": info.width,
        "height": info.height,
        "duration": round(info.duration, 3),
        "fps": round(info.fps, 3),
    }
    return path.stat().st_size, digest.hexdigest(), media
