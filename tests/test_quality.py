import numpy as np
import pytest

from vitalens.quality import TIP_NO_NAIL, assess_photo, gate_detections, measure_quality
from vitalens.tasks.hb_nails.detection import Detection


def _real_photo(yakimov_dir):
    from vitalens.tasks.hb_nails.data import load_yakimov
    from vitalens.imaging import decode_image

    sample = load_yakimov(yakimov_dir).samples[0]
    return decode_image(sample.image_path).rgb, sample


def test_black_image_is_refused_as_too_dark():
    verdict = assess_photo(np.zeros((600, 800, 3), np.uint8))
    assert not verdict.ok and verdict.reasons == ["dark"] and "daylight" in verdict.message


def test_white_image_is_refused_as_overexposed():
    verdict = assess_photo(np.full((600, 800, 3), 255, np.uint8))
    assert not verdict.ok and verdict.reasons == ["overexposed"] and "glare" in verdict.message


def test_flat_grey_image_is_blurred_and_has_no_hand():
    verdict = assess_photo(np.full((600, 800, 3), 150, np.uint8))
    assert not verdict.ok and set(verdict.reasons) == {"blurred", "no_hand"}


def test_bad_input_names_the_problem():
    with pytest.raises(ValueError, match="H x W x 3 uint8"):
        measure_quality(np.zeros((10, 10), np.uint8))


def test_real_photo_passes(yakimov_dir):
    rgb, _ = _real_photo(yakimov_dir)
    verdict = assess_photo(rgb)
    assert verdict.ok, verdict.message


def test_real_photo_scaled_brighter_is_overexposed(yakimov_dir):
    rgb, _ = _real_photo(yakimov_dir)
    verdict = assess_photo(np.clip(rgb.astype(np.float32) * 1.5, 0, 255).astype(np.uint8))
    assert not verdict.ok and "overexposed" in verdict.reasons


def test_real_photo_blurred_is_refused(yakimov_dir):
    from PIL import Image, ImageFilter

    rgb, _ = _real_photo(yakimov_dir)
    verdict = assess_photo(np.asarray(Image.fromarray(rgb).filter(ImageFilter.GaussianBlur(3))))
    assert not verdict.ok and verdict.reasons == ["blurred"]


def test_crop_of_only_the_white_card_has_no_hand(yakimov_dir):
    rgb, sample = _real_photo(yakimov_dir)
    before_fingertips = min(b[1] for b in sample.boxes["nail"]) - 80  # fingers point left, onto the card
    assert before_fingertips > 100, "photo 1 should show card beyond the fingertips"
    verdict = assess_photo(rgb[:, :before_fingertips])
    assert not verdict.ok and verdict.reasons == ["no_hand"]


def _nail(score):
    return Detection("nail", score, (0.0, 0.0, 10.0, 10.0))


def test_gate_detections_refuses_no_nail_and_low_confidence():
    assert gate_detections([Detection("skin", 0.9, (0.0, 0.0, 5.0, 5.0))]).tips == [TIP_NO_NAIL]
    low = gate_detections([_nail(0.1), _nail(0.2)], min_score=0.3)
    assert not low.ok and low.reasons == ["low_confidence"]
    assert gate_detections([_nail(0.9), _nail(0.8), _nail(0.5)], min_score=0.3, min_nails=3).ok
    assert not gate_detections([_nail(0.9), _nail(0.2)], min_score=0.3, min_nails=2).ok
