"""Blobs as files under a directory: the single-host default (`VIDGATE_DATA_DIR`)."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

from service.storage.blobs import BlobInfo

CHUNK = 1 << 16


class LocalBlobs:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        # Next to the outputs, on the same filesystem: publishing a render is a rename.
        self.staging = self.root / "outputs"

    def path(self, key: str) -> Path:
        return self.root / key

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        _write_atomically(self.path(key), data)

    def publish(self, key: str, path: Path, content_type: str) -> None:
        final = self.path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, final)

    def read(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def copy_to(self, key: str, dest: Path) -> None:
        shutil.copyfile(self.path(key), dest)

    def info(self, key: str) -> BlobInfo | None:
        try:
            return BlobInfo(self.path(key).stat().st_size)
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def local_file(self, key: str) -> Path | None:
        path = self.path(key)
        return path if path.is_file() else None

    async def chunks(
        self, key: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        with await asyncio.to_thread(self.path(key).open, "rb") as data:
            data.seek(start)
            offset = start
            while end is None or offset < end:
                size = CHUNK if end is None else min(CHUNK, end - offset)
                block = await asyncio.to_thread(data.read, size)
                if not block:
                    return
                offset += len(block)
                yield block

    async def presigned_url(self, key: str, ttl: float) -> str | None:
        return None  # a directory has no URLs of its own: the gateway serves the file


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
