"""Security headers on every response: the app may load only its own files (and compile onnxruntime-web's
wasm), may not be framed, and sends no referrer; the browser must not second-guess content types."""

from __future__ import annotations

# 'wasm-unsafe-eval' lets onnxruntime-web compile its WebAssembly; blob: and data: are the canvases'
# and onnxruntime-web's worker-free loading. Nothing is allowed from any other origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' blob: data:; connect-src 'self' blob: data:; worker-src 'self' blob:; media-src 'self' blob: mediastream:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
# /docs (Swagger UI) starts with an inline script and inline styles; /redoc (ReDoc) adds styles and a search
# worker from a blob:. Both come from the package's own files. ReDoc's sidebar asks for its logo from
# cdn.redoc.ly: img-src 'self' data: blocks that, so the page stays offline (the browser test counts requests).
DOCS_PATHS = ("/docs", "/redoc")
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)


class SecurityHeaders:
    """ASGI middleware adding SECURITY_HEADERS to every HTTP response (errors included)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        headers = SECURITY_HEADERS
        if scope.get("path", "").startswith(DOCS_PATHS):
            headers = ((b"content-security-policy", DOCS_CONTENT_SECURITY_POLICY.encode()), *SECURITY_HEADERS[1:])

        async def with_headers(message):
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                message = {**message, "headers": [*message.get("headers", []), *(h for h in headers if h[0] not in names)]}
            await send(message)

        await self.app(scope, receive, with_headers)
