"""The bundle format: one writer and one reader for every task.

A bundle is a folder (or a .zip of one) holding `bundle.json`, one ONNX file per stage and
`MODEL_CARD.md`. A stage is any top-level entry of bundle.json with a `file` and its `sha256`
(`model`, and e.g. `detector` or `compat`); the reader checks every stage, the writer sizes and
checksums every stage, so no task writes bundle.json by hand.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any, Callable

import onnxruntime as ort

from vitalens import DISCLAIMER, __version__

SCHEMA_VERSION = 1
BUNDLE_FILE = "bundle.json"
CARD_FILE = "MODEL_CARD.md"


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

    def stages(self) -> list[str]:
        return stage_names(self.manifest)

    def files(self) -> list[str]:
        """bundle.json and every stage's file, relative to the bundle folder (what the browser fetches)."""
        return [BUNDLE_FILE, *(self.manifest[stage]["file"] for stage in self.stages())]

    def card(self) -> str:
        card = self.path / CARD_FILE
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


def refuse_oversized(path: Path, limit_mb: float = MAX_BUNDLED_MB) -> None:
    """Delete and refuse a model file over `limit_mb` (the writer calls it for every stage)."""
    megabytes = Path(path).stat().st_size / 1e6
    if megabytes > limit_mb:
        Path(path).unlink()
        raise ValueError(f"{path}: {megabytes:.1f} MB is over the {limit_mb} MB a shipped bundle may weigh; use a smaller backbone.")


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
    return stage_names(manifest)


def stage_names(manifest: dict[str, Any]) -> list[str]:
    """The manifest's stages: every entry naming a file and its checksum."""
    return [key for key, value in manifest.items() if isinstance(value, dict) and "file" in value and "sha256" in value]


def write_bundle(out_dir: Path, task: str, stages: dict[str, tuple[Path, dict[str, Any]]], fields: dict[str, Any],
                 card: Callable[[dict[str, Any]], str], size_limit_mb: float | None = MAX_BUNDLED_MB) -> Path:
    """The one bundle writer: copy each stage's ONNX file into `out_dir` (unless already there), refuse a
    file over `size_limit_mb`, record its sha256, then write bundle.json (header, `fields`, stages) and
    MODEL_CARD.md (`card(manifest)`)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {**manifest_header(task), **fields}
    for stage, (source, stage_fields) in stages.items():
        target = out_dir / Path(source).name
        if Path(source).resolve() != target.resolve():
            shutil.copyfile(source, target)
        if size_limit_mb is not None:
            refuse_oversized(target, size_limit_mb)
        manifest[stage] = {"file": target.name, "sha256": file_sha256(target), **stage_fields}
    (out_dir / BUNDLE_FILE).write_text(json.dumps(manifest, indent=2))
    (out_dir / CARD_FILE).write_text(card(manifest))
    return out_dir


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
