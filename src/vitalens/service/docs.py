"""The API docs at /docs, with Swagger UI served from the npm package beside vitalens (never a CDN) and
no external fonts, so they render offline. ReDoc is not served: its npm package would bring a large
dependency tree for a second view of the same OpenAPI document."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from vitalens.service.app_files import SWAGGER_UI_FILES, swagger_ui_dir

ASSETS = "/vendor/swagger-ui"


def mount_docs(app: FastAPI) -> None:
    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        if swagger_ui_dir() is None:
            return HTMLResponse("<!doctype html><title>vitalens API</title><p>Swagger UI is not installed next to this vitalens "
                                "(run <code>npm ci</code> in the repository, or <code>make app</code>); the API is described "
                                "in <a href=\"/openapi.json\">/openapi.json</a>.</p>")  # fmt: skip
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} API", swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{ASSETS}/swagger-ui.css", swagger_favicon_url="/icon-192.png")  # fmt: skip

    @app.get(f"{ASSETS}/{{name}}", include_in_schema=False)
    def swagger_asset(name: str) -> FileResponse:
        folder = swagger_ui_dir()
        if name not in SWAGGER_UI_FILES or folder is None:
            raise HTTPException(404, f"{name}: not one of the API docs' Swagger UI files here")
        return FileResponse(folder / name)
