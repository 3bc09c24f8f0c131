"""Where the browser app's static files come from: the app shell and bundles inside the package, and
onnxruntime-web's browser build (from npm, never a CDN)."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import vitalens

ORT_WEB_ENV = "VITALENS_ORT_WEB_DIR"
# The wasm-only build (no WebGPU/WebGL): the ES module, its loader and the SIMD wasm binary.
ORT_WEB_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")


def package_dir(name: str) -> Path:
    return Path(str(resources.files("vitalens") / name))


def ort_web_dir() -> Path | None:
    """onnxruntime-web's dist folder: $VITALENS_ORT_WEB_DIR, a copy inside the package
    (`webapp/vendor/onnxruntime-web`, made by `make app`), or the repository's node_modules (`npm ci`)."""
    repo = Path(vitalens.__file__).resolve().parents[2]
    candidates = [
        os.environ.get(ORT_WEB_ENV),
        package_dir("webapp") / "vendor" / "onnxruntime-web",
        repo / "node_modules" / "onnxruntime-web" / "dist",
        Path.cwd() / "node_modules" / "onnxruntime-web" / "dist",
    ]
    for candidate in candidates:
        if candidate and all((Path(candidate) / f).is_file() for f in ORT_WEB_FILES):
            return Path(candidate)
    return None
