"""The spine's face gate (vitalens.face_gate): a bundle of a task whose photos are not faces refuses a photo
that a face fills, with the reason and a tip, before its model runs (the skin bundle ships one)."""

from pathlib import Path

import numpy as np
import pytest

from vitalens.evaluation.sites import site_photos
from vitalens.face_gate import face_gate
from vitalens.imaging import decode_image
from vitalens.runtime import load_predictor, predict_one

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def skin():
    return load_predictor(task="skin-condition")


def test_a_face_crop_gets_a_reason_and_a_tip_from_the_skin_model_and_no_label(skin):
    rgb = decode_image(REPO / "examples" / "faces" / "astronaut_face.jpg").rgb
    prediction = predict_one(skin, rgb, "astronaut_face.jpg")  # the site check may refuse it first
    assert prediction.status == "refused" and "top" not in prediction.details and "label_1" not in prediction.columns and prediction.message
    by_gate = face_gate(skin.bundle, rgb, "astronaut_face.jpg")
    assert "photo of a face" in by_gate.reasons[0] and by_gate.details["tips"] == [skin.bundle.manifest["face_gate"]["tip"]]


def test_a_photo_without_a_face_passes_the_gate(skin):
    assert face_gate(skin.bundle, np.full((300, 300, 3), (196, 140, 115), np.uint8), "skin.png") is None


def test_the_gate_records_how_its_threshold_was_chosen(skin):
    gate = skin.bundle.manifest["face_gate"]
    assert 0 < gate["max_face_fraction"] < 1 and gate["chosen"]["own_pass_rate"] >= 0.97 and len(gate["candidates"]) > 5
    assert "face check" in skin.bundle.card()


def test_on_the_test_half_skin_photos_pass_and_face_photos_are_refused(skin):
    own, faces = site_photos("skin", "test", 40), site_photos("face", "test", 40)
    if not own or not faces:
        pytest.skip("../shared/data (fitzpatrick17k-ajl, utkface) is absent: the photos the gate was fitted and graded on")
    passed = [face_gate(skin.bundle, decode_image(p).rgb, p.name) is None for p in own]
    refused = [face_gate(skin.bundle, decode_image(p).rgb, p.name) is not None for p in faces]
    assert np.mean(passed) >= 0.95 and np.mean(refused) >= 0.95
