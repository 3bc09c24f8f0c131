"""What one request may cost the server: bytes on the wire, pixels to decode, images, concurrent inferences."""

from __future__ import annotations

from dataclasses import dataclass

from vitalens.imaging import MAX_PIXELS


@dataclass(frozen=True)
class ServiceLimits:
    max_upload_bytes: int = 20 * 1024 * 1024  # per image: a 12 MP phone JPEG is 3-8 MB
    max_images: int = 10  # per request: several photos of one person
    max_pixels: int = MAX_PIXELS  # per image, checked from the header before any pixel is decoded
    max_concurrent: int = 2  # inferences at once; the rest wait their turn

    @property
    def max_request_bytes(self) -> int:
        return self.max_images * self.max_upload_bytes + 64 * 1024  # room for the form fields


class RequestTooLarge(Exception):
    pass


class BodySizeLimit:
    """ASGI middleware: refuse a body over `max_bytes` with 413, by its Content-Length before reading
    and by counting while it streams (a chunked upload has no Content-Length).

    Starlette has no request-size limit of its own, hence these few lines.
    """

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._refuse(send)
        seen = 0
        too_large = refused = False

        async def counted_receive():
            nonlocal seen, too_large
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                too_large = True
                raise RequestTooLarge
            return message

        async def guarded_send(message):
            # The framework may turn the interrupted read into its own error response; send the 413 instead.
            nonlocal refused
            if not too_large:
                return await send(message)
            if not refused:
                refused = True
                await self._refuse(send)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except RequestTooLarge:
            if not refused:
                await self._refuse(send)

    async def _refuse(self, send):
        from vitalens.service.errors import error_body

        body = error_body(f"request body is larger than {self.max_bytes:,} bytes; send fewer or smaller photos.")
        await send({"type": "http.response.start", "status": 413, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})
