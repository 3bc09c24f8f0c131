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


def cluster_bootstrap_ci(statistic, n: int, clusters=None, n_boot: int = 1000, seed: int = 0) -> list[float]:
    """95 % percentile CI of `statistic(indices)` when whole clusters (sessions, hospitals) are resampled:
    photos of one session share its light and camera, so counting them as independent would narrow the CI."""
    clusters = np.arange(n) if clusters is None else np.asarray(clusters)
    members = [np.flatnonzero(clusters == c) for c in np.unique(clusters)]
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_boot):
        value = statistic(np.concatenate([members[i] for i in rng.integers(len(members), size=len(members))]))
        if np.isfinite(value):
            draws.append(value)
    return [float(q) for q in np.percentile(draws, [2.5, 97.5])] if draws else [float("nan"), float("nan")]


def screening_with_ci(y_true, y_pred, thresholds=(8.0, 11.0), clusters=None, n_boot: int = 1000) -> list[dict]:
    """Sensitivity and specificity of "estimate below t" for "Hb below t", each with its cluster-bootstrap CI."""
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    rows = []
    for threshold in thresholds:
        truth, alarm = y_true < threshold, y_pred < threshold

        def rate(index, wanted):
            chosen = truth[index] == wanted
            return float(np.mean(alarm[index][chosen] == wanted)) if chosen.any() else float("nan")

        everyone = np.arange(len(y_true))
        rows.append({"threshold": threshold, "n_below": int(truth.sum()), "n_above": int((~truth).sum()),
                     "sensitivity": rate(everyone, True), "sensitivity_ci": cluster_bootstrap_ci(lambda i: rate(i, True), len(y_true), clusters, n_boot),
                     "specificity": rate(everyone, False), "specificity_ci": cluster_bootstrap_ci(lambda i: rate(i, False), len(y_true), clusters, n_boot)})  # fmt: skip
    return rows


def mae_by_severity_with_ci(y_true, y_pred, clusters=None, n_boot: int = 1000) -> dict[str, dict[str, float]]:
    """`mae_by_severity` with each band's cluster-bootstrap 95 % CI."""
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    bands, error = np.asarray(who_severity(y_true)), np.abs(y_pred - y_true)
    table = mae_by_severity(y_true, y_pred)
    for band, row in table.items():
        in_band = bands == band
        row["ci"] = cluster_bootstrap_ci(lambda i: float(error[i][in_band[i]].mean()) if in_band[i].any() else float("nan"), len(y_true), clusters, n_boot)
    return table
