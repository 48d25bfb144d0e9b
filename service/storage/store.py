"""vidgate's files by what they are: uploaded inputs (by content), outputs and thumbnails
(by job). Where the bytes live is the `Blobs` backend's business (`VIDGATE_STORAGE_URL`)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID

from service.media.render import render_thumbnail
from service.settings import Settings
from service.storage.blobs import Blobs, StorageUnavailable
from service.storage.local import LocalBlobs

VIDEO, JPEG, BINARY = "video/mp4", "image/jpeg", "application/octet-stream"


class Storage:
    def __init__(self, root: Path, blobs: Blobs | None = None) -> None:
        """Files under the directory `root`, unless another backend is given."""
        self.blobs: Blobs = blobs or LocalBlobs(root)

    @staticmethod
    def input_key(sha256: str) -> str:
        return f"inputs/{sha256[:2]}/{sha256}"

    @staticmethod
    def output_key(job_id: UUID, index: int = 0) -> str:
        """The job's video; `index` counts the others of a job that made several (Midjourney's
        four)."""
        return f"outputs/{job_id.hex}{_nth(index)}.mp4"

    @staticmethod
    def thumbnail_key(job_id: UUID, index: int = 0) -> str:
        return f"outputs/{job_id.hex}{_nth(index)}.jpg"

    def save_input(self, data: bytes) -> str:
        """Keep an input file once per content; returns its sha256."""
        digest = hashlib.sha256(data).hexdigest()
        key = self.input_key(digest)
        if self.blobs.info(key) is None:
            self.blobs.put_bytes(key, data, BINARY)
        return digest

    def read_input(self, sha256: str) -> bytes:
        return self.blobs.read(self.input_key(sha256))

    def staging_file(self, job_id: UUID, suffix: str) -> Path:
        """A fresh local path to write a job's file to before `store_output`."""
        self.blobs.staging.mkdir(parents=True, exist_ok=True)
        return self.blobs.staging / f".{job_id.hex}.{secrets.token_hex(4)}{suffix}"

    def store_output(self, job_id: UUID, path: Path, index: int = 0) -> None:
        """Publish the job's finished video from the local file `path` (consumed)."""
        self.blobs.publish(self.output_key(job_id, index), path, VIDEO)

    def fetch_output(self, job_id: UUID, dest: Path, index: int = 0) -> None:
        self.blobs.copy_to(self.output_key(job_id, index), dest)

    def has_output(self, job_id: UUID) -> bool:
        return self.blobs.info(self.output_key(job_id)) is not None

    def ensure_thumbnail(self, job_id: UUID, index: int = 0) -> bool:
        """Make the job's thumbnail (a JPEG of a middle frame) unless it exists; False when
        the video itself is missing."""
        if self.blobs.info(self.thumbnail_key(job_id, index)) is not None:
            return True
        thumb = self.staging_file(job_id, ".jpg")
        try:
            with self.video_file(job_id, index) as video:
                render_thumbnail(video, thumb)
            self.blobs.publish(self.thumbnail_key(job_id, index), thumb, JPEG)
        except FileNotFoundError:
            return False
        finally:
            thumb.unlink(missing_ok=True)
        return True

    @contextmanager
    def video_file(self, job_id: UUID, index: int = 0) -> Iterator[Path]:
        """The job's video as a file on this machine: a temporary copy of a remote one."""
        video = self.blobs.local_file(self.output_key(job_id, index))
        if video is not None:
            yield video
            return
        copy = self.staging_file(job_id, ".mp4")
        try:
            self.fetch_output(job_id, copy, index)
            yield copy
        finally:
            copy.unlink(missing_ok=True)

    def delete_outputs(self, job_id: UUID, count: int = 1) -> None:
        """Delete the job's `count` videos and their thumbnails."""
        for index in range(count):
            for key in (self.output_key(job_id, index), self.thumbnail_key(job_id, index)):
                self.blobs.delete(key)


def _nth(index: int) -> str:
    return f".{index}" if index else ""


def build_storage(settings: Settings) -> Storage:
    """The data dir (default), another directory (`file:///…`) or a bucket (`s3://…`)."""
    url = settings.storage.url
    if url is None:
        return Storage(settings.data_dir)
    if url.startswith("file://"):
        return Storage(Path(url.removeprefix("file://")))
    from service.storage.s3 import open_bucket  # obstore is loaded only when configured

    bucket = open_bucket(settings.storage, settings.data_dir / "staging")
    try:
        bucket.check()
    except StorageUnavailable as error:
        raise StorageUnavailable(f"VIDGATE_STORAGE_URL={url}: {error}") from None
    return Storage(settings.data_dir, bucket)
