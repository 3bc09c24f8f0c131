"""The shipped skin-condition bundle through the torch-free runtime: ONNX contract, predictor, CSV rows."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from vitalens import DISCLAIMER
from vitalens.runtime import load_predictor
from vitalens.bundle import load_bundle, shipped_bundle_path
from vitalens.tasks.skin_condition.runtime import CSV_COLUMNS, SkinPredictor, skin_csv_row
from test_skin import checkerboard, skin_photo

BUNDLE = shipped_bundle_path("skin-condition")


@pytest.fixture(scope="module")
def predictor() -> SkinPredictor:
    return SkinPredictor(load_bundle(BUNDLE))


def test_bundle_manifest_has_the_contract_fields():
    manifest = json.loads((BUNDLE / "bundle.json").read_text())
    assert manifest["schema_version"] == 1 and manifest["task"] == "skin-condition" and manifest["disclaimer"] == DISCLAIMER
    assert len(manifest["labels"]) == 21 and set(manifest["three_partition"]) == set(manifest["labels"])
    assert set(manifest["outputs"]) == {"diagnosis_probs", "lighting_good", "cam", "typicality"} and manifest["outputs"]["typicality"]["threshold"] == 1.0
    assert manifest["inputs"]["image"]["crop_fraction"] == 0.8 and manifest["temperature"] > 0
    assert 0 < manifest["lighting"]["threshold"] < 1
    assert (BUNDLE / "model.onnx").stat().st_size < 20e6
    card = (BUNDLE / "MODEL_CARD.md").read_text()
    assert card.startswith("---") and DISCLAIMER in card


def test_onnx_outputs_follow_the_contract(predictor):
    crops = np.stack([skin_photo(predictor.size, seed=s) for s in range(2)])
    probabilities, lighting, cam, typicality = predictor.run(crops)
    assert typicality.shape == (2,) and (typicality >= 0).all()
    assert probabilities.shape == (2, 21) and np.allclose(probabilities.sum(1), 1, atol=1e-4)
    assert lighting.shape == (2,) and ((lighting >= 0) & (lighting <= 1)).all()
    assert cam.shape[:2] == (2, 21) and cam.min() >= 0 and cam.max() <= 1 + 1e-5
    peaks = cam.max(axis=(2, 3))
    assert (np.isclose(peaks, 1, atol=1e-3) | np.isclose(peaks, 0)).all()  # each map scaled to its own maximum


def test_predict_gives_top3_lighting_tip_and_disclaimer(predictor):
    result = predictor.predict(skin_photo(300), "photo-1")
    probabilities = [entry["probability"] for entry in result["top"]]
    assert result["image_id"] == "photo-1" and len(result["top"]) == 3
    assert probabilities == sorted(probabilities, reverse=True) and sum(probabilities) <= 1 + 1e-6
    assert len({entry["label"] for entry in result["top"]}) == 3 and all(e["label"] in predictor.labels for e in result["top"])
    assert result["lighting"] in ("good", "poor") and result["disclaimer"] == DISCLAIMER
    assert (result["lighting"] == "good") == (result["lighting_tip"] == "")
    assert (result["photo_check"] == "typical") == (result["photo_tip"] == "") == (result["typicality"] <= 1.0)
    assert result["heatmap"].ndim == 2


def test_the_coarse_view_sums_each_partitions_probabilities(predictor):
    from vitalens.regions.centre_crop import centre_crop_resized

    photo = skin_photo(300, seed=5)
    probabilities = predictor.run(centre_crop_resized(photo, predictor.size, predictor.crop_fraction)[None])[0][0]
    coarse = predictor.predict(photo, "x")["three_partition"]
    partitions = json.loads((BUNDLE / "bundle.json").read_text())["three_partition"]
    assert [t["partition"] for t in coarse] == sorted({"benign", "malignant", "non-neoplastic"}, key=lambda name: -next(t["probability"] for t in coarse if t["partition"] == name))
    for entry in coarse:
        expected = sum(p for label, p in zip(predictor.labels, probabilities) if partitions[label] == entry["partition"])
        assert entry["probability"] == pytest.approx(expected, abs=1e-6)
    assert sum(t["probability"] for t in coarse) == pytest.approx(1.0, abs=1e-4)


def test_a_photo_with_no_skin_in_it_is_flagged_atypical(predictor):
    result = predictor.predict(checkerboard(300), "checkerboard")
    assert result["photo_check"] == "atypical" and result["typicality"] > 1.0 and "close up" in result["photo_tip"]


def test_a_very_dark_photo_is_poor_lighting_with_a_tip(predictor):
    result = predictor.predict((skin_photo(300) * 0.12).astype(np.uint8), "dark")
    assert result["lighting"] == "poor" and "daylight" in result["lighting_tip"]


def test_csv_row_has_exactly_the_cli_columns(predictor):
    row = skin_csv_row(predictor.predict(skin_photo(), "x"))
    assert tuple(row) == CSV_COLUMNS
    assert row["prob_1"] >= row["prob_2"] >= row["prob_3"]


def test_predict_task_registry_runs_a_folder_and_counts_bad_files(tmp_path):
    from vitalens.predict import predict_dataset

    for name, seed in (("a.jpg", 1), ("b.png", 2)):
        Image.fromarray(skin_photo(200, seed=seed)).save(tmp_path / name)
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    assert isinstance(load_predictor(task="skin-condition"), SkinPredictor)
    run = predict_dataset(tmp_path, None, "skin-condition")
    assert len(run.rows) == 2 and len(run.problems) == 1 and "broken.jpg" in run.problems[0].source
    assert all(tuple(row) == CSV_COLUMNS for row in run.rows)
    assert "held-out" in run.caveat and "most common condition" in run.caveat
