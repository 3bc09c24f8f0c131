"""Skin-condition metrics on (label index, class scores): top-1 / top-3 / macro recall / macro-F1 /
three-partition accuracy with bootstrap 95 % CIs, per-group audits (worst group flagged), the lighting
head's accuracy and PR curve, and how photo-measured ITA° agrees with annotated Fitzpatrick types.
Shared by the training run's report (`evaluation`) and the held-out evaluation of a bundle (`heldout`)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from scipy.special import softmax
from scipy.stats import spearmanr
from sklearn.metrics import average_precision_score, cohen_kappa_score, precision_recall_curve, roc_auc_score

from vitalens.evaluation.fairness import disaggregate

AUDIT_ATTRIBUTES = ("fitzpatrick_group", "ita_group")
HEADLINE = ("top1", "top3", "macro_recall", "macro_f1", "three_partition_accuracy")
ITA_TO_FITZPATRICK = {"light (ITA>41)": "I-II", "intermediate/tan (10<ITA<=41)": "III-IV", "brown/dark (ITA<=10)": "V-VI"}


def top_k_accuracy(labels: np.ndarray, scores: np.ndarray, k: int) -> float:
    top = np.argsort(-scores, axis=1)[:, :k]
    return float(np.mean((top == labels[:, None]).any(axis=1)))


def class_metrics(labels: np.ndarray, scores: np.ndarray) -> dict:
    """Top-1, top-3, macro recall and macro-F1 (over the classes present in `labels`) from class scores."""
    predicted = scores.argmax(1)
    recall, f1 = macro_recall_f1(labels, predicted, scores.shape[1])
    return {"top1": float(np.mean(predicted == labels)), "top3": top_k_accuracy(labels, scores, 3), "macro_recall": recall, "macro_f1": f1}


def macro_recall_f1(labels: np.ndarray, predicted: np.ndarray, n_classes: int) -> tuple[float, float]:
    """sklearn's recall_score and f1_score with labels=np.unique(labels), average="macro", zero_division=0,
    from one confusion count. Written out because the bootstrap calls it 1,000 times per model and sklearn's
    input checks made the metrics most of a skin evaluation (tests/test_skin.py compares the two)."""
    counts = np.bincount(labels * n_classes + predicted, minlength=n_classes * n_classes).reshape(n_classes, n_classes)
    true, said = counts.sum(1), counts.sum(0)
    present = true > 0  # so no denominator below is 0
    hits = np.diag(counts)[present]
    return float((hits / true[present]).mean()), float((2 * hits / (true[present] + said[present])).mean())


def classification_metrics(labels: np.ndarray, scores: np.ndarray, partition_of_class: np.ndarray, partitions: np.ndarray) -> dict:
    probabilities = softmax(scores, axis=1)
    partition_probabilities = np.stack([probabilities[:, partition_of_class == p].sum(1) for p in range(partition_of_class.max() + 1)], 1)
    return {**class_metrics(labels, scores), "three_partition_accuracy": float(np.mean(partition_probabilities.argmax(1) == partitions))}


def with_bootstrap(labels, scores, partition_of_class, partitions, n_boot: int = 1000, seed: int = 0) -> dict:
    """Each headline metric with its percentile-bootstrap 95 % CI over held-out photos."""
    point = classification_metrics(labels, scores, partition_of_class, partitions)
    rng = np.random.default_rng(seed)
    draws = [classification_metrics(labels[s], scores[s], partition_of_class, partitions[s])
             for s in (rng.integers(len(labels), size=len(labels)) for _ in range(n_boot))]  # fmt: skip
    return {name: {"value": point[name], "ci": [float(np.percentile([d[name] for d in draws], q)) for q in (2.5, 97.5)]} for name in point}


def recall_ci(hits: np.ndarray, n_boot: int, seed: int = 0) -> list[float]:
    if not len(hits):
        return [float("nan"), float("nan")]
    draws = np.random.default_rng(seed).choice(hits, (n_boot, len(hits))).mean(1)
    return [float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))]


def _accuracy(y_true, y_pred) -> float:
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def _mean_hit(y_true, _) -> float:
    return float(np.mean(y_true))


def audit(frame: pd.DataFrame, labels: np.ndarray, scores: np.ndarray, attribute: str, n_boot: int) -> pd.DataFrame:
    """top-1 (worst = lowest flagged) and top-3 per group, each with a bootstrap 95 % CI."""
    sensitive = frame[attribute].reset_index(drop=True).rename(attribute)
    top1 = disaggregate(labels, scores.argmax(1), sensitive, {"top1": _accuracy}, n_boot, worst="min")
    hit3 = (np.argsort(-scores, 1)[:, :3] == labels[:, None]).any(1).astype(float)
    top3 = disaggregate(hit3, hit3, sensitive, {"top3": _mean_hit}, n_boot, worst="min")
    return top1.join(top3.drop(columns=["n", "worst"]))


def candidate_suffix(name: str) -> str:
    """File-name suffix of a candidate model that was not shipped ("depth probe" → "_depth_probe")."""
    return "_" + name.replace(" ", "_").replace("-", "_")


def prediction_scores(frame: pd.DataFrame, classes: list[str]) -> np.ndarray:
    """[N, C] class scores from a run's predictions_*.csv rows, columns in `classes` order."""
    return frame[[f"logit::{c}" for c in classes]].to_numpy(float)


