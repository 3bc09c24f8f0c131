"""The one bundle reader: every check runs when the bundle is loaded, so a bundle that loads can predict.

Checked: a readable manifest of the right types (no NaN or Infinity anywhere), a schema this vitalens
reads, every stage's file inside the bundle folder, present, with its checksum, and opening in
onnxruntime. Every failure is one BundleError line naming the file and what to do.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any

from vitalens.bundle.archive import extract_bundle_zip
from vitalens.bundle.format import BUNDLE_FILE, SCHEMA_VERSION, Bundle, BundleError, file_sha256, stage_names


def load_bundle(path: str | Path) -> Bundle:
    """A bundle folder or .zip, validated and with every stage's session open."""
    path = Path(path)
    if path.is_file() and path.suffix == ".zip":
        path = extract_bundle_zip(path)
    manifest_path = path / BUNDLE_FILE
    if not manifest_path.is_file():
        raise BundleError(f"{path}: not a vitalens bundle (no {BUNDLE_FILE}); pass a folder made by `vitalens export`.")
    manifest = _read_manifest(manifest_path)
    bundle = Bundle(path, manifest)
    for stage in stage_names(manifest):
        _verify_stage(bundle, stage)
    return bundle


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a bundle may hold")


def _read_manifest(manifest_path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(manifest_path.read_text(), parse_constant=_reject_constant)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as error:
        raise BundleError(f"{manifest_path}: not valid JSON ({error}); re-export the bundle.") from None
    if not isinstance(manifest, dict):
        raise BundleError(f"{manifest_path}: must hold a JSON object; re-export the bundle.")
    version = manifest.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version > SCHEMA_VERSION or version < 1:
        raise BundleError(f"{manifest_path}: schema_version {version!r} is not one this vitalens reads ({SCHEMA_VERSION}); upgrade vitalens or re-export.")
    if not isinstance(manifest.get("task"), str):
        raise BundleError(f"{manifest_path}: 'task' must be a task name; re-export the bundle.")
    if "model" not in stage_names(manifest):
        raise BundleError(f"{manifest_path}: no 'model' stage with a file and its sha256; re-export the bundle.")
    return manifest


def _verify_stage(bundle: Bundle, stage: str) -> None:
    entry = bundle.manifest[stage]
    name = entry["file"]
    if not isinstance(name, str) or not isinstance(entry["sha256"], str) or PurePosixPath(name).name != name or name in ("", ".", ".."):
        raise BundleError(f"{bundle.path / BUNDLE_FILE}: stage {stage!r} must name a file inside the bundle folder (got {name!r}).")
    file = bundle.path / name
    if not file.is_file():
        raise BundleError(f"{file}: listed in {BUNDLE_FILE} but missing; the bundle is incomplete.")
    digest = file_sha256(file)
    if digest != entry["sha256"]:
        raise BundleError(f"{file}: checksum mismatch (expected {entry['sha256']}, found {digest}); the file was altered or corrupted — re-export or re-download the bundle.")
    try:
        bundle.session(stage)
    except Exception as error:  # noqa: BLE001 - onnxruntime raises its own exception types for a bad graph
        raise BundleError(f"{file}: not a model onnxruntime can run ({type(error).__name__}: {str(error).splitlines()[0][:200]}); re-export the bundle.") from None
