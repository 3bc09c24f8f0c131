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
