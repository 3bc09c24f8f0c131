"""hb-lips: train → export → load → the same numbers as the fitted scikit-learn pipeline; refusals; the
shipped bundle through `vitalens predict` without torch. Training data here are SYNTHETIC lip patches;
the real lips starter set is used when ../shared is present (its photos are not redistributable)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import cv2
import joblib
import numpy as np
import pytest
from PIL import Image

from vitalens import runs
from vitalens.tasks._haemoglobin.config import load_config
from vitalens.tasks.hb_lips.data import load_lips
from vitalens.data.shared import find_shared_dataset
from vitalens.evaluation.metrics import regression_metrics
from vitalens.tasks.hb_nails.export import export_bundle
from vitalens.imaging import decode_image
from vitalens.tasks.hb_lips.lip_colour import measure_lips
from vitalens.tasks.hb_lips.training import lip_feature_table, lopo_predictions, make_lip_model
from vitalens.runtime import load_predictor
from vitalens.bundle import load_bundle, shipped_bundle_path
from vitalens.tasks.hb_lips.runtime import LipHbPredictor
from vitalens.tasks.hb_lips.synthetic import make_synthetic_lips

REPO = Path(__file__).resolve().parents[1]
SIDE = 192


def _synthetic_lip_photos(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """SYNTHETIC lip patches, upscaled, named like the seed's labelled photos (two per person)."""
    lips = make_synthetic_lips(n, {"light": 1.0, "medium": 1.0}, seed=seed)
    paths = []
    for i, (image, hb) in enumerate(zip(lips.images, lips.hb)):
        path = folder / f"HgB_{hb:.1f}gdl_Individual{i // 2:02d}_{i % 2 + 1}.png"
        Image.fromarray(cv2.resize(image, (SIDE, SIDE), interpolation=cv2.INTER_LINEAR)).save(path)
        paths.append(path)
    return paths


def _starter_images() -> Path | None:
    return find_shared_dataset("lips-starter/images")


@pytest.fixture(scope="module")
def synthetic_lips_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("synthetic_lips")
    _synthetic_lip_photos(folder, 16)
    return folder


