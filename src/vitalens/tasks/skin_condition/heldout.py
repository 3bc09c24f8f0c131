"""`vitalens evaluate` for the skin task: a bundle (the shipped one unless told) on the held-out split of
Fitzpatrick17k-AJL, through the torch-free runtime, exactly as `vitalens predict` answers.

The held-out split links near-copies by frozen-trunk features (`split.prepare_split`, torch), so the split
of the shipped bundle's run is stored beside this module (heldout_split.csv: the validation and test
photos by md5hash, every other photo is training; taken from that run's split.csv). A folder that holds
every stored photo is evaluated on the stored split, torch-free; any other Fitzpatrick17k-layout folder
gets its split made afresh, which needs the training world.

Reported: top-1, top-3 and macro-F1 (95 % bootstrap CIs) beside the majority class of the training split,
the same by Fitzpatrick group and by ITA group (worst flagged), calibration of the bundle's probabilities,
and how often the lighting verdict agrees with the lighting rules on these (plain) photos.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix

from vitalens import DISCLAIMER
from vitalens.bundle import load_bundle, shipped_bundle_path
from vitalens.data.samples import Dataset, Sample
from vitalens.evaluation.metrics import expected_calibration_error
from vitalens.imaging import ImageDecodeError, decode_image
from vitalens.results import Prediction, image_id_for, too_small, unreadable
from vitalens.runtime import screen
from vitalens.runs import Job
from vitalens.tasks.skin_condition import TASK
from vitalens.tasks.skin_condition.data import load_fitzpatrick17k
from vitalens.tasks.skin_condition.lighting import lighting_label
from vitalens.tasks.skin_condition.metrics import AUDIT_ATTRIBUTES, audit, with_bootstrap
from vitalens.tasks.skin_condition.run_folder import MAJORITY, confusion_figure, figures_dir, headline, write_metrics, write_report
from vitalens.tasks.skin_condition.runtime import SkinPredictor
from vitalens.tasks.skin_condition.tone import ita_group, measure_ita

SPLIT_FILE = Path(__file__).with_name("heldout_split.csv")
STORED_RULE = ("the shipped bundle's split, stored in vitalens/tasks/skin_condition/heldout_split.csv: held-out test = fold 0 of "
               "StratifiedGroupKFold(6, shuffle, seed 0) by diagnosis over near-duplicate groups (hash + frozen-feature similarity)")  # fmt: skip
BATCH = 16
N_BOOT = 1000


def stored_split(dataset: Dataset) -> dict[str, str] | None:
    """md5hash → split for every photo of `dataset`, from the stored split; None when the folder lacks any stored
    photo (or an installation lacks the file)."""
    if not SPLIT_FILE.is_file():
        return None
    with SPLIT_FILE.open(newline="") as handle:
        stored = {row["image_id"]: row["split"] for row in csv.DictReader(handle)}
    present = {sample.image_id for sample in dataset.samples}
    if not stored.keys() <= present:
        return None
    return {image_id: stored.get(image_id, "train") for image_id in present}


def held_out_split(dataset: Dataset) -> tuple[dict[str, str], str]:
    """(md5hash → train / validation / test, how the split was made): the stored split, else one made afresh."""
    stored = stored_split(dataset)
    if stored is not None:
        return stored, STORED_RULE
    from vitalens.tasks.skin_condition.split import prepare_split  # the training world: linking needs torch features

    frame, _, _, summary = prepare_split(dataset.root)
    return dict(zip(frame["image_id"], frame["split"])), f"made afresh for this folder: {summary['split_rule']}"


def evaluate_bundle(job: Job) -> dict[str, Any]:
    """Write every run file for the bundle's held-out evaluation into job.out; return the report."""
    bundle = load_bundle(job.options.get("model") or shipped_bundle_path(TASK.name))
    predictor = SkinPredictor(bundle)
    dataset = load_fitzpatrick17k(job.data)
    split_of, rule = held_out_split(dataset)
    test = [s for s in dataset.samples if split_of.get(s.image_id) == "test"][: job.options.get("limit") or None]
    if not test:
        raise ValueError(f"{job.data}: no held-out photo to evaluate")
    train_labels = [s.targets["condition"] for s in dataset.samples if split_of.get(s.image_id) == "train"]
    predictions, outputs = _predict(predictor, test, Path(job.data), job.show_progress)
    # The model is graded on every photo it could read (comparable with the published figures), and the
    # refusals are reported beside it: how many of its own held-out photos it answers, and how well.
    scored = [i for i, o in enumerate(outputs) if o]
    answered = [i for i in scored if predictions[i].ok]
    frame = _frame(test, predictions, outputs, predictor.labels)
    report = _report(predictor, frame.iloc[scored].reset_index(drop=True), np.stack([outputs[i]["probabilities"] for i in scored]),
                     train_labels, rule, job)  # fmt: skip
    correct = frame.loc[answered, "label_1"] == frame.loc[answered, "label"]
    report["answered"] = {"n": len(answered), "of": len(scored), "rate": len(answered) / len(scored), "top1": float(correct.mean()) if answered else None,
                          "refusals": {p.image_id: p.message for p in predictions if p.status == "refused"}}  # fmt: skip
    report["headline"].append({"metric": "own held-out photos answered (the rest refused)", "model": report["answered"]["rate"], "baseline": None, "baseline_name": ""})
    report["data"] = {"photos": len(dataset.samples), "skipped": len(dataset.problems), "held_out": len(test), "scored": len(scored),
                      "not_scored": {p.image_id: p.message for p, o in zip(predictions, outputs) if not o}}  # fmt: skip
    rows = [{**p.row(predictor.columns), "label": s.targets["condition"], "fitzpatrick_group": s.attributes["fitzpatrick_group"],
             "ita_group": frame.at[i, "ita_group"], "top_class": frame.at[i, "label_1"], "correct": frame.at[i, "correct"]}
            for i, (p, s) in enumerate(zip(predictions, test))]  # fmt: skip
    pd.DataFrame(rows).to_csv(job.out / "predictions.csv", index=False)
    write_metrics(job.out / "metrics.csv", report["comparison"], "test", len(scored))
    labels, predicted = frame.loc[scored, "label"], frame.loc[scored, "label_1"]
    confusion_figure(figures_dir(job.out) / "confusion_matrix.png", confusion_matrix(labels, predicted, labels=predictor.labels), predictor.labels)
    write_report(job.out, report, _markdown(report))
    return report


