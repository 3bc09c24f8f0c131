"""SYNTHETIC stress test of the fairness audit: it must find a planted skin-tone bias, and
normalising lip colour against the surrounding skin must shrink it. Synthetic data only."""

from __future__ import annotations

import numpy as np
import pytest

from vitalens.tasks.hb_lips.synthetic import SYNTHETIC, make_synthetic_lips, tissue_reflectance
from vitalens.tasks.hb_lips.synthetic_audit import run_tone_audit

RAW, NORMALISED = "raw lip colour", "lip relative to skin"


@pytest.fixture(scope="module")
def synthetic_audit():
    return run_tone_audit(n_train=900, n_test=900, seed=0)


@pytest.fixture(scope="module")
def synthetic_control():
    return run_tone_audit(n_train=900, n_test=900, seed=0, shuffle_groups=True)


def test_synthetic_sets_are_labelled_and_shaped():
    lips = make_synthetic_lips(12, {"light": 1, "dark": 1}, seed=3)
    assert lips.label == SYNTHETIC
    assert len(lips.images) == 12 and lips.images[0].dtype == np.uint8 and lips.images[0].ndim == 3
    assert set(lips.tone) <= {"light", "dark"}
    assert (lips.melanin[lips.tone == "dark"].min() > lips.melanin[lips.tone == "light"].max())


def test_optical_model_hb_reddens_and_melanin_darkens_the_lips():
    _, pale = tissue_reflectance(hb=7.0, melanin=0.03)
    _, rich = tissue_reflectance(hb=16.0, melanin=0.03)
    _, dark = tissue_reflectance(hb=7.0, melanin=0.25)
    assert rich[0] / rich[1] > pale[0] / pale[1]  # more haemoglobin: redder (less green)
    assert (dark < pale).all()  # more melanin: darker in every channel


def test_audit_finds_the_planted_skin_tone_bias(synthetic_audit):
    table = synthetic_audit.by_group[RAW]
    assert synthetic_audit.label == SYNTHETIC
    assert synthetic_audit.gap(RAW) > 0.5  # g/dL between tone groups
    assert table["mae"].idxmax() == "dark" and table.loc["dark", "worst"]
    assert table.loc["dark", "bias"] > 0.5  # dark lips read as more Hb: anaemia would be missed
    assert table.loc["dark", "mae_ci_low"] > table.loc["light", "mae_ci_high"]  # the gap is beyond resampling noise


def test_the_audit_finds_no_gap_where_none_was_planted(synthetic_audit, synthetic_control):
    assert synthetic_control.gap(RAW) < 0.5 * synthetic_audit.gap(RAW)


def test_skin_normalisation_reduces_the_gap(synthetic_audit):
    assert synthetic_audit.gap(NORMALISED) < 0.6 * synthetic_audit.gap(RAW)
    overall = {name: metrics["mae"] for name, metrics in synthetic_audit.overall.items()}
    assert overall[NORMALISED] < overall[RAW] < overall["mean predictor"]
