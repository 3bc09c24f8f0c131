"""The API docs, served from npm packages beside vitalens (never a CDN) and with no external fonts, so they
render offline: Swagger UI at /docs (try the operations) and ReDoc at /redoc (read the schemas); and each
served model's card at /cards/<task>, rendered from its MODEL_CARD.md (markdown-it-py, installed with rich)."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Callable, Mapping

from fastapi import FastAPI, HTTPException
from markdown_it import MarkdownIt
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from vitalens.bundle import Bundle
from vitalens.evaluation.report_html import inline_images
from vitalens.service.app_files import REDOC_FILES, SWAGGER_UI_FILES, redoc_dir, swagger_ui_dir

ASSETS = "/vendor/swagger-ui"
REDOC_ASSETS = "/vendor/redoc"


def mount_docs(app: FastAPI) -> None:
    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        if swagger_ui_dir() is None:
            return HTMLResponse("<!doctype html><title>vitalens API</title><p>Swagger UI is not installed next to this vitalens "
                                "(run <code>npm ci</code> in the repository, or <code>make app</code>); the API is described "
                                "in <a href=\"/openapi.json\">/openapi.json</a>.</p>")  # fmt: skip
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} API", swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{ASSETS}/swagger-ui.css", swagger_favicon_url="/icon-192.png")  # fmt: skip

    _serve_files(app, ASSETS, SWAGGER_UI_FILES, swagger_ui_dir, "the API docs' Swagger UI files")

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        if redoc_dir() is None:
            return HTMLResponse("<!doctype html><title>vitalens API</title><p>ReDoc is not installed next to this vitalens (run "
                                "<code>npm ci</code> or <code>make app</code>); see <a href=\"/docs\">/docs</a>.</p>")  # fmt: skip
        # ReDoc 2.x: 3.x sends telemetry to redocly.com and loads its logo from a CDN, so it cannot render offline.
        return get_redoc_html(openapi_url=app.openapi_url, title=f"{app.title} API", redoc_js_url=f"{REDOC_ASSETS}/redoc.standalone.js",
                              redoc_favicon_url="/icon-192.png", with_google_fonts=False)  # fmt: skip
    _serve_files(app, REDOC_ASSETS, REDOC_FILES, redoc_dir, "ReDoc's files")


def _serve_files(app: FastAPI, prefix: str, files: tuple[str, ...], folder_of: Callable[[], Path | None], what: str) -> None:
    """GET prefix/<name> for the named files of an npm package beside vitalens, and nothing else (404)."""

    @app.get(f"{prefix}/{{name}}", include_in_schema=False)
    def asset(name: str) -> FileResponse:
        folder = folder_of()
        if name not in files or folder is None:
            raise HTTPException(404, f"{name}: not one of {what} here")
        return FileResponse(folder / name)


_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)


def mount_cards(app: FastAPI, bundles: Mapping[str, Bundle]) -> None:
    """GET /cards/<task>: the served bundle's model card as a page, its YAML header folded away."""

    @app.get("/cards/{task}", include_in_schema=False)
    def card(task: str) -> HTMLResponse:
        if task not in bundles:
            raise HTTPException(404, f"no model card for {task!r}; served: {', '.join(sorted(bundles))}")
        text = bundles[task].card()
        header = _FRONT_MATTER.match(text)
        body = MarkdownIt("commonmark", {"html": False}).enable("table").render(text[header.end():] if header else text)
        body = inline_images(body, bundles[task].path)  # a card's pictures (the Hb scale) sit beside it in the bundle
        metadata = f"<details><summary>card metadata (YAML)</summary><pre>{html.escape(header.group(1))}</pre></details>" if header else ""
        return HTMLResponse(f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">'
                            f'<title>{html.escape(task)} model card</title><link rel="stylesheet" href="/style.css"></head>'
                            f'<body class="card"><p><a href="/">← the app</a></p>{metadata}{body}</body></html>')  # fmt: skip
