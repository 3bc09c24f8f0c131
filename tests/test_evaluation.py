import numpy as np
import pandas as pd
import pytest

from vitalens.aggregate import aggregate_estimates, iqr_inliers
from vitalens.evaluation.fairness import case_mix_decomposition, disaggregate, hit_rate_gap
from vitalens.evaluation.metrics import anaemia_detection, bland_altman, mae_by_severity, paired_difference, regression_metrics
from vitalens.evaluation.splits import LeakageError, assert_no_leakage, grouped_splits
from vitalens.uncertainty import conformal_half_width, loso_conformal_coverage


@pytest.mark.parametrize("scheme", ["loso", "kfold"])
def test_grouped_splits_never_share_a_group(scheme):
    groups = np.repeat(list("abcdefg"), [3, 5, 2, 4, 6, 1, 3])
    seen = []
    for train, test in grouped_splits(groups, scheme, n_splits=3):
        assert not set(groups[train]) & set(groups[test])
        seen += list(test)
    assert sorted(seen) == list(range(len(groups)))


def test_leakage_is_detected():
    groups = np.array(["a", "a", "b"])
    with pytest.raises(LeakageError):
        assert_no_leakage(groups, np.array([0]), np.array([1, 2]))


def test_regression_metrics_by_hand():
    y, p = np.array([10.0, 12.0, 14.0, 9.0]), np.array([11.0, 12.0, 11.0, 9.5])
    m = regression_metrics(y, p)
    assert m["mae"] == pytest.approx((1 + 0 + 3 + 0.5) / 4)
    assert m["rmse"] == pytest.approx(np.sqrt((1 + 0 + 9 + 0.25) / 4))
    assert m["r2"] == pytest.approx(1 - 10.25 / np.sum((y - y.mean()) ** 2))
    assert m["median_ae"] == pytest.approx(0.75)
    assert m["within_1"] == pytest.approx(0.75) and m["within_2"] == pytest.approx(0.75)
    diff = p - y
    assert m["bias"] == pytest.approx(-0.375)
    assert m["loa_high"] == pytest.approx(-0.375 + 1.96 * diff.std(ddof=1))


def test_bland_altman_of_a_constant_offset():
    ba = bland_altman([1.0, 2.0, 3.0], [1.5, 2.5, 3.5])
    assert ba == pytest.approx({"bias": 0.5, "loa_low": 0.5, "loa_high": 0.5})


def test_anaemia_detection_by_hand():
    y = np.array([8.0, 11.0, 13.0, 14.0, 12.5])
    p = np.array([9.0, 12.5, 11.5, 14.0, 13.0])
    d = anaemia_detection(y, p, threshold=12.0)
    assert d["sensitivity"] == pytest.approx(1 / 2)
    assert d["specificity"] == pytest.approx(2 / 3)
    assert d["prevalence"] == pytest.approx(2 / 5)


def test_mae_by_severity_uses_who_bands():
    table = mae_by_severity([7.0, 9.0, 11.5, 13.0], [8.0, 9.0, 11.0, 13.0])
    assert table["severe"] == {"n": 1, "mae": 1.0}
    assert table["mild"]["mae"] == pytest.approx(0.5) and table["none"]["mae"] == 0.0


def test_disaggregate_flags_the_worst_group_with_cis():
    rng = np.random.default_rng(0)
    y = rng.normal(12, 2, 200)
    group = np.where(np.arange(200) < 100, "light", "dark")
    p = y + np.where(group == "dark", rng.normal(0, 2, 200), rng.normal(0, 0.5, 200))
    table = disaggregate(y, p, pd.Series(group, name="tone"), n_boot=200)
    assert table.loc["dark", "worst"] and not table.loc["light", "worst"]
    assert table.loc["dark", "mae_ci_low"] < table.loc["dark", "mae"] < table.loc["dark", "mae_ci_high"]
    assert table["n"].tolist() == [100, 100]


