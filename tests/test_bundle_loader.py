"""The one bundle reader under crafted bundles: one BundleError line each, never a traceback, never a
bundle that loads and then cannot predict; zips are capped and extracted once."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from vitalens.bundle import BUNDLE_FILE, BundleError, file_sha256, load_bundle, shipped_bundle_path
from vitalens.bundle import archive
from vitalens.results import Prediction
from vitalens.runtime import load_predictor, predictor_for
from vitalens.tasks import all_tasks

LIPS = next(name for name, task in all_tasks().items() if task.demonstration)  # the smallest shipped bundle


@pytest.fixture()
def bundle_copy(tmp_path) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(shipped_bundle_path(LIPS), target)
    return target


def _edit(folder: Path, change) -> None:
    manifest = json.loads((folder / BUNDLE_FILE).read_text())
    change(manifest)
    (folder / BUNDLE_FILE).write_text(json.dumps(manifest))


def _rehash(manifest: dict, folder: Path) -> None:
    manifest["model"]["sha256"] = file_sha256(folder / manifest["model"]["file"])


CRAFTED = {
    "not JSON": lambda f: (f / BUNDLE_FILE).write_text("{not json"),
    "a list, not an object": lambda f: (f / BUNDLE_FILE).write_text("[]"),
    "NaN inside": lambda f: (f / BUNDLE_FILE).write_text((f / BUNDLE_FILE).read_text().replace('"coverage": 0.9', '"coverage": NaN')),
    "newer schema": lambda f: _edit(f, lambda m: m.update(schema_version=99)),
    "schema as text": lambda f: _edit(f, lambda m: m.update(schema_version="1")),
    "task not a string": lambda f: _edit(f, lambda m: m.update(task=["x"])),
    "no model stage": lambda f: _edit(f, lambda m: m.pop("model")),
    "model outside the folder": lambda f: _edit(f, lambda m: m["model"].update(file="../model.onnx")),
    "model path absolute": lambda f: _edit(f, lambda m: m["model"].update(file="/etc/passwd")),
    "checksum mismatch": lambda f: _edit(f, lambda m: m["model"].update(sha256="0" * 64)),
    "model not ONNX": lambda f: ((f / "model.onnx").write_bytes(b"not a model"), _edit(f, lambda m: _rehash(m, f))),
    "model missing": lambda f: (f / "model.onnx").unlink(),
}


@pytest.mark.parametrize("how", list(CRAFTED))
def test_a_crafted_bundle_is_one_clear_error(bundle_copy, how):
    CRAFTED[how](bundle_copy)
    with pytest.raises(BundleError) as caught:
        load_predictor(bundle_copy)
    assert "\n" not in str(caught.value) and str(bundle_copy) in str(caught.value)


def test_a_field_of_the_wrong_type_is_a_bundle_error_not_a_traceback(bundle_copy):
    _edit(bundle_copy, lambda m: m.update(uncertainty="wide"))
    with pytest.raises(BundleError, match="wrong type|lacks a field"):
        predictor_for(load_bundle(bundle_copy))


def test_a_loaded_bundle_predicts(bundle_copy):
    predictor = load_predictor(bundle_copy)
    rgb = np.full((64, 64, 3), 128, np.uint8)
    assert isinstance(predictor.predict_image(rgb, "grey.png"), Prediction)


def _zip(folder: Path, archive_path: Path) -> Path:
    with zipfile.ZipFile(archive_path, "w", zipfile.ZIP_DEFLATED) as bundle_zip:
        for file in folder.iterdir():
            bundle_zip.write(file, f"bundle/{file.name}")
    return archive_path


def test_a_zip_is_extracted_once_into_the_cache(bundle_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("VITALENS_CACHE", str(tmp_path / "cache"))
    archive_path = _zip(bundle_copy, tmp_path / "bundle.zip")
    first, second = load_bundle(archive_path), load_bundle(archive_path)
    assert first.path == second.path and first.task == LIPS
    entries = list((tmp_path / "cache" / "bundles").iterdir())
    assert len(entries) == 1 and not any(p.name.startswith(".partial") for p in entries)


def test_zip_bombs_and_unsafe_zips_are_refused_before_extraction(tmp_path, monkeypatch):
    monkeypatch.setenv("VITALENS_CACHE", str(tmp_path / "cache"))
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as bundle_zip:
        bundle_zip.writestr("bundle/model.onnx", b"\0" * (archive.MAX_UNCOMPRESSED_BYTES // 64))
    with pytest.raises(BundleError, match="zip bomb"):
        load_bundle(bomb)
    unsafe = tmp_path / "unsafe.zip"
    with zipfile.ZipFile(unsafe, "w") as bundle_zip:
        bundle_zip.writestr("../evil.json", "{}")
    with pytest.raises(BundleError, match="unsafe path"):
        load_bundle(unsafe)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(BundleError, match="not a readable zip"):
        load_bundle(broken)
    assert not (tmp_path / "cache" / "bundles").exists() or not any((tmp_path / "cache" / "bundles").iterdir())
