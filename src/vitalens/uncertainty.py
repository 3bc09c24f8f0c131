"""Split-conformal prediction intervals from group-aware out-of-fold residuals.

crepes computes the conformal quantile during training; the resulting half-width is stored in the
bundle so the runtime only adds and subtracts it (no crepes needed at inference).
"""

from __future__ import annotations

import numpy as np


def conformal_half_width(residuals, coverage: float) -> float:
    """Half-width of a symmetric interval with finite-sample coverage ≥ `coverage` under exchangeability."""
    from crepes import ConformalRegressor

    residuals = np.asarray(residuals, dtype=np.float64)
    residuals = residuals[np.isfinite(residuals)]
    regressor = ConformalRegressor().fit(residuals)
    interval = regressor.predict_int(np.zeros(1), confidence=coverage)
    return float(interval[0, 1])


def loso_conformal_coverage(y_true, y_pred, groups, coverage: float) -> dict:
    """Empirical coverage when each group's interval is calibrated on the other groups' residuals only."""
    y_true, y_pred, groups = np.asarray(y_true, float), np.asarray(y_pred, float), np.asarray(groups)
    residuals = y_true - y_pred
    covered, widths = np.zeros(len(y_true), dtype=bool), np.zeros(len(y_true))
    for group in np.unique(groups):
        held_out = groups == group
        half_width = conformal_half_width(residuals[~held_out], coverage)
        covered[held_out] = np.abs(residuals[held_out]) <= half_width
        widths[held_out] = 2 * half_width
    return {"target_coverage": coverage, "empirical_coverage": float(covered.mean()), "mean_width": float(widths.mean())}


def mondrian_half_widths(residuals, bins, coverage: float) -> dict[int, float]:
    """One conformal half-width per bin (Mondrian conformal prediction, as crepes' `bins` computes it): with bins by the
    estimate itself, a range the model gets wrong more often (low Hb) gets its own, wider interval instead
    of borrowing the narrow one of the common range."""
    residuals, bins = np.asarray(residuals, dtype=np.float64), np.asarray(bins)
    enough = int(np.ceil(1.0 / (1.0 - coverage))) - 1  # fewer residuals than this give an infinite interval
    widths = {int(b): conformal_half_width(residuals[bins == b], coverage) for b in np.unique(bins) if (bins == b).sum() >= enough}
    # A bin too small to calibrate takes the widest calibrated one (or the pooled width): wider, never unbounded.
    fallback = max(widths.values(), default=conformal_half_width(residuals, coverage))
    return {int(b): widths.get(int(b), fallback) for b in np.unique(bins)}


def bin_of(estimates, edges) -> np.ndarray:
    """The Mondrian bin of each estimate: 0 below edges[0], then one per edge (np.digitize)."""
    return np.digitize(np.asarray(estimates, dtype=np.float64), np.asarray(edges, dtype=np.float64))


def outer_fold_coverage(y_true, y_pred, outer, coverage: float, bin_edges=(), strata=None) -> dict:
    """Each outer test fold's interval calibrated on the other outer folds' out-of-fold residuals only, so
    no person is in the calibration of their own interval; one width (split conformal), or with
    `bin_edges` one per bin of the estimate (Mondrian). Coverage overall, per outer fold and per stratum
    (e.g. the WHO band of the true Hb), and the widths calibrated on every residual, for the saved model."""
    y_true, y_pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    residuals, bins = y_true - y_pred, bin_of(y_pred, bin_edges)
    covered, widths, by_fold = np.zeros(len(y_true), dtype=bool), np.zeros(len(y_true)), []
    for fold, (_, test) in enumerate(outer):
        others = np.setdiff1d(np.arange(len(y_true)), test)
        by_bin = mondrian_half_widths(residuals[others], bins[others], coverage)
        half = np.array([by_bin.get(b, max(by_bin.values())) for b in bins[test]])  # a bin no other fold reached: the widest
        covered[test], widths[test] = np.abs(residuals[test]) <= half, 2 * half
        by_fold.append({"fold": fold, "coverage": float(covered[test].mean()), "mean_width": float(widths[test].mean()), "n": len(test)})
    strata = np.asarray(strata) if strata is not None else np.full(len(y_true), "all")
    final = mondrian_half_widths(residuals, bins, coverage)
    return {
        "method": "mondrian-conformal" if len(bin_edges) else "split-conformal",
        "target_coverage": coverage,
        "empirical_coverage": float(covered.mean()),
        "mean_width": float(widths.mean()),
        "by_fold": by_fold,
        "by_stratum": {str(s): {"n": int((strata == s).sum()), "coverage": float(covered[strata == s].mean())} for s in dict.fromkeys(strata)},
        "bin_edges": [float(e) for e in bin_edges],
        "bin_half_widths": [final.get(b, max(final.values())) for b in range(len(bin_edges) + 1)],
        "half_width_all": conformal_half_width(residuals, coverage),
    }


def half_width_at(uncertainty, estimate: float) -> float:
    """The interval half-width for `estimate`: a plain number, or a bundle's uncertainty block, whose
    `bin_edges` / `bin_half_widths` (Mondrian) pick the width by the estimate's bin."""
    if not isinstance(uncertainty, dict):
        return float(uncertainty)
    edges = uncertainty.get("bin_edges") or []
    if not edges:
        return float(uncertainty["half_width"])
    return float(uncertainty["bin_half_widths"][int(bin_of([estimate], edges)[0])])
