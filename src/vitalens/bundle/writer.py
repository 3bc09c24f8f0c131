"""The one bundle writer: every task's export ends here."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Callable

from vitalens.bundle.format import BUNDLE_FILE, CARD_FILE, MAX_BUNDLED_MB, file_sha256, manifest_header


def refuse_oversized(path: Path, limit_mb: float = MAX_BUNDLED_MB) -> None:
    """Delete and refuse a model file over `limit_mb` (the writer calls it for every stage)."""
    megabytes = Path(path).stat().st_size / 1e6
    if megabytes > limit_mb:
        Path(path).unlink()
        raise ValueError(f"{path}: {megabytes:.1f} MB is over the {limit_mb} MB a shipped bundle may weigh; use a smaller backbone.")


def write_bundle(out_dir: Path, task: str, stages: dict[str, tuple[Path, dict[str, Any]]], fields: dict[str, Any],
                 card: Callable[[dict[str, Any]], str], size_limit_mb: float | None = MAX_BUNDLED_MB) -> Path:  # fmt: skip
    """Copy each stage's ONNX file into `out_dir` (unless already there), refuse a file over
    `size_limit_mb`, record its sha256, then write bundle.json (header, `fields`, stages) and
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
    (out_dir / BUNDLE_FILE).write_text(json.dumps(manifest, indent=2, allow_nan=False))
    (out_dir / CARD_FILE).write_text(card(manifest))
    return out_dir


def update_bundle(bundle_dir: Path, stages: dict[str, tuple[Path, dict[str, Any]]], fields: dict[str, Any],
                  card: Callable[[str, dict[str, Any]], str] | None = None) -> Path:  # fmt: skip
    """Add or replace stages and fields of an existing bundle, keeping everything else (a gate fitted after
    export, on other data than the model's): each new stage's file is copied and hashed as write_bundle does;
    `card(old_card, manifest)` gives the new MODEL_CARD.md."""
    bundle_dir = Path(bundle_dir)
    manifest = json.loads((bundle_dir / BUNDLE_FILE).read_text())
    manifest.update(fields)
    for stage, (source, stage_fields) in stages.items():
        target = bundle_dir / Path(source).name
        if Path(source).resolve() != target.resolve():
            shutil.copyfile(source, target)
        manifest[stage] = {"file": target.name, "sha256": file_sha256(target), **stage_fields}
    (bundle_dir / BUNDLE_FILE).write_text(json.dumps(manifest, indent=2, allow_nan=False) + "\n")
    if card is not None:
        (bundle_dir / CARD_FILE).write_text(card((bundle_dir / CARD_FILE).read_text(), manifest))
    return bundle_dir