def _predict(predictor: SkinPredictor, samples: list[Sample], root: Path, show_progress: bool) -> tuple[list[Prediction], list[dict]]:
    """Each photo's Prediction (as `vitalens predict` gives it) and its graph outputs, BATCH photos per graph run."""
    from rich.progress import Progress

    predictions: list[Prediction] = []
    outputs: list[dict] = []
    with Progress(disable=not show_progress, transient=True) as progress:
        bar = progress.add_task("held-out photos", total=len(samples))
        for start in range(0, len(samples), BATCH):
            batch: list[tuple[str, np.ndarray | Prediction, Prediction | None]] = []
            for sample in samples[start : start + BATCH]:
                image_id = image_id_for(sample.image_path, root)
                try:
                    rgb = decode_image(sample.image_path).rgb
                except ImageDecodeError as error:
                    batch.append((image_id, unreadable(image_id, str(error)), None))
                    continue
                tiny = too_small(rgb, image_id)
                # the spine's screen (its site check) answers as `vitalens predict` would; the photo is graded all the same
                batch.append((image_id, tiny, None) if tiny else (image_id, predictor.crop(rgb), screen(predictor, rgb, image_id)))
            crops = [crop for _, crop, _ in batch if isinstance(crop, np.ndarray)]
            graph = predictor.run(np.stack(crops)) if crops else ()
            row = 0
            for image_id, crop, screened in batch:
                if isinstance(crop, Prediction):
                    predictions.append(crop)
                    outputs.append({})
                    continue
                answer = predictor.describe(image_id, crop, *(out[row] for out in graph))
                predictions.append(screened or predictor.prediction(image_id, answer))
                outputs.append({"probabilities": graph[0][row], "lighting_good": answer["lighting"] == "good",
                                "rules_good": bool(lighting_label(crop)), "ita": measure_ita(crop)})  # fmt: skip
                row += 1
            progress.advance(bar, len(batch))
    return predictions, outputs


def _frame(samples: list[Sample], predictions: list[Prediction], outputs: list[dict], classes: list[str]) -> pd.DataFrame:
    """One row per held-out photo; label_1 is the graph's top class, refused or not (None when unreadable)."""
    top = [classes[int(np.argmax(o["probabilities"]))] if o else None for o in outputs]
    return pd.DataFrame({
        "label": [s.targets["condition"] for s in samples],
        "three_partition": [s.targets["three_partition"] for s in samples],
        "fitzpatrick_group": [s.attributes["fitzpatrick_group"] for s in samples],
        "ita_group": [ita_group(o["ita"]) if o else "unknown" for o in outputs],
        "label_1": top,
        "answered": [p.ok for p in predictions],
        "correct": [t == s.targets["condition"] for t, s in zip(top, samples)],
        "lighting_good": [o.get("lighting_good") for o in outputs],
        "rules_good": [o.get("rules_good") for o in outputs],
    })  # fmt: skip


