"""Report figures (PNG). Matplotlib with the Agg backend: no display needed."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def predicted_vs_true(y_true, y_pred, path: Path, unit: str = "g/dL", title: str = "Out-of-fold estimates") -> Path:
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(y_true, y_pred, s=14, alpha=0.7)
    low, high = float(np.nanmin([y_true, y_pred])) - 0.5, float(np.nanmax([y_true, y_pred])) + 0.5
    ax.plot([low, high], [low, high], "k--", lw=1, label="identity")
    ax.set(xlim=(low, high), ylim=(low, high), xlabel=f"true ({unit})", ylabel=f"estimated ({unit})", title=title)
    ax.legend()
    return _save(fig, path)


def bland_altman_plot(y_true, y_pred, path: Path, unit: str = "g/dL") -> Path:
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    mean, diff = (y_true + y_pred) / 2, y_pred - y_true
    bias, spread = diff.mean(), diff.std(ddof=1)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(mean, diff, s=14, alpha=0.7)
    for value, style, label in ((bias, "-", f"bias {bias:+.2f}"), (bias + 1.96 * spread, "--", "95 % limits"), (bias - 1.96 * spread, "--", None)):
        ax.axhline(value, color="k", ls=style, lw=1, label=label)
    ax.set(xlabel=f"mean of true and estimate ({unit})", ylabel=f"estimate − true ({unit})", title="Bland–Altman")
    ax.legend()
    return _save(fig, path)


def error_by_group(table: pd.DataFrame, path: Path, metric: str = "mae", title: str = "", baseline=None) -> Path:
    """Bar per group (its n under the label) with its bootstrap CI (columns `<metric>_ci_low/high`) when
    present, beside the baseline: one overall value as a line, or one value per group as grey bars."""
    fig, ax = plt.subplots(figsize=(6, 4))
    values = table[metric].to_numpy(float)
    errors = None
    if f"{metric}_ci_low" in table:
        errors = np.vstack([values - table[f"{metric}_ci_low"].to_numpy(float), table[f"{metric}_ci_high"].to_numpy(float) - values])
    labels = [f"{g}\n(n={n})" for g, n in zip(table.index, table["n"])] if "n" in table else [str(g) for g in table.index]
    positions = np.arange(len(labels))
    per_group = baseline is not None and np.ndim(baseline) == 1  # the baseline's own value in each group
    width = 0.4 if per_group else 0.8
    ax.bar(positions - (width / 2 if per_group else 0), values, width, yerr=errors, capsize=4, color="#4c72b0", label="model")
    if per_group:
        ax.bar(positions + width / 2, np.asarray(baseline, float), width, color="#c8ccd2", label="mean predictor")
    elif baseline is not None:
        ax.axhline(baseline, color="k", ls="--", lw=1, label=f"mean predictor overall {baseline:.2f}")
    ax.set_xticks(positions, labels)
    if baseline is not None:
        ax.legend()
    ax.set(ylabel=metric.upper(), title=title)
    return _save(fig, path)
