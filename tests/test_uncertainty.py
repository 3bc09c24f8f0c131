"""Conformal intervals: Mondrian bins by the estimate, outer-fold checking, and the runtime's rule (Python and
its browser twin)."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from vitalens.tasks._haemoglobin import response
from vitalens.uncertainty import conformal_half_width, half_width_at, mondrian_half_widths, outer_fold_coverage

REPO = Path(__file__).resolve().parents[1]


def _heteroscedastic(n=600, seed=0):
    """Estimates whose errors are three times larger below 11 than above: one width cannot fit both."""
    rng = np.random.default_rng(seed)
    predicted = rng.uniform(8, 16, n)
    y = predicted + rng.normal(0, np.where(predicted < 11, 3.0, 1.0))
    return y, predicted, np.arange(n) % 10


def test_mondrian_gives_the_noisy_bin_its_own_wider_interval_and_covers_it():
    y, predicted, groups = _heteroscedastic()
    outer = [(np.flatnonzero(groups != g), np.flatnonzero(groups == g)) for g in range(10)]
    low = np.where(predicted < 11, "low", "high")
    split = outer_fold_coverage(y, predicted, outer, 0.9, (), low)
    mondrian = outer_fold_coverage(y, predicted, outer, 0.9, (11.0,), low)
    assert mondrian["bin_half_widths"][0] > 2 * mondrian["bin_half_widths"][1]
    assert split["by_stratum"]["low"]["coverage"] < 0.8 <= 0.85 <= mondrian["by_stratum"]["low"]["coverage"]
    assert 0.85 <= mondrian["empirical_coverage"] <= 0.95 and len(mondrian["by_fold"]) == 10
    assert mondrian["method"] == "mondrian-conformal" and split["method"] == "split-conformal"


def test_a_bin_too_small_to_calibrate_takes_the_widest_calibrated_width_never_infinity():
    residuals = np.r_[np.linspace(-1, 1, 50), np.linspace(-3, 3, 40), [5.0, -5.0]]
    bins = np.r_[np.zeros(50), np.ones(40), [2, 2]].astype(int)
    widths = mondrian_half_widths(residuals, bins, 0.9)
    assert np.isfinite(conformal_half_width(residuals[:50], 0.9)) and widths[2] == widths[1] > widths[0]


def test_the_runtime_picks_the_width_of_the_estimates_bin_and_never_a_negative_bound():
    block = {"half_width": 3.0, "bin_edges": [11.0, 13.0], "bin_half_widths": [4.0, 3.0, 2.0]}
    assert [half_width_at(block, hb) for hb in (9.0, 11.0, 12.9, 13.0, 18.0)] == [4.0, 3.0, 3.0, 2.0, 2.0]
    assert half_width_at(2.5, 9.0) == 2.5 and half_width_at({"half_width": 2.5}, 9.0) == 2.5
    assert response.interval(1.0, block) == (0.0, 5.0)
    with pytest.raises(ValueError, match="one width per bin"):
        response.uncertainty_block({"uncertainty": {**block, "bin_half_widths": [4.0, 3.0]}})


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (apt-get install nodejs)")
def test_the_browser_interval_matches_python_on_every_bin_edge(tmp_path):
    block = {"half_width": 3.0, "bin_edges": [11.0, 13.0], "bin_half_widths": [4.0, 3.2, 2.1]}
    estimates = [0.5, 3.9, 10.99, 11.0, 11.01, 12.99, 13.0, 13.01, 19.0, 25.0]
    (tmp_path / "cases.json").write_text(json.dumps({"uncertainty": block, "estimates": estimates}))
    done = subprocess.run(["node", str(REPO / "tests" / "js" / "interval_grid.mjs"), str(tmp_path / "cases.json")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    got = np.array(json.loads(done.stdout))
    np.testing.assert_allclose(got, [response.interval(hb, block) for hb in estimates], atol=1e-12)