def _report(predictor: SkinPredictor, frame: pd.DataFrame, probabilities: np.ndarray, train_labels: list[str], rule: str, job: Job) -> dict[str, Any]:
    classes = predictor.labels
    index = {c: i for i, c in enumerate(classes)}
    labels = frame["label"].map(lambda c: index.get(c, -1)).to_numpy()
    partition_names = sorted(set(predictor.partition_of_label))
    partition_of_class = np.array([partition_names.index(p) for p in predictor.partition_of_label])
    partitions = frame["three_partition"].map({p: i for i, p in enumerate(partition_names)}).to_numpy()
    frequency = pd.Series(train_labels).value_counts().reindex(classes).fillna(0).to_numpy(float)
    majority = np.tile(np.log(frequency + 1e-9), (len(frame), 1))  # always the most frequent training classes, in order
    model = f"bundle: {predictor.bundle.manifest['model']['architecture']}"
    scores = {model: np.log(np.clip(probabilities, 1e-12, None)), MAJORITY: majority}
    comparison = {name: with_bootstrap(labels, s, partition_of_class, partitions, N_BOOT) for name, s in scores.items()}
    report: dict[str, Any] = {
        "disclaimer": DISCLAIMER, "task": TASK.name, "bundle": str(predictor.bundle.path), "n_test": len(frame), "split": rule,
        "validation": f"fixed held-out split, n = {len(frame)}: {rule}" + (f" (first {job.options['limit']} photos only)" if job.options.get("limit") else ""),
        "labels_not_in_bundle": sorted(set(frame["label"]) - set(classes)),
        "comparison": comparison, "headline": headline(comparison, model),
        "published": {key: predictor.bundle.manifest["metrics"]["models"][predictor.bundle.manifest["metrics"]["shipped"]][key] for key in ("top1", "top3", "macro_f1")},
        "ece": expected_calibration_error(probabilities, labels) if (labels >= 0).all() else None,
        "lighting": {"n": len(frame), "verdict_agrees_with_rules": float(np.mean(frame["lighting_good"] == frame["rules_good"])),
                     "rules_good_fraction": float(np.mean(frame["rules_good"].astype(bool)))},
        "audit": {},
    }  # fmt: skip
    for attribute in AUDIT_ATTRIBUTES:
        table = audit(frame, labels, scores[model], attribute, N_BOOT)
        table[f"top1 {MAJORITY}"] = pd.Series(majority.argmax(1) == labels).groupby(frame[attribute].to_numpy()).mean().reindex(table.index).to_numpy()
        report["audit"][attribute] = json.loads(table.to_json(orient="index"))
    return report


def _markdown(report: dict[str, Any]) -> str:
    from vitalens.tasks.skin_condition.report_markdown import ci_cell

    lines = [f"# {report['task']} — held-out evaluation of a bundle", "", f"> **{report['disclaimer']}**", "",
             f"Bundle: `{report['bundle']}`. {report['validation']}. Percent, 95 % bootstrap CI.", "",
             "| model | top-1 | top-3 | macro-F1 | three-partition acc. |", "|---|---|---|---|---|"]  # fmt: skip
    for name, metrics in report["comparison"].items():
        lines.append(f"| {name} | " + " | ".join(ci_cell(metrics[m]) for m in ("top1", "top3", "macro_f1", "three_partition_accuracy")) + " |")
    answered = report["answered"]
    lines += ["", f"Graded on every photo the bundle could read, refused or not. The bundle's photo check refused "
              f"{answered['of'] - answered['n']} of them and answered {answered['n']} ({answered['rate'] * 100:.1f} %); top-1 on the answered photos: "
              + (f"{answered['top1'] * 100:.1f} %." if answered["top1"] is not None else "none answered.")]  # fmt: skip
    published = report["published"]
    lines += ["", f"Published in the bundle's bundle.json (measured on the torch model before export): top-1 {published['top1'] * 100:.1f}, "
              f"top-3 {published['top3'] * 100:.1f}, macro-F1 {published['macro_f1'] * 100:.1f}."]  # fmt: skip
    for attribute, table in report["audit"].items():
        lines += ["", f"## By {attribute} (top-1 and top-3 with 95 % CI; majority class beside)", "",
                  "| group | n | top-1 (CI) | top-3 (CI) | worst | majority top-1 |", "|---|---|---|---|---|---|"]  # fmt: skip
        for group, row in table.items():
            lines.append(f"| {group} | {row['n']} | {row['top1'] * 100:.1f} ({row['top1_ci_low'] * 100:.1f}–{row['top1_ci_high'] * 100:.1f}) | "
                         f"{row['top3'] * 100:.1f} ({row['top3_ci_low'] * 100:.1f}–{row['top3_ci_high'] * 100:.1f}) | {'⚠' if row['worst'] else ''} | "
                         f"{row[f'top1 {MAJORITY}'] * 100:.1f} |")  # fmt: skip
    light = report["lighting"]
    lines += ["", f"Lighting verdict agrees with the lighting rules on {light['verdict_agrees_with_rules'] * 100:.1f} % of these photos "
              f"(the rules call {light['rules_good_fraction'] * 100:.1f} % good); calibration: ECE "
              + (f"{report['ece']:.3f}." if report["ece"] is not None else "not computed (labels outside the bundle's classes).")]  # fmt: skip
    return "\n".join(lines) + "\n"
