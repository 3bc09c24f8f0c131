"""The sped-up numpy stages (issue 21) give what the code they replaced gave, on real photos: the nail gate's
verdicts and measures, the white and red references, the crops and skin tone (what the nail models read),
and the lip finder's boxes. tests/fixtures/numpy_stages.json was written by tests/fixtures/make_numpy_stages.py
from the code before the rewrite; float noise up to 1e-6 relative is allowed, nothing else."""

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import shared_dataset

from fixtures.make_numpy_stages import LIP_SETS, gate_record, gate_variants, lip_photos, lip_record, nail_record

FROZEN = json.loads((Path(__file__).parent / "fixtures" / "numpy_stages.json").read_text())


def assert_same(found, frozen, where: str) -> None:
    """Equal structure and words; numbers equal to 1e-6 relative (1e-9 absolute near zero)."""
    if isinstance(frozen, dict):
        assert found.keys() == frozen.keys(), where
        for key in frozen:
            assert_same(found[key], frozen[key], f"{where}.{key}")
    elif isinstance(frozen, list) and not isinstance(found, str):
        assert len(found) == len(frozen), where
        for k, (a, b) in enumerate(zip(found, frozen)):
            assert_same(a, b, f"{where}[{k}]")
    elif isinstance(frozen, float) and not isinstance(frozen, bool):
        assert np.isclose(found, frozen, rtol=1e-6, atol=1e-9), f"{where}: {found!r} != {frozen!r}"
    else:
        assert found == frozen, where


def test_nail_gate_references_and_crops_are_unchanged_on_every_yakimov_photo():
    from vitalens.imaging import decode_image
    from vitalens.tasks.hb_nails.data import load_yakimov

    samples = load_yakimov(shared_dataset("yakimov2024")).samples
    assert {s.image_path.name for s in samples} == set(FROZEN["nails"])
    for sample in samples:
        rgb, name = decode_image(sample.image_path).rgb, sample.image_path.name
        assert_same(nail_record(rgb, sample.boxes["nail"], sample.boxes.get("skin", [])), FROZEN["nails"][name], name)
        for kind, copy in gate_variants(rgb).items() if name in FROZEN["gate_variants"] else ():
            assert_same(gate_record(copy), FROZEN["gate_variants"][name][kind], f"{name} {kind}")


@pytest.mark.parametrize("name", list(LIP_SETS))
def test_lip_finder_boxes_are_unchanged(name):
    from vitalens.imaging import decode_image

    photos = lip_photos(shared_dataset(name), LIP_SETS[name])
    assert [p.name for p in photos] == list(FROZEN["lips"][name])
    for path in photos:
        assert_same(lip_record(decode_image(path).rgb), FROZEN["lips"][name][path.name], path.name)


# Every 8-bit colour, a red level at a time: the fast rules must agree with the float formulas they replace
# for all 2^24 of them, not only for the colours of some photos.
def _every_colour():
    green, blue = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
    for red in range(256):
        yield np.stack([np.full_like(green, red), green, blue], axis=-1).astype(np.uint8).reshape(-1, 1, 3)


def test_fast_colour_rules_agree_with_the_float_formulas_on_every_8_bit_colour():
    import cv2

    from vitalens.colour import _OPENCV_LAB_MARGIN, srgb8_to_lab, srgb_to_lab
    from vitalens.quality import skin_mask
    from vitalens.tasks.hb_nails import regions

    worst = 0.0
    for k, rgb in enumerate(_every_colour()):
        unit = rgb.astype(np.float32) / 255.0
        lab = srgb_to_lab(unit)
        assert np.array_equal(srgb8_to_lab(rgb, np.float32), lab)
        if k % 8 == 0:  # the float64 table the same way (the rest of the conversion is shared)
            assert np.array_equal(srgb8_to_lab(rgb), srgb_to_lab(rgb.astype(np.float64) / 255.0))
        worst = max(worst, float(np.abs(cv2.cvtColor(unit, cv2.COLOR_RGB2Lab) - lab).max()))
        L, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
        assert np.array_equal(skin_mask(rgb), (a > 8) & (b > 5) & (L > 20) & (L < 95))
        red, green, blue = unit[..., 0], unit[..., 1], unit[..., 2]
        floats = ((red - np.maximum(green, blue)) > regions.RED_MIN_EXCESS) & (np.abs(green - blue) < regions.RED_MAX_GREEN_BLUE_GAP)
        r, g, b8 = (rgb[..., k].astype(int) for k in range(3))
        assert np.array_equal(floats, (r - np.maximum(g, b8) >= regions._RED_EXCESS) & (np.abs(g - b8) <= regions._RED_GAP))
        saturation = unit.max(axis=-1) - unit.min(axis=-1)
        assert np.array_equal(saturation < regions.WHITE_MAX_SATURATION, rgb.max(axis=-1) - rgb.min(axis=-1) <= regions._WHITE_SPREAD)
    assert worst < _OPENCV_LAB_MARGIN


def test_white_reference_median_by_counting_is_np_median():
    from vitalens.tasks.hb_nails.regions import _median_unit

    rng = np.random.default_rng(0)
    for size in (1, 2, 3, 50, 51, 1000, 1001):
        values = rng.integers(0, 256, size).astype(np.uint8)
        expected = np.median(values.astype(np.float32) / 255.0)
        assert _median_unit(values) == expected and _median_unit(values).dtype == expected.dtype


def test_disc_dilation_is_opencvs_elliptical_dilation():
    import cv2

    from vitalens.morphology import dilate_disc

    rng = np.random.default_rng(1)
    for _ in range(200):
        height, width = (int(v) for v in rng.integers(1, 150, 2))
        mask = (rng.random((height, width)) < rng.choice([0.002, 0.02, 0.3])).astype(np.uint8)
        radius = int(rng.integers(0, 80))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        assert np.array_equal(dilate_disc(mask, radius), cv2.dilate(mask, kernel)), (height, width, radius)
