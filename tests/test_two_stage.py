"""Two-stage fingernail Hb with the shipped bundle: detector → quality gate → regressor, and its refusals."""

import numpy as np
import pytest
from PIL import Image

from vitalens.data import load_yakimov
from vitalens.imaging import decode_image
from vitalens.predict import predict_dataset
from vitalens.runtime import load_predictor


@pytest.fixture(scope="module")
def predictor():
    return load_predictor(task="hb-nails")


def test_shipped_bundle_has_a_detector_stage(predictor):
    assert predictor.detector is not None and predictor.detector_rules["max_nails"] == 3


def test_blank_image_is_refused_with_a_tip(predictor):
    result = predictor.predict(np.full((600, 800, 3), 128, np.uint8))
    assert result.status == "refused" and result.hb is None and result.tips and not result.nails


def test_overexposed_photo_is_refused_as_overexposed(predictor):
    result = predictor.predict(np.full((600, 800, 3), 254, np.uint8))
    assert result.status == "refused" and result.reasons == ["overexposed"] and "glare" in result.tips[0]


def test_photo_without_a_hand_is_refused(predictor):
    # a sharp, well-exposed photo of a grey-white card with dark print: no skin anywhere
    rng = np.random.default_rng(0)
    card = np.full((600, 800, 3), 215, np.uint8)
    for _ in range(40):
        y, x = rng.integers(0, 580), rng.integers(0, 780)
        card[y : y + 8, x : x + 20] = 30
    result = predictor.predict(card)
    assert result.status == "refused" and result.reasons == ["no_hand"] and result.hb is None


def test_annotated_boxes_bypass_the_detector(predictor):
    rgb = np.full((100, 100, 3), 200, np.uint8)
    rgb[40:60, 20:40] = (200, 120, 120)
    result = predictor.predict(rgb, [(40, 20, 60, 40)], None)
    assert result.status == "ok" and result.regions_from == "annotated" and result.nails[0].score is None


def test_two_stage_on_raw_real_photos_matches_annotated_boxes(yakimov_dir, tmp_path, predictor):
    samples = load_yakimov(yakimov_dir).samples[::40]
    for sample in samples:  # raw photos: no manifest, no boxes
        Image.fromarray(decode_image(sample.image_path).rgb).save(tmp_path / f"{sample.image_id}.png")
    rows = {row["image_id"]: row for row in predict_dataset(tmp_path, None, "hb-nails").rows}
    assert len(rows) == len(samples)
    for sample in samples:
        row = rows[sample.image_id]
        assert row["status"] == "ok" and row["regions_from"] == "detector" and row["n_nails"] == 3
        annotated = predictor.predict(decode_image(sample.image_path).rgb, sample.boxes["nail"], sample.boxes["skin"])
        # detected boxes differ from hand-drawn ones by a few pixels: estimates agree to within ~1 g/dL
        assert abs(row["predicted_hgb"] - annotated.hb) < 1.5


@pytest.mark.slow
def test_cli_trains_a_detector_and_export_adds_it_as_a_verified_stage(yakimov_dir, tmp_path):
    import json

    from typer.testing import CliRunner

    from vitalens import runs
    from vitalens.cli import app
    from vitalens.tasks._haemoglobin.config import load_config
    from vitalens.runtime import load_bundle

    runner = CliRunner()
    trained = runner.invoke(app, ["train-detector", "--data", str(yakimov_dir), "--out", str(tmp_path / "det"), "--epochs", "1", "--limit", "12"])
    assert trained.exit_code == 0, trained.output
    summary = json.loads((tmp_path / "det" / "detector.json").read_text())
    assert summary["training"]["photos"] == 12 and "not cross-validated" in summary["validation"]

    config = load_config(data=str(yakimov_dir), scheme="kfold", n_splits=3, head="ridge", n_boot=20, experiments_dir=str(tmp_path), run_name="hb")
    run_dir, _ = runs.train(config, show_progress=False)
    exported = runner.invoke(app, ["export", "--run", str(run_dir), "--detector", str(tmp_path / "det"), "--out", str(tmp_path / "bundle")])
    assert exported.exit_code == 0, exported.output
    stage = load_bundle(tmp_path / "bundle").manifest["detector"]
    assert stage["file"] == "detector.onnx" and stage["training"]["epochs"] == 1 and len(stage["sha256"]) == 64
    row = load_predictor(tmp_path / "bundle").predict(decode_image(load_yakimov(yakimov_dir).samples[0].image_path).rgb).to_row()
    assert row["status"] in ("ok", "refused") and (row["predicted_hgb"] != "") == (row["status"] == "ok")
