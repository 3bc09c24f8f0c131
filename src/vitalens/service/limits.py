"""What one request may cost the server: bytes on the wire, pixels to decode, images, concurrent inferences."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from vitalens.imaging import MAX_PIXELS


@dataclass(frozen=True)
class ServiceLimits:
    max_upload_bytes: int = 20 * 1024 * 1024  # per image: a 12 MP phone JPEG is 3-8 MB
    max_images: int = 10  # per request: several photos of one person
    max_pixels: int = MAX_PIXELS  # per image, checked from the header before any pixel is decoded
    max_concurrent: int = 2  # inferences at once; the rest wait their turn
    body_timeout_s: float = 60.0  # the whole body must arrive within this: a withheld body is cut off with 408
    keep_alive_timeout_s: float = 10.0  # a connection idle, or without complete request headers, this long is closed
    max_connections: int = 64  # connections at once; more get 503 (uvicorn's limit_concurrency)

    @property
    def max_request_bytes(self) -> int:
        return self.max_images * self.max_upload_bytes + 64 * 1024  # room for the form fields


class RequestTooLarge(Exception):
    pass


class BodyTooSlow(Exception):
    pass


class BodySizeLimit:
    """ASGI middleware: refuse a body over `max_bytes` with 413, by its Content-Length before reading
    and by counting while it streams (a chunked upload has no Content-Length).

    Starlette has no request-size limit of its own, hence these few lines.
    """

    def __init__(self, app, max_bytes: int, body_timeout_s: float = 60.0):
        self.app = app
        self.max_bytes = max_bytes
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._refuse(send)
        seen = 0
        failure: tuple[int, str] | None = None  # (status, detail) once the body is too large or too slow
        refused = False
        deadline = time.monotonic() + self.body_timeout_s

        async def counted_receive():
            nonlocal seen, failure
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                failure = (408, f"the request body did not arrive within {self.body_timeout_s:.0f} s; send it again.")
                raise BodyTooSlow from None
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                failure = (413, "")
                raise RequestTooLarge
            return message

        async def guarded_send(message):
            # The framework may turn the interrupted read into its own error response; send ours instead.
            nonlocal refused
            if failure is None:
                return await send(message)
            if not refused:
                refused = True
                await self._refuse(send, *failure)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except (RequestTooLarge, BodyTooSlow):
            if not refused:
                await self._refuse(send, *failure)

    async def _refuse(self, send, status: int = 413, detail: str = ""):
        from vitalens.service.errors import error_body

        body = error_body(detail or f"request body is larger than {self.max_bytes:,} bytes; send fewer or smaller photos.")
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})
