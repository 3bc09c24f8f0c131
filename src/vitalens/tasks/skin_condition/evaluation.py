"""Skin-condition evaluation on the held-out split: top-1/top-3/macro recall/macro-F1/three-partition
accuracy with bootstrap 95 % CIs beside the majority-class and frozen-Lite0+logistic baselines, per-class
recall, confusion matrix, ECE before and after temperature scaling, the lighting head (accuracy, AUC,
PR curve), the oversampling ablation and the distilled student, all disaggregated by Fitzpatrick group
and ITA group (worst group flagged), plus ITA° vs annotated Fitzpatrick agreement. Writes report.json,
report.md, metrics.csv, predictions.csv (the shipped model's held-out answers), CSV tables and figures/
into the run folder (vitalens.runs' contract).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import softmax
from sklearn.metrics import confusion_matrix, recall_score

from vitalens import DISCLAIMER
from vitalens.evaluation.fairness import case_mix_decomposition, hit_rate_gap
from vitalens.evaluation.metrics import expected_calibration_error, paired_difference
from vitalens.tasks.skin_condition import TASK
from vitalens.tasks.skin_condition.metrics import (AUDIT_ATTRIBUTES, audit, candidate_suffix, ita_agreement, lighting_metrics, prediction_scores,
                                                   recall_ci, with_bootstrap)  # fmt: skip
from vitalens.tasks.skin_condition.report_markdown import markdown
from vitalens.tasks.skin_condition.run_folder import confusion_figure, figures_dir, headline, write_metrics, write_report


def evaluate_skin_run(run_dir: str | Path, n_boot: int = 1000, extra: dict | None = None) -> dict:
    """Held-out report of a run (report.json, report.md, audit CSVs, figures); `extra` (the export's checks) is merged in."""
    run_dir = Path(run_dir)
    info = json.loads((run_dir / "training.json").read_text())
    classes, temperature = info["classes"], info["temperature"]
    split = pd.read_csv(run_dir / "split.csv")
    test = pd.read_csv(run_dir / "predictions_test.csv")
    index = {c: i for i, c in enumerate(classes)}
    labels = test["label"].map(index).to_numpy()
    partition_names = sorted(split["three_partition"].unique())
    partition_of_class = np.array([partition_names.index(split.loc[split["label"] == c, "three_partition"].iloc[0]) for c in classes])
    partitions = test["three_partition"].map({p: i for i, p in enumerate(partition_names)}).to_numpy()
    evaluate = lambda scores: with_bootstrap(labels, scores, partition_of_class, partitions, n_boot)  # noqa: E731

    train = split[split["split"] == "train"]
    frequency = train["label"].value_counts().reindex(classes).fillna(0).to_numpy(float)
    majority_scores = np.tile(np.log(frequency + 1e-9), (len(test), 1))  # always the most frequent training classes, in order
    scores = prediction_scores(test, classes) / temperature
    models = {
        f"shipped model ({info['shipped']})": scores,
        "majority class (train)": majority_scores,
        "frozen Lite0 + logistic": prediction_scores(pd.read_csv(run_dir / "predictions_test_frozen_logistic.csv"), classes),
    }
    for name, candidate in info["candidates"].items():
        if name != info["shipped"]:
            models[f"candidate: {name}"] = prediction_scores(pd.read_csv(run_dir / f"predictions_test{candidate_suffix(name)}.csv"), classes) / candidate["temperature"]
    for balance in ("class_weights", "oversample"):
        models[f"ablation: {balance}"] = prediction_scores(pd.read_csv(run_dir / f"predictions_test_{balance}.csv"), classes)
    if (run_dir / "predictions_test_student.csv").is_file():
        models[f"distilled student ({info['student']['input_size']} px)"] = prediction_scores(pd.read_csv(run_dir / "predictions_test_student.csv"), classes) / info["student"]["temperature"]
    report: dict = {
        "disclaimer": DISCLAIMER, "task": TASK.name, "n_test": len(test), "data": info["data"],
        "split": info["data"]["split_rule"], "classes": classes, "temperature": temperature,
        "comparison": {name: evaluate(s) for name, s in models.items()},
    }  # fmt: skip
    predicted = scores.argmax(1)
    report["top1_over_frozen_baseline"] = paired_difference(predicted == labels, models["frozen Lite0 + logistic"].argmax(1) == labels, test["group"], n_boot)
    recall = recall_score(labels, predicted, labels=np.arange(len(classes)), average=None, zero_division=0)
    report["per_class"] = {c: {"n": int((labels == i).sum()), "recall": float(recall[i]), "recall_ci": recall_ci(predicted[labels == i] == i, n_boot),
                               "train_n": int(frequency[i])} for i, c in enumerate(classes)}  # fmt: skip
    matrix = confusion_matrix(labels, predicted, labels=np.arange(len(classes)))
    pd.DataFrame(matrix, index=classes, columns=classes).to_csv(run_dir / "confusion_matrix.csv")
    raw = prediction_scores(test, classes)
    report["calibration"] = {
        "temperature": temperature, "fitted_on": "validation split",
        "ece_before": expected_calibration_error(softmax(raw, 1), labels),
        "ece_after": expected_calibration_error(softmax(raw / temperature, 1), labels),
    }
    report["audit"] = {}
    for attribute in AUDIT_ATTRIBUTES:
        table = audit(test, labels, scores, attribute, n_boot)
        for name, other in list(models.items())[1:]:  # every comparison model's top-1 in the same groups, beside
            hits = pd.Series(other.argmax(1) == labels).groupby(test[attribute].fillna("unknown").to_numpy()).mean()
            table[f"top1 {name}"] = hits.reindex(table.index).to_numpy()
        table.to_csv(run_dir / f"audit_{attribute}.csv")
        report["audit"][attribute] = json.loads(table.to_json(orient="index"))
    report["fitzpatrick_top1_gap"] = hit_rate_gap(predicted == labels, test["fitzpatrick_group"], n_boot)
    report["fitzpatrick_case_mix"] = json.loads(case_mix_decomposition(predicted == labels, test["fitzpatrick_group"], labels).to_json(orient="index"))
    if (run_dir / "predictions_cv_depth_probe.csv").is_file():
        cross = pd.read_csv(run_dir / "predictions_cv_depth_probe.csv")
        report["cross_validated"] = cross_validated_report(cross, prediction_scores(cross, classes), index, partition_of_class, partition_names, n_boot)
    report["lighting"] = lighting_metrics(pd.read_csv(run_dir / "lighting_test.csv"), info["lighting"]["threshold"])
    report["ita_vs_fitzpatrick"] = ita_agreement(split)
    report["training"] = {"shipped": info["shipped"], "candidates": info["candidates"], "chosen_balance": info["chosen_balance"], "variants_val_top1": {k: v["val_top1"] for k, v in info["variants"].items()},
                          "phase_c_seconds_per_epoch": {k: float(np.mean([h["seconds"] for h in v["history"]])) for k, v in info["variants"].items()},
                          "timings": info["timings"], "phased_fine_tune_calibration_layer": info["phased_fine_tune_calibration_layer"]}  # fmt: skip
    if "student" in info:
        report["training"]["student_seconds_per_epoch"] = float(np.mean([h["seconds"] for h in info["student"]["history"]]))
    report.update(extra or {})
    shipped = next(iter(models))
    report["headline"] = headline(report["comparison"], shipped)
    report["validation"] = f"fixed held-out split, n = {len(test)}: {report['split']}"
    _figures(run_dir, matrix, classes, report)
    write_metrics(run_dir / "metrics.csv", report["comparison"], "test", len(test))
    _write_held_out_predictions(run_dir / "predictions.csv", test, scores, classes)
    write_report(run_dir, report, markdown(report))
    return report


def _write_held_out_predictions(path: Path, test: pd.DataFrame, scores: np.ndarray, classes: list[str]) -> None:
    """predictions.csv of a training run: the shipped model's answer for every held-out photo, beside the truth."""
    probabilities = softmax(scores, axis=1)
    frame = test[["image_id", "label", "three_partition", "group", "fitzpatrick_group", "ita_group"]].copy()
    frame.insert(1, "status", "ok")
    frame["predicted"] = np.asarray(classes)[probabilities.argmax(1)]
    frame["probability"] = probabilities.max(1)
    frame["correct"] = frame["predicted"] == frame["label"]
    frame.to_csv(path, index=False)


def cross_validated_report(frame: pd.DataFrame, scores: np.ndarray, index: dict, partition_of_class, partition_names, n_boot: int) -> dict:
    """The depth-probe recipe scored out-of-fold over grouped folds of train + validation (the held-out split
    untouched): headline metrics, top-1 by Fitzpatrick group, the gap with its CI and per fold, the case mix."""
    labels = frame["label"].map(index).to_numpy()
    partitions = frame["three_partition"].map({p: i for i, p in enumerate(partition_names)}).to_numpy()
    hits, groups = scores.argmax(1) == labels, frame["fitzpatrick_group"]
    return {"what": "The depth-probe recipe, heads refitted in each fold, out-of-fold over grouped folds of train + validation",
            "n": len(frame), "folds": int(frame["fold"].nunique()), "metrics": with_bootstrap(labels, scores, partition_of_class, partitions, n_boot),
            "fitzpatrick_top1": {g: float(h.mean()) for g, h in pd.Series(hits).groupby(groups.fillna("unknown").to_numpy())},
            "fitzpatrick_top1_gap": hit_rate_gap(hits, groups, n_boot),
            "fitzpatrick_gap_per_fold": [hit_rate_gap(hits[f], groups[f], n_boot=0)["gap"] for f in (frame["fold"] == k for k in sorted(frame["fold"].unique()))],
            "fitzpatrick_case_mix": json.loads(case_mix_decomposition(hits, groups, labels).to_json(orient="index"))}  # fmt: skip


def _figures(run_dir: Path, matrix: np.ndarray, classes: list[str], report: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = figures_dir(run_dir)
    confusion_figure(folder / "confusion_matrix.png", matrix, classes)
    curve = report["lighting"]["pr_curve_poor"]
    figure, axis = plt.subplots(figsize=(4.5, 4))
    axis.plot(curve["recall"], curve["precision"])
    axis.set(xlabel="recall (poor lighting)", ylabel="precision", title=f"Lighting head PR, AP {report['lighting']['average_precision_poor']:.2f}")
    figure.tight_layout()
    figure.savefig(folder / "lighting_pr_curve.png", dpi=110)
    plt.close(figure)