def test_a_missing_attribute_is_never_flagged_as_the_worst_group():
    y = np.full(30, 12.0)
    group = np.array(["light"] * 10 + ["dark"] * 10 + [None] * 10, dtype=object)
    p = y + np.where(group == None, 5.0, np.where(group == "dark", 1.0, 0.2))  # noqa: E711 (elementwise)
    table = disaggregate(y, p, pd.Series(group, name="tone"), n_boot=20)
    assert table.loc["unknown", "mae"] > table.loc["dark", "mae"]
    assert table.loc["dark", "worst"] and not table.loc["unknown", "worst"]


def test_hit_rate_gap_by_hand_leaves_unknown_out_and_brackets_the_gap():
    hits = np.r_[np.ones(40), np.zeros(60), np.ones(80), np.zeros(20), np.zeros(5)]
    groups = ["I-II"] * 100 + ["V-VI"] * 100 + [None] * 5
    gap = hit_rate_gap(hits, groups, n_boot=500)
    assert (gap["best"], gap["worst"], gap["n"]) == ("V-VI", "I-II", {"I-II": 100, "V-VI": 100})
    assert gap["gap"] == pytest.approx(0.4)
    assert gap["ci"][0] < 0.4 < gap["ci"][1] and gap["ci"][0] > 0.2


def _cases(group: str, stratum: str, n: int, n_hits: int) -> list[tuple[str, str, float]]:
    return [(group, stratum, float(i < n_hits)) for i in range(n)]


def test_case_mix_decomposition_separates_harder_cases_from_worse_service():
    # Same per-diagnosis hit rates (easy 0.9, hard 0.3), opposite case mix: all of the gap is case mix.
    rows = _cases("A", "easy", 20, 18) + _cases("A", "hard", 80, 24) + _cases("B", "easy", 80, 72) + _cases("B", "hard", 20, 6)
    groups, strata, hits = zip(*rows)
    table = case_mix_decomposition(hits, groups, strata)
    assert table.loc["A", "observed"] == pytest.approx(0.42) and table.loc["B", "observed"] == pytest.approx(0.78)
    assert table.loc["A", "expected_from_case_mix"] == pytest.approx(0.42) and table.loc["B", "expected_from_case_mix"] == pytest.approx(0.78)
    assert table["standardised"].tolist() == pytest.approx([0.6, 0.6]) and table["coverage"].tolist() == pytest.approx([1.0, 1.0])
    # Same case mix, A served worse on both diagnoses: none of the gap is case mix.
    rows = _cases("A", "easy", 50, 40) + _cases("A", "hard", 50, 10) + _cases("B", "easy", 50, 50) + _cases("B", "hard", 50, 20)
    groups, strata, hits = zip(*rows)
    table = case_mix_decomposition(hits, groups, strata)
    assert table["expected_from_case_mix"].tolist() == pytest.approx([0.6, 0.6])
    assert table["standardised"].tolist() == pytest.approx([0.5, 0.7])


def test_case_mix_standardisation_renormalises_over_the_strata_a_group_has():
    rows = _cases("A", "easy", 10, 10) + _cases("B", "easy", 10, 5) + _cases("B", "hard", 30, 0)
    groups, strata, hits = zip(*rows)
    table = case_mix_decomposition(hits, groups, strata)
    assert table.loc["A", "coverage"] == pytest.approx(0.4) and table.loc["A", "standardised"] == pytest.approx(1.0)


def test_paired_difference_brackets_the_mean_and_widens_when_items_come_in_copies():
    rng = np.random.default_rng(0)
    first, second = rng.random(40) < 0.7, rng.random(40) < 0.4
    alone = paired_difference(first, second)
    assert alone["difference"] == pytest.approx(np.mean(first.astype(float) - second)) and alone["n"] == 40
    assert alone["ci"][0] < alone["difference"] < alone["ci"][1]
    # Ten identical copies of each photo: a per-photo bootstrap would shrink the interval ~3x; by cluster it does not.
    copies = paired_difference(np.repeat(first, 10), np.repeat(second, 10), clusters=np.repeat(np.arange(40), 10))
    naive = paired_difference(np.repeat(first, 10), np.repeat(second, 10))
    assert copies["difference"] == pytest.approx(alone["difference"])
    assert copies["ci"][1] - copies["ci"][0] == pytest.approx(alone["ci"][1] - alone["ci"][0], rel=0.2)
    assert naive["ci"][1] - naive["ci"][0] < 0.5 * (copies["ci"][1] - copies["ci"][0])