@pytest.fixture(scope="module")
def lip_run(synthetic_lips_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("lips_run")
    config = load_config(task="hb-lips", data=str(synthetic_lips_dir), n_boot=50, experiments_dir=str(work), run_name="lips")
    run_dir, report = runs.train(config, show_progress=False)
    return run_dir, report, export_bundle(run_dir, work / "bundle")


def test_lips_run_reports_model_beside_the_mean_predictor(lip_run):
    run_dir, report, _ = lip_run
    for name in ("report.json", "report.md", "predictions.csv", "metrics.csv", "model.joblib", "figures/lip_boxes_contact_sheet.png"):
        assert (run_dir / name).is_file(), name
    assert report["validation"].startswith("leave-one-person-out (8 persons")
    assert report["data"]["skipped"] == 0 and report["data"]["images"] == 16
    assert report["model"]["mae"] < report["mean_predictor"]["mae"]  # SYNTHETIC lips: redness carries Hb by construction
    assert 0 < report["permutation_test"]["p_value"] <= 1
    with open(run_dir / "predictions.csv") as handle:
        rows = list(csv.DictReader(handle))
    held_out = {}
    for row in rows:
        held_out.setdefault(row["fold"], set()).add(row["group"])
    assert all(len(groups) == 1 for groups in held_out.values())  # one person per fold


def test_lip_bundle_round_trip_equals_the_fitted_pipeline(lip_run, synthetic_lips_dir):
    run_dir, report, bundle_dir = lip_run
    bundle = load_bundle(bundle_dir)
    manifest = bundle.manifest
    assert manifest["task"] == "hb-lips" and manifest["uncertainty"]["half_width"] > 0
    assert manifest["validation"]["model"]["mae"] == pytest.approx(report["model"]["mae"])
    assert (bundle_dir / "MODEL_CARD.md").read_text().startswith("---\nlicense:")
    saved = joblib.load(run_dir / "model.joblib")
    predictor = LipHbPredictor(bundle)
    for path in sorted(synthetic_lips_dir.iterdir()):
        rgb = decode_image(path).rgb
        row = predictor.predict(rgb, path.stem)
        expected = float(saved["model"].predict(measure_lips(rgb).select(saved["features"])[None])[0])
        assert row["status"] == "ok" and row["predicted_hgb"] == pytest.approx(expected, abs=2e-3)
        assert row["interval_low"] <= row["predicted_hgb"] <= row["interval_high"]


def test_refuses_a_photo_without_lips(lip_run):
    predictor = LipHbPredictor(load_bundle(lip_run[2]))
    row = predictor.predict(np.full((120, 160, 3), 128, np.uint8), "grey")
    assert list(row)[:2] == ["image_id", "predicted_hgb"]
    assert row["status"] == "refused" and row["predicted_hgb"] == "" and row["who_severity"] == ""
    assert "no lips found" in row["message"]


def test_too_few_people_is_a_clear_error(tmp_path):
    _synthetic_lip_photos(tmp_path, 4)  # two people
    config = load_config(task="hb-lips", data=str(tmp_path), experiments_dir=str(tmp_path / "runs"), run_name="few")
    with pytest.raises(ValueError, match="at least 3 people"):
        runs.evaluate(config)


def test_the_lips_task_serves_the_shipped_bundle():
    predictor = load_predictor(task="hb-lips")
    assert isinstance(predictor, LipHbPredictor)
    assert "mean" in predictor.caveat and str(round(predictor.bundle.manifest["validation"]["mean_predictor"]["mae"], 2)) in predictor.caveat


def test_shipped_bundle_matches_a_fresh_fit_on_the_starter_set():
    """The shipped weights and validation numbers are what the training code gives on the real photos today."""
    folder = _starter_images()
    if folder is None:
        pytest.skip("../shared/data/lips-starter not present (set VITALENS_SHARED_DATA to use it)")
    table, problems = lip_feature_table(load_lips(folder))
    manifest = json.loads((shipped_bundle_path("hb-lips") / "bundle.json").read_text())
    columns = manifest["inputs"]["features"]["names"]
    assert len(table) == manifest["training_data"]["images"] and len(problems) == manifest["training_data"]["skipped"]
    fresh = make_lip_model().fit(table[columns], table["hb_true"])
    shipped = load_predictor(task="hb-lips").predict_features(table[columns].to_numpy())
    assert np.allclose(shipped, fresh.predict(table[columns]), atol=1e-3)
    lopo = regression_metrics(table["hb_true"], lopo_predictions(table, columns, make_lip_model))
    assert lopo["mae"] == pytest.approx(manifest["validation"]["model"]["mae"], abs=1e-6)


def test_cli_predict_with_the_shipped_bundle_writes_the_seed_format_without_torch(tmp_path):
    folder = _starter_images()
    if folder is None:  # no real photos on a fresh clone: a SYNTHETIC lip patch stands in
        folder = tmp_path / "photos"
        folder.mkdir()
        _synthetic_lip_photos(folder, 1)
    out = tmp_path / "predictions.csv"
    script = (
        "import sys\n"
        "from vitalens.cli import app\n"
        f"try:\n    app(['predict', '--task', 'hb-lips', '--data', r'{folder}', '--out', r'{out}'])\n"
        "except SystemExit as e:\n    assert e.code in (0, None), e.code\n"
        "assert 'torch' not in sys.modules, 'torch was imported at inference'\n"
        "print('NO_TORCH_OK')\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO)
    assert "NO_TORCH_OK" in completed.stdout, completed.stderr[-2000:]
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert out.read_text().startswith("image_id,predicted_hgb,interval_low,interval_high,who_severity")
    assert sorted(row["image_id"] for row in rows) == sorted(p.stem for p in folder.iterdir())
    assert all(row["status"] == "ok" and 0 < float(row["predicted_hgb"]) < 30 for row in rows)
