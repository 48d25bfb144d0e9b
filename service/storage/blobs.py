"""The one seam between vidgate's files and where they are kept: a flat space of keys.

Two backends implement it: `LocalBlobs` (a directory, the embedded default) and `S3Blobs`
(an S3-compatible bucket, so that processes on several hosts serve the same files). Keys are
the same in both (`outputs/<job>.mp4`, `inputs/ab/<sha256>` …). A missing key raises
`FileNotFoundError` in both;
a store that fails otherwise raises `StorageUnavailable`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class StorageUnavailable(OSError):
    """The store did not answer, or refused (after its client's own retries): worth trying
    again later, unlike a missing key."""


@dataclass(frozen=True)
class BlobInfo:
    size: int
    etag: str | None = None


class Blobs(Protocol):
    # A local directory where files are written before `publish` (renders, downloads).
    staging: Path

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        """Store `data` under `key`, all or nothing."""

    def publish(self, key: str, path: Path, content_type: str) -> None:
        """Store the local file `path` under `key`, all or nothing; `path` is consumed."""

    def read(self, key: str) -> bytes: ...

    def copy_to(self, key: str, dest: Path) -> None:
        """Write the object to the local file `dest`."""

    def info(self, key: str) -> BlobInfo | None:
        """Its size (and version tag), or None when there is no such object."""

    def delete(self, key: str) -> None:
        """Remove it; a missing key is no error."""

    def local_file(self, key: str) -> Path | None:
        """The object as a file on this machine (served as is), or None."""

    def chunks(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Bytes `start` up to `end` (exclusive; None: to the end), a chunk at a time."""

    async def presigned_url(self, key: str, ttl: float) -> str | None:
        """A URL anyone may GET the object from for `ttl` seconds; None if none exists."""
