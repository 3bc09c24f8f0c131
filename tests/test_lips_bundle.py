"""hb-lips: the lifecycle (train, evaluate, export) on the run-folder contract → load → the same numbers as
the fitted scikit-learn pipeline; the Prediction contract, refusals and the population hooks; the shipped
bundle through `vitalens predict` without torch. Training data here are SYNTHETIC lip patches; the real
lips starter set is used when ../shared is present (its photos are not redistributable)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from vitalens.bundle import file_sha256, load_bundle, shipped_bundle_path
from vitalens.data.shared import find_shared_dataset
from vitalens.evaluation.metrics import regression_metrics
from vitalens.imaging import decode_image
from vitalens.results import CONTRACT_COLUMNS
from vitalens.runs import RUN_FILES, Job, check_run_folder, write_config
from vitalens.runtime import load_predictor
from vitalens.tasks import TaskError
from vitalens.tasks.hb_lips import TASK, lifecycle
from vitalens.tasks.hb_lips.data import load_lips
from vitalens.tasks.hb_lips.lip_colour import measure_lips
from vitalens.tasks.hb_lips.runtime import LipHbPredictor
from vitalens.tasks.hb_lips.synthetic import make_synthetic_lips
from vitalens.heads import linear_parameters
from vitalens.tasks.hb_lips.training import LIP_MODEL_FEATURES, MODEL_FILE, fit_lip_model, lip_feature_table, lopo_predictions, make_lip_model

REPO = Path(__file__).resolve().parents[1]
SIDE = 192
SHIPPED_ONNX_SHA256 = "34eba7ac34c617c6d602866859a21c6be60c8740c9840a157d3c78847e4b17fb"  # IR lowered 14 -> 10 for the browser; same graph and weights
FAST = {"n_boot": "50", "permutations": "20"}


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


def _job(verb: str, data: Path, out: Path, **options: str) -> Job:
    """A job as the spine builds it: options parsed and defaulted from the task's declaration, config.yaml written."""
    job = Job(TASK.name, verb, data, out, TASK.parse_options(verb, options))
    if verb != "export":
        write_config(job)
    return job


@pytest.fixture(scope="module")
def synthetic_lips_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("synthetic_lips")
    _synthetic_lip_photos(folder, 16)
    return folder


