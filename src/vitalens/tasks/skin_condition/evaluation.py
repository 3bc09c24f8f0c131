"""Skin-condition evaluation on the held-out split: top-1/top-3/macro recall/macro-F1/three-partition
accuracy with bootstrap 95 % CIs beside the majority-class and frozen-Lite0+logistic baselines, per-class
recall, confusion matrix, ECE before and after temperature scaling, the lighting head (accuracy, AUC,
PR curve), the oversampling ablation and the distilled student, all disaggregated by Fitzpatrick group
and ITA group (worst group flagged), plus ITA° vs annotated Fitzpatrick agreement. Writes report.json,
report.md, CSV tables and figures into the run folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import softmax
from scipy.stats import spearmanr
from sklearn.metrics import (average_precision_score, cohen_kappa_score, confusion_matrix, f1_score, precision_recall_curve,
                             recall_score, roc_auc_score)  # fmt: skip

from vitalens import DISCLAIMER
from vitalens.evaluation.fairness import case_mix_decomposition, disaggregate, hit_rate_gap
from vitalens.evaluation.metrics import expected_calibration_error, paired_difference

AUDIT_ATTRIBUTES = ("fitzpatrick_group", "ita_group")
HEADLINE = ("top1", "top3", "macro_recall", "macro_f1", "three_partition_accuracy")
ITA_TO_FITZPATRICK = {"light (ITA>41)": "I-II", "intermediate/tan (10<ITA<=41)": "III-IV", "brown/dark (ITA<=10)": "V-VI"}


# ---- metrics on (label index, class scores) ------------------------------------------------------
def top_k_accuracy(labels: np.ndarray, scores: np.ndarray, k: int) -> float:
    top = np.argsort(-scores, axis=1)[:, :k]
    return float(np.mean((top == labels[:, None]).any(axis=1)))


def class_metrics(labels: np.ndarray, scores: np.ndarray) -> dict:
    """Top-1, top-3, macro recall and macro-F1 (over the classes present in `labels`) from class scores."""
    predicted = scores.argmax(1)
    present = np.unique(labels)
    return {
        "top1": float(np.mean(predicted == labels)),
        "top3": top_k_accuracy(labels, scores, 3),
        "macro_recall": float(recall_score(labels, predicted, labels=present, average="macro", zero_division=0)),
        "macro_f1": float(f1_score(labels, predicted, labels=present, average="macro", zero_division=0)),
    }


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


def _recall_ci(hits: np.ndarray, n_boot: int, seed: int = 0) -> list[float]:
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


# ---- the report -----------------------------------------------------------------------------------
def candidate_suffix(name: str) -> str:
    """File-name suffix of a candidate model that was not shipped ("depth probe" → "_depth_probe")."""
    return "_" + name.replace(" ", "_").replace("-", "_")


def prediction_scores(frame: pd.DataFrame, classes: list[str]) -> np.ndarray:
    """[N, C] class scores from a run's predictions_*.csv rows, columns in `classes` order."""
    return frame[[f"logit::{c}" for c in classes]].to_numpy(float)


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
        "disclaimer": DISCLAIMER, "task": "skin-condition", "n_test": len(test), "data": info["data"],
        "split": info["data"]["split_rule"], "classes": classes, "temperature": temperature,
        "comparison": {name: evaluate(s) for name, s in models.items()},
    }  # fmt: skip
    predicted = scores.argmax(1)
    report["top1_over_frozen_baseline"] = paired_difference(predicted == labels, models["frozen Lite0 + logistic"].argmax(1) == labels, test["group"], n_boot)
    recall = recall_score(labels, predicted, labels=np.arange(len(classes)), average=None, zero_division=0)
    report["per_class"] = {c: {"n": int((labels == i).sum()), "recall": float(recall[i]), "recall_ci": _recall_ci(predicted[labels == i] == i, n_boot),
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
    _figures(run_dir, matrix, classes, report)
    (run_dir / "report.json").write_text(json.dumps(report, indent=2, default=float))
    (run_dir / "report.md").write_text(markdown(report))
    return report


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


def _figures(run_dir: Path, matrix: np.ndarray, classes: list[str], report: dict) -> None:
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
    figure.savefig(run_dir / "confusion_matrix.png", dpi=110)
    plt.close(figure)
    curve = report["lighting"]["pr_curve_poor"]
    figure, axis = plt.subplots(figsize=(4.5, 4))
    axis.plot(curve["recall"], curve["precision"])
    axis.set(xlabel="recall (poor lighting)", ylabel="precision", title=f"Lighting head PR, AP {report['lighting']['average_precision_poor']:.2f}")
    figure.tight_layout()
    figure.savefig(run_dir / "lighting_pr_curve.png", dpi=110)
    plt.close(figure)


def _ci(entry: dict, scale: float = 100) -> str:
    return f"{entry['value'] * scale:.1f} ({entry['ci'][0] * scale:.1f}–{entry['ci'][1] * scale:.1f})"


def markdown(report: dict) -> str:
    lines = [f"# skin-condition — held-out evaluation", "", f"> **{report['disclaimer']}**", "",
             f"Held-out split: {report['split']}; n = {report['n_test']} photos. Percent, 95 % bootstrap CI.", "",
             "| model | top-1 | top-3 | macro recall | macro-F1 | three-partition acc. |", "|---|---|---|---|---|---|"]  # fmt: skip
    for name, metrics in report["comparison"].items():
        lines.append(f"| {name} | " + " | ".join(_ci(metrics[m]) for m in HEADLINE) + " |")
    margin = report["top1_over_frozen_baseline"]
    lines += ["", f"Shipped minus frozen Lite0 + logistic, top-1 on the same photos: {margin['difference'] * 100:+.1f} points "
              f"(paired bootstrap 95 % CI {margin['ci'][0] * 100:+.1f} to {margin['ci'][1] * 100:+.1f}, near-duplicate groups resampled whole)."]
    c = report["calibration"]
    lines += ["", f"Calibration: ECE {c['ece_before']:.3f} before, {c['ece_after']:.3f} after temperature scaling (T = {c['temperature']:.2f}, fitted on validation).", ""]
    for attribute, table in report["audit"].items():
        others = [k for k in next(iter(table.values())) if k.startswith("top1 ")]
        lines += [f"## By {attribute} (shipped model with 95 % CI; other models' top-1 beside)", "",
                  "| group | n | top-1 (CI) | top-3 (CI) | worst | " + " | ".join(others) + " |", "|---" * (5 + len(others)) + "|"]  # fmt: skip
        for group, row in table.items():
            lines.append(f"| {group} | {row['n']} | {row['top1'] * 100:.1f} ({row['top1_ci_low'] * 100:.1f}–{row['top1_ci_high'] * 100:.1f}) | "
                         f"{row['top3'] * 100:.1f} ({row['top3_ci_low'] * 100:.1f}–{row['top3_ci_high'] * 100:.1f}) | {'⚠' if row['worst'] else ''} | "
                         + " | ".join(f"{row[k] * 100:.1f}" for k in others) + " |")  # fmt: skip
        lines.append("")
    gap = report["fitzpatrick_top1_gap"]
    lines += [f"Fitzpatrick groups (unknown left out): worst {gap['worst']}, best {gap['best']}, top-1 gap {gap['gap'] * 100:.1f} points "
              f"(95 % bootstrap CI {gap['ci'][0] * 100:.1f}–{gap['ci'][1] * 100:.1f}; the gap between noisy group estimates is biased upwards).", "",
              "Case mix or service? `expected` is the top-1 each group would get if every photo scored at its diagnosis's top-1 over all groups "
              "(differences come only from which diagnoses a group has); `standardised` weights the group's own per-diagnosis top-1 by the overall "
              "diagnosis mix (differences come only from how well each diagnosis is served in the group).", "",
              "| Fitzpatrick group | n | top-1 | expected from case mix | standardised (diagnoses covered) |", "|---|---|---|---|---|"]
    lines += _case_mix_rows(report["fitzpatrick_case_mix"])
    if "cross_validated" in report:
        lines += _cross_validated_markdown(report["cross_validated"])
    lines += ["## Per class (held-out recall, 95 % bootstrap CI)", "", "| class | n test | n train | recall | CI |", "|---|---|---|---|---|"]
    lines += [f"| {c} | {r['n']} | {r['train_n']} | {r['recall'] * 100:.0f} | {r['recall_ci'][0] * 100:.0f}–{r['recall_ci'][1] * 100:.0f} |" for c, r in report["per_class"].items()]
    light = report["lighting"]
    lines += ["", "## Lighting head (held-out photos plus one degraded copy each)", "",
              f"accuracy {light['accuracy']:.3f} (majority {light['majority_accuracy']:.3f}), balanced accuracy {light['balanced_accuracy']:.3f}, "
              f"AUC {light['auc']:.3f}, average precision for 'poor' {light['average_precision_poor']:.3f}; threshold P(good) ≥ {light['threshold']:.2f}.", "",
              "| degradation | n | poor fraction (rule) | head accuracy |", "|---|---|---|---|"]  # fmt: skip
    lines += [f"| {k} | {v['n']} | {v['poor_fraction']:.2f} | {v['accuracy']:.3f} |" for k, v in light["by_degradation"].items()]
    ita = report["ita_vs_fitzpatrick"]
    lines += ["", "## ITA° (measured on the photo) vs annotated Fitzpatrick type", "",
              f"n = {ita['n']}; Spearman ρ(type, ITA°) = {ita['spearman_rho_type_vs_ita']:.2f}; three-group agreement {ita['group_agreement']:.2f}, "
              f"quadratic κ {ita['quadratic_kappa']:.2f}. Median ITA° by type: " + ", ".join(f"{t}: {v:.0f}°" for t, v in ita["median_ita_by_type"].items()), "",
              "| Fitzpatrick \\ ITA group | " + " | ".join(ITA_TO_FITZPATRICK) + " |", "|---|---|---|---|"]  # fmt: skip
    for group, row in ita["confusion"].items():
        lines.append(f"| {group} | " + " | ".join(str(row[c]) for c in ITA_TO_FITZPATRICK) + " |")
    t = report["training"]
    candidates = ", ".join(f"{name} {c['val_top1']:.3f}" for name, c in t["candidates"].items())
    lines += ["", "## Training", "", f"Shipped, chosen on validation top-1: {t['shipped']} ({candidates}). "
              f"Phased fine-tune: {t['chosen_balance']} chosen on validation (top-1 {t['variants_val_top1']}); "
              f"phase C seconds per epoch {t['phase_c_seconds_per_epoch']}."]  # fmt: skip
    return "\n".join(lines) + "\n"


def _case_mix_rows(table: dict) -> list[str]:
    return [f"| {g} | {r['n']} | {r['observed'] * 100:.1f} | {r['expected_from_case_mix'] * 100:.1f} | {r['standardised'] * 100:.1f} ({r['coverage'] * 100:.0f} %) |"
            for g, r in table.items()] + [""]  # fmt: skip


def _cross_validated_markdown(cross: dict) -> list[str]:
    gap, metrics = cross["fitzpatrick_top1_gap"], cross["metrics"]
    return ["## Cross-validated: the depth-probe recipe out-of-fold", "",
            f"{cross['what']} ({cross['folds']} folds, {cross['n']} photos; near-duplicate groups never straddle a fold). "
            "A second estimate beside the held-out one, with about five times the photos per skin-type group.", "",
            "| top-1 | top-3 | macro-F1 | three-partition acc. |", "|---|---|---|---|",
            "| " + " | ".join(_ci(metrics[m]) for m in ("top1", "top3", "macro_f1", "three_partition_accuracy")) + " |", "",
            f"Fitzpatrick top-1: " + ", ".join(f"{g} {v * 100:.1f}" for g, v in cross["fitzpatrick_top1"].items())
            + f"; gap {gap['gap'] * 100:.1f} points (95 % CI {gap['ci'][0] * 100:.1f}–{gap['ci'][1] * 100:.1f}); per fold "
            + " / ".join(f"{g * 100:.0f}" for g in cross["fitzpatrick_gap_per_fold"]) + ".", "",
            "| Fitzpatrick group | n | top-1 | expected from case mix | standardised (diagnoses covered) |", "|---|---|---|---|---|",
            *_case_mix_rows(cross["fitzpatrick_case_mix"])]  # fmt: skip
