"""Where the browser app's static files come from: the app shell and bundles inside the package, and the
npm packages it serves itself (never a CDN): onnxruntime-web's browser build, Swagger UI for /docs and
ReDoc's standalone bundle for /redoc."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import vitalens

ORT_WEB_ENV = "VITALENS_ORT_WEB_DIR"
# The wasm-only build (no WebGPU/WebGL): the ES module, its loader and the SIMD wasm binary.
ORT_WEB_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
SWAGGER_UI_FILES = ("swagger-ui-bundle.js", "swagger-ui.css")
REDOC_FILES = ("redoc.standalone.js",)


def package_dir(name: str) -> Path:
    return Path(str(resources.files("vitalens") / name))


def _vendor_dir(vendored: str, npm_folder: str, files: tuple[str, ...], env: str | None = None) -> Path | None:
    """An npm package's files: $env, a copy inside the package (`webapp/vendor/<vendored>`, made by
    `make app`), or the repository's node_modules (`npm ci`)."""
    repo = Path(vitalens.__file__).resolve().parents[2]
    candidates = [
        os.environ.get(env) if env else None,
        package_dir("webapp") / "vendor" / vendored,
        repo / "node_modules" / npm_folder,
        Path.cwd() / "node_modules" / npm_folder,
    ]
    for candidate in candidates:
        if candidate and all((Path(candidate) / f).is_file() for f in files):
            return Path(candidate)
    return None


def ort_web_dir() -> Path | None:
    return _vendor_dir("onnxruntime-web", "onnxruntime-web/dist", ORT_WEB_FILES, ORT_WEB_ENV)


def swagger_ui_dir() -> Path | None:
    return _vendor_dir("swagger-ui", "swagger-ui-dist", SWAGGER_UI_FILES)


def redoc_dir() -> Path | None:
    return _vendor_dir("redoc", "redoc/bundles", REDOC_FILES)