@pytest.fixture(scope="module")
def lip_run(synthetic_lips_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("lips_run")
    report = lifecycle.train(_job("train", synthetic_lips_dir, work / "run", **FAST))
    bundle_dir = lifecycle.export(_job("export", work / "run", work / "bundle"))
    return work / "run", report, bundle_dir


def test_train_writes_the_run_folder_with_the_model_beside_the_mean_predictor(lip_run):
    run_dir, report, _ = lip_run
    check_run_folder(run_dir)
    assert (run_dir / MODEL_FILE).is_file() and (run_dir / "figures" / "lip_boxes_contact_sheet.png").is_file()
    assert report == json.loads((run_dir / "report.json").read_text())
    assert report["validation"].startswith("leave-one-person-out (8 persons")
    assert report["data"]["skipped"] == 0 and report["data"]["images"] == 16
    assert report["model"]["mae"] < report["mean_predictor"]["mae"]  # SYNTHETIC lips: redness carries Hb by construction
    assert report["permutation_test"]["permutations"] == 20 and 0 < report["permutation_test"]["p_value"] <= 1
    mae = next(row for row in report["headline"] if row["metric"] == "mae")
    assert mae == {"metric": "mae", "model": report["model"]["mae"], "baseline": report["mean_predictor"]["mae"], "baseline_name": "mean predictor"}
    with open(run_dir / "predictions.csv") as handle:
        rows = list(csv.DictReader(handle))
    held_out = {}
    for row in rows:
        held_out.setdefault(row["fold"], set()).add(row["group"])
    assert len(rows) == 16 and all(len(groups) == 1 for groups in held_out.values())  # one person per fold


def test_evaluate_writes_every_run_file_and_no_model(synthetic_lips_dir, tmp_path):
    job = _job("evaluate", synthetic_lips_dir, tmp_path / "run", n_boot="20", permutations="0")
    report = lifecycle.evaluate(job)
    assert all((job.out / name).is_file() for name in RUN_FILES) and (job.out / "figures").is_dir()
    assert not (job.out / MODEL_FILE).exists() and report["permutation_test"]["p_value"] is None
    with pytest.raises(FileNotFoundError, match="vitalens train"):
        lifecycle.export(_job("export", job.out, tmp_path / "bundle"))


def test_options_are_the_declared_ones_and_parsed():
    assert TASK.parse_options("train", {"permutations": "7"})["permutations"] == 7
    assert TASK.parse_options("evaluate", {})["permutations"] == 200
    with pytest.raises(TaskError, match="no option 'features'"):
        TASK.parse_options("train", {"features": "cnn"})  # one fixed model: not an option here
    with pytest.raises(ValueError, match="not of type int"):
        TASK.parse_options("train", {"n_boot": "many"})


def test_lip_bundle_round_trip_equals_the_fitted_pipeline(lip_run, synthetic_lips_dir):
    run_dir, report, bundle_dir = lip_run
    bundle = load_bundle(bundle_dir)
    manifest = bundle.manifest
    assert manifest["task"] == TASK.name and manifest["uncertainty"]["half_width"] > 0
    assert manifest["model"]["sha256"] == file_sha256(bundle_dir / "model.onnx")
    assert manifest["validation"]["model"]["mae"] == pytest.approx(report["model"]["mae"])
    assert (bundle_dir / "MODEL_CARD.md").read_text().startswith("---\nlicense:")
    saved = json.loads((run_dir / MODEL_FILE).read_text())  # plain numbers: the pipeline refitted here gives the same ones
    fitted = fit_lip_model(lip_feature_table(load_lips(synthetic_lips_dir))[0])
    weights, bias = linear_parameters(fitted)
    assert saved["weights"] == pytest.approx(weights, rel=1e-9) and saved["bias"] == pytest.approx(bias, rel=1e-9)
    assert saved["features"] == list(LIP_MODEL_FEATURES)
    predictor = LipHbPredictor(bundle)
    for path in sorted(synthetic_lips_dir.iterdir()):
        rgb = decode_image(path).rgb
        prediction = predictor.predict_image(rgb, path.name)
        expected = float(fitted.predict(measure_lips(rgb).select(saved["features"])[None])[0])
        assert prediction.status == "ok" and prediction.image_id == path.name and not prediction.reasons
        assert set(prediction.columns) == set(predictor.columns)
        hb = prediction.columns["predicted_hgb"]
        assert hb == pytest.approx(expected, abs=2e-3)
        assert 0 <= prediction.columns["interval_low"] <= hb <= prediction.columns["interval_high"]
        box = prediction.details["lip_box"]
        assert isinstance(box, list) and len(box) == 4 and all(isinstance(v, int) for v in box)
        assert prediction.details["interpretation"]["statement"] == prediction.columns["who_severity"]


def test_refuses_a_photo_without_lips_with_a_reason_and_a_tip(lip_run):
    predictor = LipHbPredictor(load_bundle(lip_run[2]))
    prediction = predictor.predict_image(np.full((120, 160, 3), 128, np.uint8), "grey.png")
    assert prediction.status == "refused" and prediction.reasons[0].startswith("no lips found")
    assert "no lips found" in prediction.message and "well-lit" in prediction.message
    assert "predicted_hgb" not in prediction.columns
    row = prediction.row(predictor.columns)
    assert tuple(row)[:4] == CONTRACT_COLUMNS and row["predicted_hgb"] == "" and row["who_severity"] == ""


def test_refuses_lips_too_dark_to_measure_without_a_number(lip_run, monkeypatch):
    from vitalens.tasks.hb_lips import runtime
    from vitalens.tasks.hb_lips.lip_colour import LIP_COLOUR_FEATURES, LipMeasurement
    from vitalens.tasks.hb_lips.regions import LipRegion

    found = LipMeasurement(LipRegion((10, 20, 40, 90), 0.8, None, "colour"), np.full(len(LIP_COLOUR_FEATURES), np.nan))
    monkeypatch.setattr(runtime, "measure_lips", lambda rgb: found)
    prediction = LipHbPredictor(load_bundle(lip_run[2])).predict_image(np.zeros((60, 120, 3), np.uint8), "dark.png")
    assert prediction.status == "refused" and prediction.reasons == [runtime.UNMEASURABLE] and "retake" in prediction.message
    assert prediction.columns == {"regions_from": "colour"} and prediction.details["lip_box"] == [10, 20, 40, 90]


def test_population_hooks(lip_run, synthetic_lips_dir):
    predictor = LipHbPredictor(load_bundle(lip_run[2]))
    predictor.validate_population({"age_years": 30, "sex": "female"})
    with pytest.raises(ValueError, match="age_years"):
        predictor.validate_population({"age_years": -3})
    photos = sorted(synthetic_lips_dir.iterdir())[:3]
    predictions = [predictor.predict_image(decode_image(p).rgb, p.name) for p in photos]
    predictions.append(predictor.predict_image(np.full((120, 160, 3), 128, np.uint8), "grey.png"))
    summary = predictor.aggregate(predictions, {"sex": "female"})
    assert summary["n_images"] == 4 and summary["n_refused"] == 1 and summary["interval"][0] >= 0
    assert min(p.columns["predicted_hgb"] for p in predictions[:3]) <= summary["hb"] <= max(p.columns["predicted_hgb"] for p in predictions[:3])
    assert predictor.aggregate(predictions[:1], {}) is None


def test_too_few_people_is_a_clear_error(tmp_path):
    _synthetic_lip_photos(tmp_path, 4)  # two people
    with pytest.raises(ValueError, match="at least 3 people"):
        lifecycle.evaluate(_job("evaluate", tmp_path, tmp_path / "run"))


def test_the_lips_task_serves_the_shipped_bundle_unchanged():
    predictor = load_predictor(task=TASK.name)
    assert isinstance(predictor, LipHbPredictor)
    assert file_sha256(shipped_bundle_path(TASK.name) / "model.onnx") == SHIPPED_ONNX_SHA256
    assert "mean" in predictor.caveat and str(round(predictor.bundle.manifest["validation"]["mean_predictor"]["mae"], 2)) in predictor.caveat


def test_shipped_bundle_matches_a_fresh_fit_on_the_starter_set():
    """The shipped weights and validation numbers are what the training code gives on the real photos today."""
    folder = _starter_images()
    if folder is None:
        pytest.skip("../shared/data/lips-starter not present (set VITALENS_SHARED_DATA to use it)")
    table, problems = lip_feature_table(load_lips(folder))
    manifest = json.loads((shipped_bundle_path(TASK.name) / "bundle.json").read_text())
    columns = manifest["inputs"]["features"]["names"]
    assert len(table) == manifest["training_data"]["images"] and len(problems) == manifest["training_data"]["skipped"]
    fresh = make_lip_model().fit(table[columns], table["hb_true"])
    shipped = load_predictor(task=TASK.name).predict_features(table[columns].to_numpy())
    assert np.allclose(shipped, fresh.predict(table[columns]), atol=1e-3)
    lopo = regression_metrics(table["hb_true"], lopo_predictions(table, columns, make_lip_model))
    assert lopo["mae"] == pytest.approx(manifest["validation"]["model"]["mae"], abs=1e-6)


def test_cli_evaluate_train_export_round(synthetic_lips_dir, tmp_path):
    from typer.testing import CliRunner

    from vitalens.cli import app

    runner = CliRunner()
    fast = ["-o", "n_boot=20", "-o", "permutations=0"]
    evaluated = runner.invoke(app, ["evaluate", "--task", TASK.name, "--data", str(synthetic_lips_dir), "--out", str(tmp_path / "eval"), *fast])
    assert evaluated.exit_code == 0, evaluated.output
    check_run_folder(tmp_path / "eval")
    trained = runner.invoke(app, ["train", "--task", TASK.name, "--data", str(synthetic_lips_dir), "--out", str(tmp_path / "run"), *fast])
    assert trained.exit_code == 0, trained.output
    exported = runner.invoke(app, ["export", "--run", str(tmp_path / "run"), "--out", str(tmp_path / "bundle")])
    assert exported.exit_code == 0, exported.output
    assert load_bundle(tmp_path / "bundle").task == TASK.name
    unknown = runner.invoke(app, ["evaluate", "--task", TASK.name, "--data", str(synthetic_lips_dir), "--out", str(tmp_path / "x"), "-o", "head=catboost"])
    assert unknown.exit_code == 2 and "head" in unknown.output


def test_cli_predict_with_the_shipped_bundle_writes_the_contract_columns_without_torch(tmp_path):
    folder = _starter_images()
    if folder is None:  # no real photos on a fresh clone: a SYNTHETIC lip patch stands in
        folder = tmp_path / "photos"
        folder.mkdir()
        _synthetic_lip_photos(folder, 1)
    out = tmp_path / "predictions.csv"
    script = (
        "import sys\n"
        "from vitalens.cli import app\n"
        f"try:\n    app(['predict', '--task', {TASK.name!r}, '--data', r'{folder}', '--out', r'{out}'])\n"
        "except SystemExit as e:\n    assert e.code in (0, None), e.code\n"
        "assert 'torch' not in sys.modules, 'torch was imported at inference'\n"
        "print('NO_TORCH_OK')\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO)
    assert "NO_TORCH_OK" in completed.stdout, completed.stderr[-2000:]
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    header = ",".join((*CONTRACT_COLUMNS, *LipHbPredictor.columns))
    assert out.read_text().startswith(header + "\n") or out.read_text().startswith(header + "\r\n")
    assert sorted(row["image_id"] for row in rows) == sorted(p.name for p in folder.iterdir())
    assert all(row["status"] == "ok" and 0 < float(row["predicted_hgb"]) < 30 for row in rows)
