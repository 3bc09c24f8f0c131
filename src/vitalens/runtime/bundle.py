"""Bundle loading with its safety checks: schema version, checksum, files present."""

from __future__ import annotations

import hashlib
import json
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import onnxruntime as ort

from vitalens import DISCLAIMER, __version__

SCHEMA_VERSION = 1
BUNDLE_FILE = "bundle.json"


class BundleError(ValueError):
    """A bundle that cannot be used safely; the message says which file and what to do."""


@dataclass
class Bundle:
    path: Path
    manifest: dict[str, Any]

    @property
    def task(self) -> str:
        return self.manifest["task"]

    def session(self, stage: str = "model") -> ort.InferenceSession:
        if not hasattr(self, "_sessions"):
            self._sessions: dict[str, ort.InferenceSession] = {}
        if stage not in self._sessions:
            options = ort.SessionOptions()
            options.log_severity_level = 3
            self._sessions[stage] = ort.InferenceSession(str(self.path / self.manifest[stage]["file"]), options, providers=["CPUExecutionProvider"])
        return self._sessions[stage]

    def card(self) -> str:
        card = self.path / "MODEL_CARD.md"
        return card.read_text() if card.is_file() else ""


def manifest_header(task: str) -> dict[str, Any]:
    """The fields every bundle.json starts with, whatever its task."""
    return {
        "schema_version": SCHEMA_VERSION,
        "task": task,
        "vitalens_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "disclaimer": DISCLAIMER,
    }


MAX_BUNDLED_MB = 20  # the heaviest model file a shipped bundle may hold: the browser app downloads it and git keeps every version


def refuse_oversized(path: Path) -> None:
    """Delete and refuse a model file over MAX_BUNDLED_MB (called by the exporters before a bundle is written)."""
    megabytes = Path(path).stat().st_size / 1e6
    if megabytes > MAX_BUNDLED_MB:
        Path(path).unlink()
        raise ValueError(f"{path}: {megabytes:.1f} MB is over the {MAX_BUNDLED_MB} MB a shipped bundle may weigh; use a smaller backbone.")


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def shipped_bundle_path(task: str) -> Path:
    return Path(str(resources.files("vitalens") / "bundles" / task))


def load_bundle(path: str | Path) -> Bundle:
    """A bundle folder or .zip; refuses newer schemas and files whose checksum does not match."""
    path = Path(path)
    if path.is_file() and path.suffix == ".zip":
        path = _unzip(path)
    manifest_path = path / BUNDLE_FILE
    if not manifest_path.is_file():
        raise BundleError(f"{path}: not a vitalens bundle (no {BUNDLE_FILE}); pass a folder made by `vitalens export`.")
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as error:
        raise BundleError(f"{manifest_path}: not valid JSON ({error}); re-export the bundle.") from None
    version = manifest.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise BundleError(
            f"{manifest_path}: schema_version {version!r} is newer than this vitalens reads ({SCHEMA_VERSION}); upgrade vitalens."
        )
    for stage in _stages(manifest):
        _verify_file(path, manifest[stage])
    return Bundle(path, manifest)


def _stages(manifest: dict[str, Any]) -> list[str]:
    return [key for key in ("model", "detector") if key in manifest]


def _verify_file(root: Path, entry: dict[str, Any]) -> None:
    file = root / entry["file"]
    if not file.is_file():
        raise BundleError(f"{file}: listed in {BUNDLE_FILE} but missing; the bundle is incomplete.")
    digest = file_sha256(file)
    if digest != entry.get("sha256"):
        raise BundleError(f"{file}: checksum mismatch (expected {entry.get('sha256')}, found {digest}); the file was altered or corrupted — re-export or re-download the bundle.")


def _unzip(archive: Path) -> Path:
    target = Path(tempfile.mkdtemp(prefix="vitalens-bundle-"))
    with zipfile.ZipFile(archive) as bundle_zip:
        for member in bundle_zip.namelist():
            if member.startswith("/") or ".." in Path(member).parts:
                raise BundleError(f"{archive}: unsafe path {member!r} inside the zip")
        bundle_zip.extractall(target)
    nested = [p for p in target.iterdir() if p.is_dir()]
    return nested[0] if not (target / BUNDLE_FILE).exists() and len(nested) == 1 else target
