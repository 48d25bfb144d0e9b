"""A plain image host on 127.0.0.1: serves one PNG at any path and counts the fetches.

For tests where an image URL must really be fetched (by vidgate or by an emulator), as a
client's own web server or CDN would serve it.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image


def png(width: int = 64, height: int = 36) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (40, 120, 200)).save(out, format="PNG")
    return out.getvalue()


class ImageHost:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.fetched: list[str] = []  # the paths asked for, in order

    def url(self, name: str = "picture.png") -> str:
        return f"{self.base_url}/{name}"


@contextmanager
def image_host(image: bytes | None = None) -> Iterator[ImageHost]:
    """Serve `image` (a small PNG by default) until the block ends."""
    body = image or png()
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    host = ImageHost(f"http://127.0.0.1:{server.server_address[1]}")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            host.fetched.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the test says what matters

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield host
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