def test_iqr_rejects_outlying_frames():
    values = np.array([12.0, 12.2, 11.9, 12.1, 12.0, 3.0, 25.0])
    assert iqr_inliers(values).tolist() == [True] * 5 + [False, False]
    result = aggregate_estimates(values)
    assert result.estimate == pytest.approx(12.0) and result.n_used == 5 and result.rejected == [5, 6]


def test_aggregate_ignores_non_finite_and_keeps_small_sets():
    result = aggregate_estimates([11.0, float("nan"), 13.0])
    assert result.estimate == 12.0 and result.n_used == 2 and result.n_rejected == 1


def test_conformal_coverage_on_held_out_groups():
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(20), 25)
    y = rng.normal(12, 2, len(groups))
    p = y + rng.normal(0, 1.0, len(groups))
    result = loso_conformal_coverage(y, p, groups, coverage=0.9)
    assert 0.85 <= result["empirical_coverage"] <= 0.95
    assert result["mean_width"] == pytest.approx(2 * 1.645, rel=0.15)
    assert conformal_half_width(y - p, 0.9) == pytest.approx(1.645, rel=0.15)


def test_screening_below_each_cut_off_by_hand_with_group_resampled_cis():
    from vitalens.evaluation.metrics import screening_with_ci

    y, predicted = [6.0, 7.0, 12.0, 13.0, 10.0, 14.0], [7.0, 9.0, 12.0, 13.0, 11.5, 10.9]
    below_8, below_11 = screening_with_ci(y, predicted, clusters=["a", "a", "b", "b", "c", "c"], n_boot=200)
    assert (below_8["n_below"], below_8["sensitivity"], below_8["specificity"]) == (2, 0.5, 1.0)
    assert (below_11["n_below"], below_11["sensitivity"], below_11["specificity"]) == (3, 2 / 3, 2 / 3)
    assert below_11["sensitivity_ci"][0] <= 2 / 3 <= below_11["sensitivity_ci"][1]


def test_the_balanced_head_pulls_rare_low_targets_less_towards_the_mean():
    from vitalens.heads import linear_parameters, make_head

    rng = np.random.default_rng(0)
    x = np.r_[rng.uniform(12, 16, 190), rng.uniform(5, 8, 10)]
    X = (x + rng.normal(0, 1.5, len(x)))[:, None]
    plain, balanced = make_head("ridge").fit(X, x), make_head("ridge_balanced").fit(X, x)
    low = x < 8
    assert np.abs(balanced.predict(X[low]) - x[low]).mean() < np.abs(plain.predict(X[low]) - x[low]).mean() - 0.5
    weights, bias = linear_parameters(balanced)  # still one exportable linear map
    np.testing.assert_allclose(X @ weights + bias, balanced.predict(X), atol=1e-9)


def test_the_nail_bed_rule_leaves_glare_and_the_white_free_edge_out():
    import torch

    from vitalens.tasks.hb_nails.features import nail_bed

    crop = torch.zeros(1, 3, 10, 10)
    crop[0, :, :, :] = torch.tensor([0.8, 0.5, 0.5])[:, None, None]  # pink bed
    crop[0, :, :2, :] = 0.97  # glare / free edge: bright and white
    bed = nail_bed(crop)[0, :, 0, 0]
    torch.testing.assert_close(bed, torch.tensor([0.8, 0.5, 0.5]))
    assert crop.mean(dim=(2, 3))[0, 1] > 0.58  # the plain mean is pulled up by it
