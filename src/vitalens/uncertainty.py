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
