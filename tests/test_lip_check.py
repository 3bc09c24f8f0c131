"""The lips model's input gate (vitalens.tasks.hb_lips.lip_check): a lip region too small to read, or one
that is not a mouth, is refused with the reason and a tip before any estimate."""

from pathlib import Path

import pytest

from vitalens.evaluation.sites import site_photos
from vitalens.imaging import decode_image
from vitalens.runtime import load_predictor, predict_one
from vitalens.tasks import get_task

REPO = Path(__file__).resolve().parents[1]
LIPS = get_task("hb-lips")


@pytest.fixture(scope="module")
def predictor():
    return load_predictor(task=LIPS.name)


def test_the_shipped_bundle_carries_the_check_and_how_it_was_chosen(predictor):
    check = predictor.bundle.manifest["lip_check"]
    assert check["min_lip_width_px"] > 84  # wider than any UTKFace lips (40-84 px)
    assert "out of fold" in check["threshold_chosen"] and check["pass_rate_out_of_fold_by_site"]["lips"]["with_width_rule"] == 1.0
    assert "Input gate" in predictor.bundle.card()


@pytest.mark.parametrize("photo", ["nails/yakimov2024_65.png", "faces/astronaut_face.jpg"])
def test_a_nail_photo_and_a_small_face_crop_get_a_reason_and_a_tip_not_an_hb(predictor, photo):
    prediction = predict_one(predictor, decode_image(REPO / "examples" / photo).rgb, photo)
    assert prediction.status == "refused" and "predicted_hgb" not in prediction.columns
    assert prediction.reasons and prediction.details["tips"] and prediction.message


def test_real_lip_photos_pass_and_other_sites_are_refused_on_the_test_half(predictor):
    lips, skin = site_photos("lips", "test"), site_photos("skin", "test", 30)
    if not lips:
        pytest.skip("../shared/data/lips-starter is absent: the lip and skin photos the gate was fitted and graded on")
    answered = [predict_one(predictor, decode_image(p).rgb, p.name).ok for p in lips]
    assert sum(answered) >= 0.8 * len(answered)
    others = [predict_one(predictor, decode_image(p).rgb, p.name).ok for site in ("fingernail", "face", "conjunctiva") for p in site_photos(site, "test", 20)]
    assert sum(others) <= 1 and sum(predict_one(predictor, decode_image(p).rgb, p.name).ok for p in skin) <= 6
