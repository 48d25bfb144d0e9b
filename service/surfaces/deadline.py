"""A request's body must arrive within a deadline of its headers, else 408."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.surfaces.errors import ApiError


def body_too_slow(seconds: float) -> ApiError:
    return ApiError(
        408,
        f"the request body did not arrive within {seconds:g} s",
        code="request_timeout",
        param="body",
        headers={"Connection": "close"},  # the rest of the body may still be on its way
    )


class BodyDeadline:
    """ASGI middleware: a body still arriving `seconds` after the request started is refused.

    Each surface's body reader raises the 408 (`ApiError`) where it awaits the next chunk,
    so the answer has that surface's error shape. Once the body is complete, `receive` is
    left alone: a request waiting on a job listens on it for the client's disconnect.
    """

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app, self.seconds = app, seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline, complete = loop.time() + self.seconds, False

        async def timed_receive() -> Message:
            nonlocal complete
            if complete:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise body_too_slow(self.seconds) from None
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await self.app(scope, timed_receive, send)
