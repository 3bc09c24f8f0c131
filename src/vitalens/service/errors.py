"""Every error the API returns is JSON with a plain-language `detail` and the disclaimer."""

from __future__ import annotations

import json

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from vitalens import DISCLAIMER


class RequestRejected(Exception):
    """A request the service will not process: the HTTP status and a message naming the file or field and the fix."""

    def __init__(self, status_code: int, detail: str):
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


def error_body(detail, **extra) -> bytes:
    return json.dumps({"detail": detail, **extra, "disclaimer": DISCLAIMER}).encode()


def _response(status_code: int, detail, **extra) -> JSONResponse:
    return JSONResponse({"detail": detail, **extra, "disclaimer": DISCLAIMER}, status_code=status_code)


def _field_message(error: dict) -> str:
    where = ".".join(str(part) for part in error.get("loc", ())[1:]) or "request"
    if error.get("type") == "missing":
        hint = " (attach at least one photo as multipart field 'image')" if where == "image" else ""
        return f"missing field '{where}'{hint}"
    return f"field '{where}': {error.get('msg', 'invalid value')}"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestRejected)
    async def request_rejected(_request: Request, error: RequestRejected):
        return _response(error.status_code, error.detail)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, error: HTTPException):
        return _response(error.status_code, error.detail)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, error: Exception):
        # A bug, not the request's fault: the documented JSON still, without internals.
        return _response(500, f"internal error ({type(error).__name__}); the request was not processed. Please report it.")

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError):
        errors = error.errors()
        message = "; ".join(_field_message(e) for e in errors)
        return _response(422, message, errors=[{k: e.get(k) for k in ("loc", "msg", "type")} for e in errors])
