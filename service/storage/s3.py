"""Blobs in an S3-compatible bucket (`VIDGATE_STORAGE_URL=s3://bucket/prefix`).

Why obstore: one small, well-kept package (Rust's `object_store`, used by Apache Arrow and
DataFusion) with both a sync API (for the store-side code that runs in threads) and an async
one (for streaming a response), ranged reads, multipart uploads of large files and presigned
URLs, typed, with no AWS SDK to pull in. Any S3 API server works (AWS, MinIO, R2, moto …).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import obstore
import obstore.exceptions
from obstore.store import S3Store

from service.settings import StorageSettings
from service.storage.blobs import BlobInfo, StorageUnavailable

if TYPE_CHECKING:
    from obstore import GetOptions
    from obstore.store import ClientConfig, RetryConfig, S3Config

TEXT = {"Content-Type": "text/plain"}


class S3Blobs:
    def __init__(self, store: S3Store, staging: Path) -> None:
        self.store = store
        self.staging = staging  # renders and downloads are written here, then uploaded
        self.staging.mkdir(parents=True, exist_ok=True)

    def check(self) -> None:
        """Write a marker object: a missing bucket, wrong credentials or an unreachable
        server stop start-up with a clear message instead of failing the first job."""
        try:
            with _translated():
                obstore.put(self.store, ".vidgate-check", b"", attributes=TEXT)
        except FileNotFoundError:  # S3 says NoSuchBucket as a 404
            raise StorageUnavailable("the bucket does not exist") from None

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        with _translated():
            obstore.put(self.store, key, data, attributes={"Content-Type": content_type})

    def publish(self, key: str, path: Path, content_type: str) -> None:
        with _translated():
            obstore.put(self.store, key, path, attributes={"Content-Type": content_type})
        path.unlink(missing_ok=True)

    def read(self, key: str) -> bytes:
        with _translated():
            return bytes(obstore.get(self.store, key).bytes())

    def copy_to(self, key: str, dest: Path) -> None:
        with _translated(), dest.open("wb") as sink:
            for chunk in obstore.get(self.store, key):
                sink.write(chunk)

    def info(self, key: str) -> BlobInfo | None:
        try:
            with _translated():
                meta = obstore.head(self.store, key)
        except FileNotFoundError:
            return None
        return BlobInfo(meta["size"], meta["e_tag"])

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError), _translated():
            obstore.delete(self.store, key)

    def local_file(self, key: str) -> Path | None:
        return None

    async def chunks(
        self, key: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        options: GetOptions = {}
        if end is not None:
            options["range"] = (start, end)
        elif start:
            options["range"] = {"offset": start}
        with _translated():
            result = await obstore.get_async(self.store, key, options=options)
        async for chunk in result.stream():
            yield chunk

    async def presigned_url(self, key: str, ttl: float) -> str:
        # Signed locally with the credentials: no request to the store.
        return await obstore.sign_async(self.store, "GET", key, timedelta(seconds=ttl))


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    """obstore's errors other than a missing key, as `StorageUnavailable`."""
    try:
        yield
    except obstore.exceptions.BaseError as error:
        raise StorageUnavailable(str(error).partition("\n")[0]) from error


def open_bucket(settings: StorageSettings, staging: Path) -> S3Blobs:
    """The bucket of `s3://bucket/prefix`, with the credentials from settings.

    obstore also reads the `AWS_*` variables by itself; everything settings resolved
    (`*_FILE` secrets, `.env`) is passed explicitly and wins over them."""
    assert settings.url is not None
    bucket, _, prefix = settings.url.removeprefix("s3://").partition("/")
    config: S3Config = {"region": settings.region}
    client: ClientConfig = {}
    if settings.endpoint_url:
        config["endpoint"] = settings.endpoint_url
        client["allow_http"] = settings.endpoint_url.startswith("http://")
    if settings.access_key_id:
        config["access_key_id"] = settings.access_key_id
    if settings.secret_access_key:
        config["secret_access_key"] = settings.secret_access_key
    if settings.session_token:
        config["session_token"] = settings.session_token
    client["connect_timeout"] = timedelta(seconds=5)
    # The client retries failed requests itself; past 30 s a request waiting on the store
    # (a download, a render's upload) gets `StorageUnavailable` instead of hanging minutes.
    retry: RetryConfig = {"max_retries": 5, "retry_timeout": timedelta(seconds=30)}
    store = S3Store(
        bucket, prefix=prefix or None, config=config, client_options=client, retry_config=retry
    )
    return S3Blobs(store, staging)
