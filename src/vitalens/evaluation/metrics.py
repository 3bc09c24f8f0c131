"""Regression and screening metrics, each a plain function of (truth, prediction)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax
from sklearn.metrics import mean_absolute_error, median_absolute_error, r2_score, roc_auc_score, root_mean_squared_error

from vitalens.interpretation import who_severity

DEFAULT_ANAEMIA_THRESHOLD = 12.0  # g/dL: WHO 2024 non-pregnant women, the conservative default when sex is unknown


def bland_altman(y_true, y_pred) -> dict[str, float]:
    """Mean difference (prediction − truth) and its 95 % limits of agreement (bias ± 1.96 SD)."""
    difference = np.asarray(y_pred, float) - np.asarray(y_true, float)
    bias = float(difference.mean())
    spread = float(difference.std(ddof=1)) if len(difference) > 1 else 0.0
    return {"bias": bias, "loa_low": bias - 1.96 * spread, "loa_high": bias + 1.96 * spread}


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    error = np.abs(y_pred - y_true)
    metrics = {
        "n": int(len(y_true)),
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "rmse": float(root_mean_squared_error(y_true, y_pred)),
        "r2": float(r2_score(y_true, y_pred)) if len(y_true) > 1 else float("nan"),
        "median_ae": float(median_absolute_error(y_true, y_pred)),
        "within_1": float(np.mean(error <= 1.0)),
        "within_2": float(np.mean(error <= 2.0)),
    }
    metrics.update(bland_altman(y_true, y_pred))
    return metrics


def anaemia_detection(y_true, y_pred, threshold: float = DEFAULT_ANAEMIA_THRESHOLD) -> dict[str, float]:
    """Screening view: anaemic means Hb below `threshold`; a lower estimate is a stronger alarm."""
    truth = np.asarray(y_true, float) < threshold
    alarm = np.asarray(y_pred, float) < threshold
    positives, negatives = truth.sum(), (~truth).sum()
    return {
        "threshold": threshold,
        "prevalence": float(truth.mean()),
        "sensitivity": float((alarm & truth).sum() / positives) if positives else float("nan"),
        "specificity": float((~alarm & ~truth).sum() / negatives) if negatives else float("nan"),
        "roc_auc": float(roc_auc_score(truth, -np.asarray(y_pred, float))) if 0 < positives < len(truth) else float("nan"),
    }


def mae_by_severity(y_true, y_pred) -> dict[str, dict[str, float]]:
    """MAE within each WHO severity band of the true Hb (default population: sex unknown)."""
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    bands = np.asarray(who_severity(y_true))
    table = {}
    for band in ("severe", "moderate", "mild", "none"):
        mask = bands == band
        table[band] = {"n": int(mask.sum()), "mae": float(np.mean(np.abs(y_pred[mask] - y_true[mask]))) if mask.any() else float("nan")}
    return table


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """Top-label ECE with equal-width confidence bins. scikit-learn has reliability curves but no ECE."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    gap = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            gap += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(gap)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T that minimises the negative log-likelihood of softmax(logits / T) (Guo et al., 2017)."""

    def nll(log_t: float) -> float:
        return float(-log_softmax(logits / np.exp(log_t), axis=1)[np.arange(len(labels)), labels].mean())

    return float(np.exp(minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded").x))


def paired_difference(first, second, clusters=None, n_boot: int = 2000, seed: int = 0) -> dict:
    """Mean of first - second over the same items (e.g. two models' hits on the same photos) with a
    percentile-bootstrap 95 % CI; with `clusters` (e.g. near-duplicate groups) whole clusters are resampled,
    so items that are not independent are not counted as if they were."""
    difference = np.asarray(first, float) - np.asarray(second, float)
    _, cluster = np.unique(np.arange(len(difference)) if clusters is None else np.asarray(clusters), return_inverse=True)
    sums, counts = np.bincount(cluster, difference), np.bincount(cluster)
    rng = np.random.default_rng(seed)
    draws = [sums[pick].sum() / counts[pick].sum() for pick in (rng.integers(len(sums), size=len(sums)) for _ in range(n_boot))]
    return {"difference": float(difference.mean()), "ci": [float(q) for q in np.percentile(draws, [2.5, 97.5])], "n": len(difference)}
