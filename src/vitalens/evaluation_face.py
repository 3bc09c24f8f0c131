"""Face age + gender evaluation: accuracy/F1, age errors, gender calibration (ECE before and after
temperature scaling), fairness audits by race, gender and age band with bootstrap 95 % CIs, the
majority-class and mean-age baselines beside, and figures, written to a run folder.

`disaggregate` mirrors the lead's `vitalens.evaluation.fairness.disaggregate` (same signature and
table) until that module lands on main; then this copy should be replaced by an import.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from vitalens import DISCLAIMER
from vitalens.data.utkface import AGE_BANDS, GENDERS, load_utkface

Metric = Callable[[np.ndarray, np.ndarray], float]
AUDIT_ATTRIBUTES = ("race", "gender", "age_band")


# ---- metric functions -------------------------------------------------------------------------
def gender_accuracy(y_true, y_pred) -> float:
    return float(accuracy_score(y_true, y_pred))


def absolute_error_mean(y_true, y_pred) -> float:
    return float(np.mean(np.abs(np.asarray(y_pred, float) - np.asarray(y_true, float))))


def gender_metrics(true_labels, predicted_labels) -> dict:
    precision, recall, f1, support = precision_recall_fscore_support(true_labels, predicted_labels, labels=list(GENDERS), zero_division=0)
    per_class = {g: {"precision": float(p), "recall": float(r), "f1": float(f), "n": int(n)} for g, p, r, f, n in zip(GENDERS, precision, recall, f1, support)}
    return {"accuracy": gender_accuracy(true_labels, predicted_labels), "per_class": per_class}


def age_metrics(true_age, predicted_age) -> dict:
    true_age, predicted_age = np.asarray(true_age, float), np.asarray(predicted_age, float)
    error = np.abs(predicted_age - true_age)
    by_band = {}
    for low, high, label in AGE_BANDS:
        members = (true_age >= low) & (true_age <= high)
        if members.any():
            by_band[label] = {"mae": float(error[members].mean()), "n": int(members.sum())}
    return {
        "mae": float(error.mean()),
        "median_ae": float(np.median(error)),
        "within_5y": float(np.mean(error <= 5)),
        "within_10y": float(np.mean(error <= 10)),
        "mae_by_age_band": by_band,
    }


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


def disaggregate(y_true, y_pred, sensitive: pd.Series, metrics: dict[str, Metric], n_boot: int = 1000, seed: int = 0, worst: str = "max") -> pd.DataFrame:
    """One row per group: n, each metric, its bootstrap 95 % CI; the worst group on the first metric is flagged.

    fairlearn's MetricFrame gives the point estimates; it has no confidence intervals, so the
    percentile bootstrap (resampling within each group) is added here.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    sensitive = pd.Series(np.asarray(sensitive, dtype=object), name=getattr(sensitive, "name", None) or "group").astype(str)
    table = MetricFrame(metrics=metrics, y_true=y_true, y_pred=y_pred, sensitive_features=sensitive).by_group.copy()
    table.insert(0, "n", sensitive.value_counts().reindex(table.index).astype(int))
    rng = np.random.default_rng(seed)
    for name, metric in metrics.items():
        bounds = []
        for group in table.index:
            members = np.flatnonzero(sensitive.to_numpy() == group)
            draws = [metric(y_true[s], y_pred[s]) for s in (rng.choice(members, len(members)) for _ in range(n_boot))]
            bounds.append(np.percentile(draws, [2.5, 97.5]))
        table[f"{name}_ci_low"], table[f"{name}_ci_high"] = np.array(bounds).T
    first = next(iter(metrics))
    table["worst"] = table.index == (table[first].idxmax() if worst == "max" else table[first].idxmin())
    return table


