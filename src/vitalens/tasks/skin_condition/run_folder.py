"""The run-folder files every skin verb writes the same way (see vitalens.runs): the headline rows the CLI
prints, metrics.csv (one row per model on the fixed held-out split), report.json / report.md and the
confusion-matrix figure. Shared by the training run's report (`evaluation`) and a bundle's held-out
evaluation (`heldout`), so both folders read alike."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vitalens.tasks.skin_condition.metrics import HEADLINE

MAJORITY = "majority class (train)"
HEADLINE_METRICS = ("top1", "top3", "macro_f1")  # the majority class answers the same for every photo: the floor to beat
FIGURES = "figures"


def headline(comparison: dict[str, dict[str, Any]], model: str, baseline: str = MAJORITY) -> list[dict[str, Any]]:
    """The report's headline: top-1, top-3 and macro-F1 of `model` beside the majority-class baseline."""
    return [{"metric": metric, "model": comparison[model][metric]["value"], "baseline": comparison[baseline][metric]["value"],
             "baseline_name": baseline} for metric in HEADLINE_METRICS]  # fmt: skip


def write_metrics(path: Path, comparison: dict[str, dict[str, Any]], split: str, n: int) -> None:
    """metrics.csv: one row per model on the held-out split, each headline metric with its 95 % CI."""
    rows = [{"split": split, "model": name, "n": n,
             **{key: value for metric in HEADLINE if metric in scores
                for key, value in ((metric, scores[metric]["value"]), (f"{metric}_ci_low", scores[metric]["ci"][0]), (f"{metric}_ci_high", scores[metric]["ci"][1]))}}
            for name, scores in comparison.items()]  # fmt: skip
    pd.DataFrame(rows).to_csv(path, index=False)


def write_report(run_dir: Path, report: dict[str, Any], markdown: str) -> None:
    (run_dir / "report.json").write_text(json.dumps(report, indent=2, default=float))
    (run_dir / "report.md").write_text(markdown)


def figures_dir(run_dir: Path) -> Path:
    folder = Path(run_dir) / FIGURES
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def confusion_figure(path: Path, matrix: np.ndarray, classes: list[str]) -> Path:
    """The held-out confusion matrix, colour normalised per true class, counts written in."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(11, 10))
    normalised = matrix / np.maximum(matrix.sum(1, keepdims=True), 1)
    axis.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    axis.set_xticks(range(len(classes)), classes, rotation=90, fontsize=7)
    axis.set_yticks(range(len(classes)), classes, fontsize=7)
    for (i, j), value in np.ndenumerate(matrix):
        if value:
            axis.text(j, i, int(value), ha="center", va="center", fontsize=6, color="white" if normalised[i, j] > 0.5 else "black")
    axis.set(xlabel="predicted", ylabel="true", title="Held-out confusion matrix (row-normalised colour)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