def lighting_metrics(frame: pd.DataFrame, threshold: float) -> dict:
    truth, probability = frame["lighting_good_true"].to_numpy(int), frame["lighting_good_prob"].to_numpy(float)
    said = probability >= threshold
    poor = 1 - truth
    result = {
        "n": len(frame), "threshold": threshold, "good_fraction": float(truth.mean()),
        "accuracy": float(np.mean(said == truth)),
        "balanced_accuracy": float(0.5 * (said[truth == 1].mean() + (~said[truth == 0]).mean())),
        "auc": float(roc_auc_score(truth, probability)),
        "average_precision_poor": float(average_precision_score(poor, 1 - probability)),
        "majority_accuracy": float(max(truth.mean(), 1 - truth.mean())),
        "by_degradation": {kind: {"n": int(len(g)), "poor_fraction": float(1 - g["lighting_good_true"].mean()),
                                  "accuracy": float(np.mean((g["lighting_good_prob"] >= threshold) == g["lighting_good_true"]))}
                           for kind, g in frame.groupby("degradation")},
    }  # fmt: skip
    precision, recall, _ = precision_recall_curve(poor, 1 - probability)
    result["pr_curve_poor"] = {"precision": precision[::max(1, len(precision) // 50)].tolist(), "recall": recall[::max(1, len(recall) // 50)].tolist()}
    result["by_fitzpatrick_group"] = {g: float(np.mean((part["lighting_good_prob"] >= threshold) == part["lighting_good_true"])) for g, part in frame.groupby("fitzpatrick_group")}
    return result


def ita_agreement(split: pd.DataFrame) -> dict:
    """How the photo-measured ITA° agrees with the annotated Fitzpatrick type (all photos with both)."""
    known = split[(split["fitzpatrick"] > 0) & np.isfinite(split["ita"])]
    rho, p = spearmanr(known["fitzpatrick"], known["ita"])
    mapped = known["ita_group"].map(ITA_TO_FITZPATRICK)
    order = ["I-II", "III-IV", "V-VI"]
    table = pd.crosstab(known["fitzpatrick_group"], known["ita_group"]).reindex(index=order, columns=list(ITA_TO_FITZPATRICK), fill_value=0)
    return {
        "n": len(known), "no_skin_found": int((~np.isfinite(split["ita"])).sum()),
        "spearman_rho_type_vs_ita": float(rho), "spearman_p": float(p),
        "group_agreement": float(np.mean(mapped == known["fitzpatrick_group"])),
        "quadratic_kappa": float(cohen_kappa_score(known["fitzpatrick_group"].map(order.index), mapped.map(order.index), weights="quadratic")),
        "confusion": json.loads(table.to_json(orient="index")),
        "median_ita_by_type": {int(t): float(g["ita"].median()) for t, g in known.groupby("fitzpatrick")},
    }
