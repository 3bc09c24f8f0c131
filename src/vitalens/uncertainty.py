"""Split-conformal prediction intervals from group-aware out-of-fold residuals.

crepes computes the conformal quantile during training; the resulting half-width is stored in the
bundle so the runtime only adds and subtracts it (no crepes needed at inference).
"""

from __future__ import annotations

import warnings

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


def mondrian_reaches(residuals, bins, coverage: float, lower_share: float | None = None) -> dict[int, tuple[float, float]]:
    """How far the interval reaches below and above the estimate, per bin of the estimate. Symmetric
    (`lower_share` None): the Mondrian half-width on both sides. Otherwise crepes' conformal predictive
    system on the signed residuals (y - estimate): of the miss rate 1 - coverage, `lower_share` is spent
    below the interval and the rest above, so a model that over-estimates its rare low values (anaemia) can
    be given a longer reach downwards. A bin too small for a finite bound takes the widest finite one (or,
    when no bin has one, the pooled bound); with too few residuals in all, the bound stays infinite."""
    residuals, bins = np.asarray(residuals, dtype=np.float64), np.asarray(bins)
    if lower_share is None:
        return {b: (w, w) for b, w in mondrian_half_widths(np.abs(residuals), bins, coverage).items()}
    from crepes import ConformalPredictiveSystem

    miss = 1.0 - coverage
    tails = {"lower_percentiles": [100 * miss * lower_share], "higher_percentiles": [100 * (1 - miss * (1 - lower_share))]}
    found = {}
    with warnings.catch_warnings():  # crepes warns of a bin too small for a finite bound: handled just below
        warnings.simplefilter("ignore", UserWarning)
        for b in np.unique(bins):
            system = ConformalPredictiveSystem().fit(residuals[bins == b])
            low, high = system.predict(np.zeros(1), smoothing=False, **tails)[0]
            found[int(b)] = (-float(low), float(high))
    widest = tuple(max((r[side] for r in found.values() if np.isfinite(r[side])), default=np.inf) for side in (0, 1))
    if not all(np.isfinite(widest)) and len(found) > 1:  # no bin finite on a side: all residuals pooled decide it
        pooled = mondrian_reaches(residuals, np.zeros(len(residuals), dtype=int), coverage, lower_share)[0]
        widest = tuple(w if np.isfinite(w) else p for w, p in zip(widest, pooled))
    return {b: tuple(r[side] if np.isfinite(r[side]) else widest[side] for side in (0, 1)) for b, r in found.items()}


def outer_fold_coverage(y_true, y_pred, outer, coverage: float, bin_edges=(), strata=None, lower_share: float | None = None) -> dict:
    """Each outer test fold's interval calibrated on the other outer folds' out-of-fold residuals only, so
    no person is in the calibration of their own interval; one width (split conformal), or with
    `bin_edges` one per bin of the estimate (Mondrian), symmetric or (`lower_share`) asymmetric. Coverage
    overall, per outer fold and per stratum (e.g. the WHO band of the true Hb), and the reaches calibrated
    on every residual, for the saved model."""
    y_true, y_pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    residuals, bins = y_true - y_pred, bin_of(y_pred, bin_edges)
    below, above = np.zeros(len(y_true)), np.zeros(len(y_true))
    for _, test in outer:
        others = np.setdiff1d(np.arange(len(y_true)), test)
        below[test], above[test] = reaches_of_bins(mondrian_reaches(residuals[others], bins[others], coverage, lower_share), bins[test])
    return {**calibrated_rule(residuals, y_pred, coverage, bin_edges, lower_share), **coverage_of(residuals, below, above, outer, strata)}


def calibrated_rule(residuals, estimates, coverage: float, bin_edges=(), lower_share: float | None = None) -> dict:
    """The rule fitted on every residual (y - estimate), as the saved model keeps it: its method, bins and
    reaches below and above (a symmetric rule's also as `bin_half_widths`), and the one pooled half-width."""
    residuals = np.asarray(residuals, dtype=np.float64)
    final = mondrian_reaches(residuals, bin_of(estimates, bin_edges), coverage, lower_share)
    final_below, final_above = reaches_of_bins(final, np.arange(len(bin_edges) + 1))
    block = {
        "method": ("mondrian-conformal" if len(bin_edges) else "split-conformal") + ("" if lower_share is None else ", asymmetric"),
        "target_coverage": coverage,
        "bin_edges": [float(e) for e in bin_edges],
        "bin_below": final_below.tolist(),
        "bin_above": final_above.tolist(),
        "half_width_all": conformal_half_width(residuals, coverage),
    }
    if lower_share is None:
        block["bin_half_widths"] = final_below.tolist()
    else:
        block["lower_share"] = float(lower_share)
    return block


