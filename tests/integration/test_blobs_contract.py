"""One contract for every storage backend: the local directory and an S3 bucket (moto's
server on 127.0.0.1), run by the same test class (one fixture differs)."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from service.media.render import RenderSpec, render_video
from service.storage.blobs import Blobs
from service.storage.local import LocalBlobs
from service.storage.s3 import open_bucket
from service.storage.store import Storage
from tests.s3_server import S3Server

DATA = bytes(range(256)) * 1000  # 256,000 bytes: several chunks


async def collect(blobs: Blobs, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in blobs.chunks(key, start, end)])


class BlobsContract:
    @pytest.fixture
    def blobs(self, tmp_path: Path) -> Blobs:
        raise NotImplementedError

    @pytest.fixture
    def anyio_backend(self) -> str:
        return "asyncio"

    def test_what_is_put_reads_back_with_its_size(self, blobs: Blobs) -> None:
        blobs.put_bytes("inputs/ab/abc", DATA, "image/png")
        assert blobs.read("inputs/ab/abc") == DATA
        info = blobs.info("inputs/ab/abc")
        assert info is not None and info.size == len(DATA)

    def test_a_missing_key_has_no_info_and_reading_it_raises_file_not_found(
        self, blobs: Blobs, tmp_path: Path
    ) -> None:
        assert blobs.info("outputs/nope.mp4") is None
        assert blobs.local_file("outputs/nope.mp4") is None
        with pytest.raises(FileNotFoundError):
            blobs.read("outputs/nope.mp4")
        with pytest.raises(FileNotFoundError):
            blobs.copy_to("outputs/nope.mp4", tmp_path / "copy")

    def test_publishing_a_staged_file_stores_it_and_consumes_the_file(self, blobs: Blobs) -> None:
        blobs.staging.mkdir(parents=True, exist_ok=True)
        staged = blobs.staging / ".job.part"
        staged.write_bytes(DATA)
        blobs.publish("outputs/job.mp4", staged, "video/mp4")
        assert not staged.exists()
        assert blobs.read("outputs/job.mp4") == DATA

    def test_publishing_again_replaces_the_object(self, blobs: Blobs) -> None:
        blobs.put_bytes("outputs/job.jpg", b"first", "image/jpeg")
        blobs.put_bytes("outputs/job.jpg", b"second", "image/jpeg")
        assert blobs.read("outputs/job.jpg") == b"second"

    def test_copy_to_writes_the_whole_object_to_a_local_file(
        self, blobs: Blobs, tmp_path: Path
    ) -> None:
        blobs.put_bytes("outputs/job.mp4", DATA, "video/mp4")
        blobs.copy_to("outputs/job.mp4", tmp_path / "copy.mp4")
        assert (tmp_path / "copy.mp4").read_bytes() == DATA

    def test_delete_removes_and_a_second_delete_is_no_error(self, blobs: Blobs) -> None:
        blobs.put_bytes("outputs/job.mp4", DATA, "video/mp4")
        blobs.delete("outputs/job.mp4")
        blobs.delete("outputs/job.mp4")
        assert blobs.info("outputs/job.mp4") is None

    @pytest.mark.anyio
    async def test_chunks_stream_the_whole_object_or_a_range(self, blobs: Blobs) -> None:
        blobs.put_bytes("outputs/job.mp4", DATA, "video/mp4")
        assert await collect(blobs, "outputs/job.mp4") == DATA
        assert await collect(blobs, "outputs/job.mp4", 1000, 2000) == DATA[1000:2000]
        assert await collect(blobs, "outputs/job.mp4", 250_000) == DATA[250_000:]

    def test_storage_keeps_an_input_once_per_content(self, blobs: Blobs, tmp_path: Path) -> None:
        storage = Storage(tmp_path, blobs)
        first, again = storage.save_input(b"png bytes"), storage.save_input(b"png bytes")
        assert first == again
        assert storage.read_input(first) == b"png bytes"

    def test_storage_makes_a_thumbnail_from_a_stored_video_once(
        self, blobs: Blobs, tmp_path: Path
    ) -> None:
        storage, job_id = Storage(tmp_path, blobs), uuid4()
        staged = storage.staging_file(job_id, ".mp4")
        render_video(RenderSpec(160, 90, 0.5, 8, "a fox"), staged)
        storage.store_output(job_id, staged)
        assert storage.has_output(job_id) and not staged.exists()
        assert storage.ensure_thumbnail(job_id)
        thumb = blobs.read(storage.thumbnail_key(job_id))
        assert thumb[:2] == b"\xff\xd8"  # a JPEG
        assert storage.ensure_thumbnail(job_id)  # kept: not made again
        assert not [p for p in blobs.staging.iterdir() if p.name.startswith(f".{job_id.hex}")]
        storage.delete_outputs(job_id)
        assert not storage.has_output(job_id)
        assert not storage.ensure_thumbnail(job_id)  # no video: no thumbnail


class TestLocalBlobs(BlobsContract):
    @pytest.fixture
    def blobs(self, tmp_path: Path) -> Blobs:
        return LocalBlobs(tmp_path / "files")

    def test_keys_are_files_under_the_directory_as_before(self, tmp_path: Path) -> None:
        blobs = LocalBlobs(tmp_path)
        blobs.put_bytes("outputs/job.mp4", DATA, "video/mp4")
        assert (tmp_path / "outputs" / "job.mp4").read_bytes() == DATA
        assert blobs.local_file("outputs/job.mp4") == tmp_path / "outputs" / "job.mp4"

    @pytest.mark.anyio
    async def test_a_directory_has_no_presigned_urls(self, tmp_path: Path) -> None:
        blobs = LocalBlobs(tmp_path)
        blobs.put_bytes("outputs/job.mp4", DATA, "video/mp4")
        assert await blobs.presigned_url("outputs/job.mp4", 60) is None


class TestS3Blobs(BlobsContract):
    @pytest.fixture
    def blobs(self, s3_server: S3Server, tmp_path: Path) -> Blobs:
        return open_bucket(s3_server.settings(s3_server.new_bucket()), tmp_path / "staging")

    def test_objects_live_under_the_prefix_of_the_bucket(
        self, s3_server: S3Server, tmp_path: Path
    ) -> None:
        bucket = s3_server.new_bucket()
        blobs = open_bucket(s3_server.settings(bucket, "deep/prefix"), tmp_path)
        blobs.put_bytes("outputs/job.mp4", b"mp4", "video/mp4")
        listing = httpx.get(f"{s3_server.url}/{bucket}?list-type=2").text
        assert "<Key>deep/prefix/outputs/job.mp4</Key>" in listing
        assert blobs.local_file("outputs/job.mp4") is None  # never a local file

    @pytest.mark.anyio
    async def test_a_presigned_url_serves_the_object_and_ranges_to_anyone(
        self, blobs: Blobs
    ) -> None:
        blobs.put_bytes("outputs/job.mp4", DATA, "video/mp4")
        url = await blobs.presigned_url("outputs/job.mp4", 60)
        assert url is not None
        async with httpx.AsyncClient() as http:  # no credentials
            whole = await http.get(url)
            part = await http.get(url, headers={"Range": "bytes=10-19"})
        assert whole.status_code == 200 and whole.content == DATA
        assert whole.headers["content-type"] == "video/mp4"
        assert part.status_code == 206 and part.content == DATA[10:20]

    def test_a_bucket_that_does_not_exist_holds_nothing(
        self, s3_server: S3Server, tmp_path: Path
    ) -> None:
        blobs = open_bucket(s3_server.settings("no-such-bucket"), tmp_path)
        assert blobs.info("k") is None
        with pytest.raises(FileNotFoundError):
            blobs.read("k")

    def test_a_file_larger_than_one_part_is_uploaded_in_parts_and_reads_back_whole(
        self, blobs: Blobs
    ) -> None:
        big = DATA * 25  # 6.4 MB: more than the 5 MiB of one part of a multipart upload
        blobs.staging.mkdir(parents=True, exist_ok=True)
        staged = blobs.staging / ".big.part"
        staged.write_bytes(big)
        blobs.publish("outputs/big.mp4", staged, "video/mp4")
        assert blobs.read("outputs/big.mp4") == big
