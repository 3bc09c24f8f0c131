"""Conformal intervals: Mondrian bins by the estimate, outer-fold checking, and the runtime's rule (Python and
its browser twin)."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from vitalens.tasks._haemoglobin import response
from vitalens.evaluation.splits import grouped_splits
from vitalens.interval_rules import Criterion, IntervalRule, nested_rule_check
from vitalens.uncertainty import conformal_half_width, describe_rule, half_width_at, mondrian_half_widths, mondrian_reaches, outer_fold_coverage, reach_at

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


def _over_estimated_lows(n=800, seed=1):
    """A model that pulls its rare low values up: below 10 the truth sits 3 g/dL under the estimate."""
    rng = np.random.default_rng(seed)
    y = np.r_[rng.uniform(5, 8, n // 10), rng.uniform(12, 16, n - n // 10)]
    predicted = np.where(y < 10, y + 3.0, y) + rng.normal(0, 0.7, n)
    return y, predicted, np.arange(n) % 16, np.where(y < 10, "low", "normal")


def test_an_asymmetric_rule_reaches_further_below_and_covers_the_over_estimated_lows():
    y, predicted, groups, band = _over_estimated_lows()
    outer = list(grouped_splits(groups, "loso"))
    symmetric = outer_fold_coverage(y, predicted, outer, 0.9, (12.0,), band)
    asymmetric = outer_fold_coverage(y, predicted, outer, 0.9, (12.0,), band, lower_share=0.25)
    assert asymmetric["bin_below"][0] > asymmetric["bin_above"][0] and symmetric["bin_below"] == symmetric["bin_above"]
    assert asymmetric["by_stratum"]["low"]["coverage"] > symmetric["by_stratum"]["low"]["coverage"]
    assert asymmetric["method"] == "mondrian-conformal, asymmetric" and asymmetric["lower_share"] == 0.25


def test_the_nested_rule_check_picks_a_rule_that_covers_every_band_and_logs_every_candidate():
    y, predicted, groups, band = _over_estimated_lows()
    rules = (IntervalRule(), IntervalRule((12.0,)), IntervalRule((12.0,), 0.25))
    checked = nested_rule_check(rules, y, predicted, list(grouped_splits(groups, "loso")), groups, band, Criterion(0.9, 0.85, 10))
    assert [row["rule"] for row in checked["rule_selection"]["candidates_on_all_groups"]] == [r.name for r in rules]
    assert len(checked["rule_selection"]["chosen_by_fold"]) == 16
    assert min(row["coverage"] for row in checked["by_stratum"].values()) >= 0.85, checked["by_stratum"]
    assert checked["rule"] in {r.name for r in rules} and 0.85 <= checked["empirical_coverage"] <= 0.97


def test_an_asymmetric_block_gives_the_runtime_its_two_reaches_and_a_floor_at_zero():
    block = {"half_width": 3.0, "bin_edges": [12.0], "bin_below": [5.0, 3.4], "bin_above": [4.2, 2.4]}
    assert reach_at(block, 9.0) == (5.0, 4.2) and reach_at(block, 12.0) == (3.4, 2.4)
    assert response.interval(10.0, block) == (5.0, 14.2) and response.interval(3.0, block) == (0.0, 7.2)
    assert describe_rule(block, "g/dL") == "estimate below 12 g/dL: −5.00 / +4.20; estimate 12 g/dL and above: −3.40 / +2.40"
    with pytest.raises(ValueError, match="one width per bin"):
        response.uncertainty_block({"uncertainty": {**block, "bin_above": [4.2]}})


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (apt-get install nodejs)")
def test_the_browser_interval_matches_python_with_an_asymmetric_block(tmp_path):
    block = {"half_width": 3.0, "bin_edges": [12.0], "bin_below": [5.06, 3.4], "bin_above": [4.27, 2.4]}
    estimates = [0.5, 4.9, 11.99, 12.0, 12.01, 19.0]
    (tmp_path / "cases.json").write_text(json.dumps({"uncertainty": block, "estimates": estimates}))
    done = subprocess.run(["node", str(REPO / "tests" / "js" / "interval_grid.mjs"), str(tmp_path / "cases.json")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(np.array(json.loads(done.stdout)), [response.interval(hb, block) for hb in estimates], atol=1e-12)


def test_an_asymmetric_bin_too_small_for_its_lower_bound_borrows_the_pooled_one_never_infinity():
    residuals = np.random.default_rng(0).normal(size=60)
    reaches = mondrian_reaches(residuals, np.arange(60) % 3, 0.9, lower_share=0.25)  # 20 per bin: a 2.5 % tail needs 39
    pooled = mondrian_reaches(residuals, np.zeros(60, dtype=int), 0.9, lower_share=0.25)[0]
    assert all(np.isfinite(r).all() for r in reaches.values()) and {r[0] for r in reaches.values()} == {pooled[0]}
