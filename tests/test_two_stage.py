"""Two-stage fingernail Hb with the shipped bundle: detector → quality gate → regressor, and its refusals."""

import csv
import json

import numpy as np
import pytest
from PIL import Image

from vitalens.imaging import decode_image
from vitalens.predict import iter_predictions
from vitalens.data import load_dataset
from vitalens.runtime import load_predictor
from vitalens.tasks import get_task
from vitalens.tasks.hb_nails.data import load_yakimov


@pytest.fixture(scope="module")
def predictor():
    return load_predictor(task="hb-nails")


def test_shipped_bundle_has_a_detector_stage(predictor):
    assert predictor.detector is not None and predictor.detector_rules["max_nails"] == 3


def test_blank_image_is_refused_with_a_tip(predictor):
    result = predictor.predict_image(np.full((600, 800, 3), 128, np.uint8), "blank.png")
    assert result.status == "refused" and result.reasons and result.details["tips"] and result.image_id == "blank.png"
    assert "predicted_hgb" not in result.columns and "nails" not in result.details


def test_overexposed_photo_is_refused_as_overexposed(predictor):
    result = predictor.predict_image(np.full((600, 800, 3), 254, np.uint8), "white.png")
    assert result.status == "refused" and result.reasons == ["overexposed"] and "glare" in result.details["tips"][0]
    assert result.message.startswith("overexposed; ") and "glare" in result.message


def test_photo_without_a_hand_is_refused(predictor):
    # a sharp, well-exposed photo of a grey-white card with dark print: no skin anywhere
    rng = np.random.default_rng(0)
    card = np.full((600, 800, 3), 215, np.uint8)
    for _ in range(40):
        y, x = rng.integers(0, 580), rng.integers(0, 780)
        card[y : y + 8, x : x + 20] = 30
    result = predictor.predict_image(card, "card.png")
    assert result.status == "refused" and result.reasons == ["no_hand"] and not result.columns


def test_annotated_boxes_bypass_the_detector(predictor):
    rgb = np.full((100, 100, 3), 200, np.uint8)
    rgb[40:60, 20:40] = (200, 120, 120)
    result = predictor.predict(rgb, [(40, 20, 60, 40)], None)
    assert result.status == "ok" and result.columns["regions_from"] == "annotated" and result.details["nails"][0]["score"] is None


def test_two_stage_on_raw_real_photos_matches_annotated_boxes(yakimov_dir, tmp_path, predictor):
    samples = load_yakimov(yakimov_dir).samples[::40]
    for sample in samples:  # raw photos: no manifest, no boxes
        Image.fromarray(decode_image(sample.image_path).rgb).save(tmp_path / f"{sample.image_id}.png")
    raw = load_dataset(tmp_path, get_task("hb-nails"))
    results = {p.image_id: p for p in iter_predictions(raw, predictor)}
    assert len(results) == len(samples)
    for sample in samples:
        result = results[f"{sample.image_id}.png"]
        assert result.status == "ok" and result.columns["regions_from"] == "detector" and result.columns["n_nails"] == 3
        assert all(0 < nail["score"] <= 1 and len(nail["box"]) == 4 for nail in result.details["nails"])
        annotated = predictor.predict_image(decode_image(sample.image_path).rgb, sample.image_id, sample)
        assert annotated.columns["regions_from"] == "annotated"
        # detected boxes differ from hand-drawn ones by a few pixels: estimates agree to within ~1 g/dL
        assert abs(result.columns["predicted_hgb"] - annotated.columns["predicted_hgb"]) < 1.5


def test_commands_are_declared_and_import_no_torch():
    import subprocess
    import sys

    from vitalens.tasks.spec import resolve

    task = get_task("hb-nails")
    assert [resolve(reference).__name__ for reference in task.commands] == ["train_detector", "evaluate_detector"]
    script = ("import sys\nfrom vitalens.tasks import get_task\nfrom vitalens.tasks.spec import resolve\n"
              "[resolve(r) for r in get_task('hb-nails').commands]\nimport vitalens.tasks.hb_nails.runtime\n"
              "print([m for m in ('torch', 'sklearn', 'pandas', 'scipy') if m in sys.modules])\n")  # fmt: skip
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert completed.stdout.strip() == "[]", completed.stderr[-2000:]


@pytest.mark.slow
def test_cli_trains_a_detector_and_export_adds_it_as_a_verified_stage(yakimov_dir, tmp_path):
    from typer.testing import CliRunner

    from vitalens.bundle import load_bundle
    from vitalens.cli import app

    runner = CliRunner()
    trained = runner.invoke(app, ["train-detector", "--data", str(yakimov_dir), "--out", str(tmp_path / "det"), "--epochs", "1", "--limit", "12"])
    assert trained.exit_code == 0, trained.output
    summary = json.loads((tmp_path / "det" / "detector.json").read_text())
    assert summary["training"]["photos"] == 12 and "not cross-validated" in summary["validation"]

    hb = runner.invoke(app, ["train", "--task", "hb-nails", "--data", str(yakimov_dir), "--out", str(tmp_path / "hb"),
                             "-o", "scheme=kfold", "-o", "n_splits=3", "-o", "head=ridge", "-o", "n_boot=20", "-o", "protocol=single"])  # fmt: skip
    assert hb.exit_code == 0, hb.output
    exported = runner.invoke(app, ["export", "--run", str(tmp_path / "hb"), "--out", str(tmp_path / "bundle"), "-o", f"detector={tmp_path / 'det'}"])
    assert exported.exit_code == 0, exported.output
    stage = load_bundle(tmp_path / "bundle").manifest["detector"]
    assert stage["file"] == "detector.onnx" and stage["training"]["epochs"] == 1 and len(stage["sha256"]) == 64

    raw = tmp_path / "raw"
    raw.mkdir()
    for sample in load_yakimov(yakimov_dir).samples[:3]:
        (raw / sample.image_path.name).write_bytes(sample.image_path.read_bytes())
    predicted = runner.invoke(app, ["predict", "--model", str(tmp_path / "bundle"), "--data", str(raw), "--out", str(tmp_path / "p.csv")])
    assert predicted.exit_code == 0, predicted.output
    with open(tmp_path / "p.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3 and all(row["status"] in ("ok", "refused") and (row["predicted_hgb"] != "") == (row["status"] == "ok") for row in rows)