def coverage_of(residuals, below, above, outer, strata=None) -> dict:
    """How often [estimate - below, estimate + above] held the truth: overall, per outer fold and per stratum."""
    residuals = np.asarray(residuals, dtype=np.float64)
    covered, widths = (-below <= residuals) & (residuals <= above), below + above
    strata = np.asarray(strata) if strata is not None else np.full(len(residuals), "all")
    return {
        "empirical_coverage": float(covered.mean()),
        "mean_width": float(widths.mean()),
        "by_fold": [{"fold": fold, "coverage": float(covered[test].mean()), "mean_width": float(widths[test].mean()), "n": len(test)}
                    for fold, (_, test) in enumerate(outer)],  # fmt: skip
        "by_stratum": {str(s): {"n": int((strata == s).sum()), "coverage": float(covered[strata == s].mean())} for s in dict.fromkeys(strata)},
    }


def reaches_of_bins(by_bin: dict[int, tuple[float, float]], bins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each bin's (below, above); a bin the calibration never reached takes the widest of each."""
    widest = (max(r[0] for r in by_bin.values()), max(r[1] for r in by_bin.values()))
    pairs = np.array([by_bin.get(int(b), widest) for b in bins], dtype=np.float64).reshape(-1, 2)
    return pairs[:, 0], pairs[:, 1]


def reach_at(uncertainty, estimate: float) -> tuple[float, float]:
    """How far the interval around `estimate` reaches (below, above): a bundle block with `bin_below` /
    `bin_above` (asymmetric Mondrian), else the symmetric half-width of `half_width_at` on both sides."""
    if isinstance(uncertainty, dict) and uncertainty.get("bin_below"):
        index = int(bin_of([estimate], uncertainty.get("bin_edges") or [])[0])
        return float(uncertainty["bin_below"][index]), float(uncertainty["bin_above"][index])
    half = half_width_at(uncertainty, estimate)
    return half, half


def half_width_at(uncertainty, estimate: float) -> float:
    """The interval half-width for `estimate`: a plain number, or a bundle's uncertainty block, whose
    `bin_edges` / `bin_half_widths` (Mondrian) pick the width by the estimate's bin."""
    if not isinstance(uncertainty, dict):
        return float(uncertainty)
    edges = uncertainty.get("bin_edges") or []
    if not edges:
        return float(uncertainty["half_width"])
    return float(uncertainty["bin_half_widths"][int(bin_of([estimate], edges)[0])])


def interval_around(estimate: float, uncertainty, floor: float = 0.0) -> tuple[float, float]:
    """The interval around `estimate` by the block's rule, its lower bound clipped at the physical `floor`."""
    below, above = reach_at(uncertainty, estimate)
    return max(floor, estimate - below), estimate + above


def describe_rule(block: dict, unit: str) -> str:
    """The rule in words for a card or report: the reach below and above per bin of the estimate, or one ±width."""
    edges = block.get("bin_edges") or []
    below, above = block.get("bin_below") or block.get("bin_half_widths"), block.get("bin_above") or block.get("bin_half_widths")
    if not edges or not below:
        width = block.get("half_width", block.get("half_width_all"))
        return f"±{width:.2f} {unit}"
    bounds = [f"below {edges[0]:g} {unit}"] + [f"{a:g}–{b:g} {unit}" for a, b in zip(edges, edges[1:])] + [f"{edges[-1]:g} {unit} and above"]
    reach = [f"±{b:.2f}" if abs(b - a) < 5e-3 else f"−{b:.2f} / +{a:.2f}" for b, a in zip(below, above)]
    return "; ".join(f"estimate {bound}: {r}" for bound, r in zip(bounds, reach))
