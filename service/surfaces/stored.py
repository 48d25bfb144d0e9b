"""Responses carrying stored bytes (videos, thumbnails, input images), wherever they live.

A file on this machine is sent as is (Starlette's `FileResponse` answers `Range` requests).
An object in a bucket is streamed through this process, answering `Range` requests the same
way (`service.surfaces.byte_ranges`; plain-text 400 and 416 as Starlette's), or, with
`VIDGATE_CONTENT_REDIRECT=true`, the client is sent to a short-lived presigned URL of the
bucket, so the bytes never pass through the gateway.
"""

from __future__ import annotations

from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)

from service.runtime import Runtime
from service.storage.blobs import BlobInfo
from service.surfaces.byte_ranges import MalformedRange, RangeNotSatisfiable, requested_range


async def stored_response(
    request: Request,
    rt: Runtime,
    key: str,
    media_type: str,
    filename: str | None = None,
    *,
    redirect: bool = True,
    disposition: str = "attachment",
) -> Response | None:
    """The object at `key`, or None when it is not stored (the surface says so its way).
    `redirect=False`: always through this process, even when redirects are on;
    `disposition="inline"`: a browser shows it rather than saving it."""
    found = await run_in_threadpool(_locate, rt, key)
    if found is None:
        return None
    if isinstance(found, Path):
        return FileResponse(
            found, media_type=media_type, filename=filename, content_disposition_type=disposition
        )
    storage = rt.settings.storage
    if redirect and storage.content_redirect:
        url = await rt.storage.blobs.presigned_url(key, storage.redirect_ttl)
        if url is not None:
            return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})
    return _streamed(request, rt, key, found, media_type, filename, disposition)


def _locate(rt: Runtime, key: str) -> Path | BlobInfo | None:
    """The local file of the object, else what the store knows of it (None: no such key)."""
    blobs = rt.storage.blobs
    return blobs.local_file(key) or blobs.info(key)


def _streamed(
    request: Request,
    rt: Runtime,
    key: str,
    info: BlobInfo,
    media_type: str,
    filename: str | None,
    disposition: str,
) -> Response:
    headers = {"Accept-Ranges": "bytes"}
    if info.etag:
        headers["ETag"] = info.etag
    if filename:
        headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    try:
        ranged = requested_range(_range_header(request, info), info.size)
    except MalformedRange as error:
        return PlainTextResponse(str(error), status_code=400)
    except RangeNotSatisfiable:
        return PlainTextResponse("", 416, headers={"Content-Range": f"bytes */{info.size}"})
    start, end = ranged or (0, info.size)
    headers["Content-Length"] = str(end - start)
    if ranged is not None:
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{info.size}"
    status = 206 if ranged is not None else 200
    if request.method == "HEAD":  # the headers only: no read of the object
        return Response(b"", status_code=status, headers=headers, media_type=media_type)
    chunks = rt.storage.blobs.chunks(key, start, end if ranged else None)
    return StreamingResponse(chunks, status_code=status, headers=headers, media_type=media_type)


def _range_header(request: Request, info: BlobInfo) -> str | None:
    """The `Range` asked for, unless `If-Range` names another version than the stored one
    (the client's first part came from a file since replaced): then the whole file."""
    if_range = request.headers.get("if-range")
    if if_range is not None and if_range != info.etag:
        return None
    return request.headers.get("range")
