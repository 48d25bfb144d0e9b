"""Files under the data dir: uploaded inputs (content-addressed) and rendered outputs."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from uuid import UUID


class Storage:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.inputs, self.outputs = self.root / "inputs", self.root / "outputs"

    def save_input(self, data: bytes) -> str:
        """Keep an input file once per content; returns its sha256."""
        digest = hashlib.sha256(data).hexdigest()
        path = self.input_path(digest)
        if not path.exists():
            _write_atomically(path, data)
        return digest

    def input_path(self, sha256: str) -> Path:
        return self.inputs / sha256[:2] / sha256

    def read_input(self, sha256: str) -> bytes:
        return self.input_path(sha256).read_bytes()

    def output_path(self, job_id: UUID, index: int = 0) -> Path:
        """The job's video; `index` counts the others of a job that made several."""
        return self.outputs / f"{job_id.hex}{_nth(index)}.mp4"

    def thumbnail_path(self, job_id: UUID, index: int = 0) -> Path:
        return self.outputs / f"{job_id.hex}{_nth(index)}.jpg"

    def delete_outputs(self, job_id: UUID) -> None:
        for path in self.outputs.glob(f"{job_id.hex}*"):
            path.unlink(missing_ok=True)


def _nth(index: int) -> str:
    return f".{index}" if index else ""


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