# ---- a run's report ---------------------------------------------------------------------------
def evaluate_face_run(run_dir: str | Path, data_dir: str | Path, n_boot: int = 1000) -> dict:
    """Read predictions_{validation,test}.csv from run_dir; write report.json, audit CSVs and figures."""
    run_dir = Path(run_dir)
    validation = pd.read_csv(run_dir / "predictions_validation.csv")
    test = pd.read_csv(run_dir / "predictions_test.csv")
    temperature = fit_temperature(_logits(validation), _labels(validation))
    test = with_gender_predictions(test, temperature)
    train = [s for s in load_utkface(data_dir).samples if s.attributes["split"] == "train"]
    majority = pd.Series([s.targets["gender"] for s in train]).mode()[0]
    mean_age = float(np.mean([s.targets["age"] for s in train]))
    labels = _labels(test)
    report = {
        "disclaimer": DISCLAIMER,
        "split": "held-out test: sha1(file name) in the lowest 15 % (vitalens.data.utkface.split_of); never trained on or tuned on",
        "limitation": "UTKFace has no person id: the same person may appear in train and test, so scores may be optimistic for unseen people",
        "n_test": len(test),
        "gender": gender_metrics(test["gender"], test["predicted_gender"]),
        "age": age_metrics(test["age"], test["predicted_age"]),
        "calibration": {
            "temperature": temperature,
            "temperature_fitted_on": "validation split",
            "ece_before": expected_calibration_error(softmax(_logits(test), axis=1), labels),
            "ece_after": expected_calibration_error(softmax(_logits(test) / temperature, axis=1), labels),
        },
        "baselines": {
            "majority_gender": majority,
            "majority_gender_accuracy": gender_accuracy(test["gender"], [majority] * len(test)),
            "train_mean_age": mean_age,
            "mean_age_mae": absolute_error_mean(test["age"], np.full(len(test), mean_age)),
        },
        "audit": {},
    }
    for attribute in AUDIT_ATTRIBUTES:
        table = audit_table(test, attribute, n_boot)
        table.to_csv(run_dir / f"audit_{attribute}.csv")
        report["audit"][attribute] = json.loads(table.to_json(orient="index"))
    write_figures(test, run_dir)
    (run_dir / "report.json").write_text(json.dumps(report, indent=2))
    return report


def with_gender_predictions(frame: pd.DataFrame, temperature: float = 1.0) -> pd.DataFrame:
    probabilities = softmax(_logits(frame) / temperature, axis=1)
    return frame.assign(predicted_gender=np.array(GENDERS)[probabilities.argmax(axis=1)], probability_female=probabilities[:, 1])


def audit_table(frame: pd.DataFrame, attribute: str, n_boot: int = 1000) -> pd.DataFrame:
    """Age MAE (worst = highest) and gender accuracy per group, each with a bootstrap 95 % CI."""
    sensitive = frame[attribute].rename(attribute)
    age = disaggregate(frame["age"], frame["predicted_age"], sensitive, {"age_mae": absolute_error_mean}, n_boot)
    correct = (frame["gender"] == frame["predicted_gender"]).astype(float)
    gender = disaggregate(correct, np.ones(len(frame)), sensitive, {"gender_accuracy": lambda t, p: float(np.mean(t))}, n_boot, worst="min")
    return age.rename(columns={"worst": "worst_age_mae"}).join(gender.drop(columns="n").rename(columns={"worst": "worst_gender_accuracy"}))


def write_figures(frame: pd.DataFrame, run_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    matrix = confusion_matrix(frame["gender"], frame["predicted_gender"], labels=list(GENDERS))
    ConfusionMatrixDisplay(matrix, display_labels=list(GENDERS)).plot(colorbar=False)
    plt.title("Gender, held-out split")
    plt.savefig(run_dir / "confusion_matrix.png", dpi=120, bbox_inches="tight")
    plt.close("all")

    figure, axis = plt.subplots(figsize=(5, 5))
    axis.scatter(frame["age"], frame["predicted_age"], s=4, alpha=0.3)
    top = float(max(frame["age"].max(), frame["predicted_age"].max()))
    axis.plot([0, top], [0, top], color="black", linewidth=1)
    axis.set(xlabel="true age (years)", ylabel="predicted age (years)", title="Age, held-out split")
    figure.savefig(run_dir / "age_predicted_vs_true.png", dpi=120, bbox_inches="tight")
    plt.close(figure)

    figure, axes = plt.subplots(1, len(AUDIT_ATTRIBUTES), figsize=(4 * len(AUDIT_ATTRIBUTES), 3.5))
    for axis, attribute in zip(axes, AUDIT_ATTRIBUTES):
        table = pd.read_csv(run_dir / f"audit_{attribute}.csv", index_col=0)
        errors = [table["age_mae"] - table["age_mae_ci_low"], table["age_mae_ci_high"] - table["age_mae"]]
        axis.bar(table.index.astype(str), table["age_mae"], yerr=errors, capsize=3)
        axis.set(title=f"age MAE by {attribute}", ylabel="years")
        axis.tick_params(axis="x", rotation=45)
    figure.tight_layout()
    figure.savefig(run_dir / "error_by_group.png", dpi=120)
    plt.close(figure)


def _logits(frame: pd.DataFrame) -> np.ndarray:
    return frame[["logit_male", "logit_female"]].to_numpy(float)


def _labels(frame: pd.DataFrame) -> np.ndarray:
    return frame["gender"].map({g: i for i, g in enumerate(GENDERS)}).to_numpy()
