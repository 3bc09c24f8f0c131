"""Regression metrics and their disaggregation by group, for the lips benchmarks and the SYNTHETIC
fairness test.

A small stand-in until `vitalens.evaluation` (grouped splits, metrics, MetricFrame with bootstrap
CIs) lands; it uses the same conventions so the two can be unified: fairlearn's MetricFrame for
groups, and Bland-Altman on prediction minus reference.
"""

from __future__ import annotations

import numpy as np
from fairlearn.metrics import MetricFrame
from sklearn.metrics import mean_absolute_error, r2_score

BLAND_ALTMAN_Z = 1.96


def mean_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Signed bias (prediction minus reference): > 0 over-estimates."""
    return float(np.mean(np.asarray(y_pred) - np.asarray(y_true)))


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(y_pred) - np.asarray(y_true)) ** 2)))


def count(y_true: np.ndarray, y_pred: np.ndarray) -> int:
    return int(len(y_true))


def bland_altman(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float, float]:
    """Bias and 95 % limits of agreement of prediction minus reference."""
    difference = np.asarray(y_pred, dtype=float) - np.asarray(y_true, dtype=float)
    bias = float(difference.mean())
    spread = BLAND_ALTMAN_Z * float(difference.std(ddof=1)) if len(difference) > 1 else float("nan")
    return bias, bias - spread, bias + spread


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    bias, low, high = bland_altman(y_true, y_pred)
    return {
        "n": len(y_true),
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "rmse": rmse(y_true, y_pred),
        "r2": float(r2_score(y_true, y_pred)) if len(y_true) > 1 else float("nan"),
        "ba_bias": bias,
        "ba_low": low,
        "ba_high": high,
    }


def disaggregate(y_true: np.ndarray, y_pred: np.ndarray, groups: np.ndarray) -> MetricFrame:
    """MAE, RMSE, signed bias and n per group (fairlearn's MetricFrame)."""
    return MetricFrame(
        metrics={"mae": mean_absolute_error, "rmse": rmse, "bias": mean_error, "n": count},
        y_true=np.asarray(y_true, dtype=float),
        y_pred=np.asarray(y_pred, dtype=float),
        sensitive_features=np.asarray(groups),
    )


def mae_gap(frame: MetricFrame) -> float:
    """The largest MAE difference between any two groups."""
    return float(frame.difference()["mae"])
