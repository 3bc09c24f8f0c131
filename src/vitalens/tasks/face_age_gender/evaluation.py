"""Face age + gender evaluation: accuracy/F1, age errors, gender calibration (ECE before and after
temperature scaling), fairness audits by race, gender and age band with bootstrap 95 % CIs, the
majority-class and mean-age baselines beside, and figures, written to a run folder (vitalens.runs).

Two entry points share one report: `evaluate_face_run` (a training run's saved predictions, torch
world) and `evaluate_face_bundle` (a shipped ONNX bundle through the serving runtime, torch-free).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import softmax
from sklearn.metrics import accuracy_score, precision_recall_fscore_support

from vitalens import DISCLAIMER
from vitalens.evaluation.fairness import absolute_error_mean, disaggregate
from vitalens.evaluation.metrics import expected_calibration_error, fit_temperature
from vitalens.imaging import decode_image
from vitalens.tasks.face_age_gender import TASK
from vitalens.tasks.face_age_gender.card import render_face_report
from vitalens.tasks.face_age_gender.data import AGE_BANDS, GENDERS, load_utkface
from vitalens.tasks.face_age_gender.figures import write_figures

HELD_OUT = "held-out test: sha1(file name) in the lowest 15 % (vitalens.tasks.face_age_gender.data.split_of); never trained on or tuned on"
NO_PERSON_ID = "UTKFace has no person id: the same person may appear in train and test, so scores may be optimistic for unseen people"
AUDIT_ATTRIBUTES = TASK.audit_attributes


# ---- metric functions -------------------------------------------------------------------------
def gender_accuracy(y_true, y_pred) -> float:
    return float(accuracy_score(y_true, y_pred))


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


# ---- reports ----------------------------------------------------------------------------------
def evaluate_face_run(run_dir: str | Path, data_dir: str | Path, n_boot: int = 1000) -> dict:
    """Read predictions_{validation,test}.csv from run_dir; write the run folder's report files into it."""
    run_dir = Path(run_dir)
    validation = pd.read_csv(run_dir / "predictions_validation.csv")
    test = pd.read_csv(run_dir / "predictions_test.csv")
    temperature = fit_temperature(_logits(validation), _labels(validation))
    trained = json.loads((run_dir / "training.json").read_text())
    about = {"model": {"run": str(run_dir), "backbone": trained["backbone"], "parameters": trained["parameters"]}}
    return write_face_report(test, temperature, "validation split", data_dir, run_dir, n_boot, about)


def evaluate_face_bundle(bundle_dir: str | Path | None, data_dir: str | Path, out_dir: str | Path, n_boot: int = 1000,
                         limit: int | None = None, batch_size: int = 64, progress: bool = False) -> dict:  # fmt: skip
    """Predict every held-out UTKFace crop with an ONNX bundle through the serving runtime (no torch:
    detector, alignment, model) and write the run folder's report files into out_dir; the crops the
    detector refuses are counted in report["answered"], not scored.

    `bundle_dir=None` evaluates the bundle shipped for this task; `limit` keeps N held-out images
    spread over the folder (smoke runs only: report["data"]["limited_to"] says so).
    """
    from rich.progress import track

    from vitalens.bundle import load_bundle, shipped_bundle_path
    from vitalens.tasks.face_age_gender.regions import FaceRegionError
    from vitalens.tasks.face_age_gender.runtime import FacePredictor

    bundle = load_bundle(bundle_dir if bundle_dir is not None else shipped_bundle_path(TASK.name))
    predictor = FacePredictor(bundle)
    dataset = load_utkface(data_dir)
    held_out = [s for s in dataset.samples if s.attributes["split"] == "test"]
    if limit:  # spread over the folder: file names sort by age, so the first N would all be young
        held_out = held_out[:: max(1, len(held_out) // limit)][:limit]
    if not held_out:
        raise ValueError(f"{data_dir}: no held-out UTKFace images (split_of == 'test') here; pass the UTKFace images folder.")
    answered, crops, refusals = [], [], Counter()
    for sample in track(held_out, "detecting and aligning held-out faces", disable=not progress):
        try:  # the serving path: every crop goes through the detector and alignment, as predict_image does
            crops.append(predictor.locate(decode_image(sample.image_path).rgb)[0])
            answered.append(sample)
        except FaceRegionError as error:
            refusals[re.sub(r"\s*\(.*\)|\d+(\.\d+)?", lambda m: "" if m.group(0).lstrip().startswith("(") else "N", error.reason)] += 1  # counted by kind
    if not answered:
        raise ValueError(f"{data_dir}: the face detector refused all {len(held_out)} held-out images ({dict(refusals)}).")
    outputs = [predictor.raw_outputs(crops[start : start + batch_size]) for start in range(0, len(crops), batch_size)]
    test = truth_frame(answered).assign(predicted_age=np.concatenate([ages for _, ages in outputs]))
    test[["logit_male", "logit_female"]] = np.concatenate([logits for logits, _ in outputs])
    about = {
        "model": {"bundle": str(bundle.path), **{k: bundle.manifest["model"][k] for k in ("backbone", "parameters", "sha256")}},
        "data": {"held_out_images": len(held_out), "skipped_files": len(dataset.problems), "limited_to": limit},
        "answered": {"n": len(answered), "of": len(held_out), "rate": len(answered) / len(held_out), "refusals": dict(refusals.most_common()),
                     "note": "metrics are on the answered images: each crop went through the detector and alignment, as predict does"},  # fmt: skip
    }
    return write_face_report(test, predictor.temperature, "validation split, at training time (bundle.json)", data_dir, out_dir, n_boot, about)


def write_face_report(test: pd.DataFrame, temperature: float, temperature_source: str, data_dir: str | Path,
                      out_dir: str | Path, n_boot: int = 1000, about: dict | None = None) -> dict:  # fmt: skip
    """The full held-out report for one model's test predictions (truth columns, predicted_age and
    gender logits), with the training split's majority-gender and mean-age baselines beside it;
    `about` (what was evaluated) is added to report.json as it is. Writes report.json, report.md,
    metrics.csv (one row per audit group, "everyone" first), predictions.csv and figures/."""
    out_dir = Path(out_dir)
    test = with_gender_predictions(test, temperature)
    train = [s for s in load_utkface(data_dir).samples if s.attributes["split"] == "train"]
    majority = pd.Series([s.targets["gender"] for s in train]).mode()[0]
    mean_age = float(np.mean([s.targets["age"] for s in train]))
    labels = _labels(test)
    report = {
        "disclaimer": DISCLAIMER,
        "task": TASK.name,
        "split": HELD_OUT,
        "validation": f"{HELD_OUT} (n = {len(test)})",
        "limitation": NO_PERSON_ID,
        "n_test": len(test),
        "gender": gender_metrics(test["gender"], test["predicted_gender"]),
        "age": age_metrics(test["age"], test["predicted_age"]),
        "calibration": {
            "temperature": temperature,
            "temperature_fitted_on": temperature_source,
            "ece_before": expected_calibration_error(softmax(_logits(test), axis=1), labels),
            "ece_after": expected_calibration_error(softmax(_logits(test) / temperature, axis=1), labels),
        },
        "baselines": {
            "majority_gender": majority,
            "majority_gender_accuracy": float(np.mean(test["gender"] == majority)),
            "train_mean_age": mean_age,
            "mean_age_mae": absolute_error_mean(test["age"], np.full(len(test), mean_age)),
            "mean_age_mae_by_age_band": age_metrics(test["age"], np.full(len(test), mean_age))["mae_by_age_band"],
        },
        "audit": {},
        **(about or {}),
    }
    report["headline"] = headline(report)
    out_dir.mkdir(parents=True, exist_ok=True)
    test.to_csv(out_dir / "predictions.csv", index=False)
    tables = {"everyone": audit_table(test.assign(everyone="all"), "everyone", n_boot, mean_age)}
    everyone = tables["everyone"].loc["all"]
    report["overall_ci"] = {f"{key}_{end}": float(everyone[f"{key}_ci_{end}"]) for key in ("age_mae", "gender_accuracy") for end in ("low", "high")}
    for attribute in AUDIT_ATTRIBUTES:
        tables[attribute] = audit_table(test, attribute, n_boot, mean_age)
        report["audit"][attribute] = json.loads(tables[attribute].to_json(orient="index"))
    metrics = pd.concat({attribute: table for attribute, table in tables.items()}, names=["attribute", "group"])
    metrics.reset_index().to_csv(out_dir / "metrics.csv", index=False)
    figures = write_figures(test, {a: tables[a] for a in AUDIT_ATTRIBUTES}, out_dir / "figures")
    report["figures"] = [str(path.relative_to(out_dir)) for path in figures]
    (out_dir / "report.json").write_text(json.dumps(report, indent=2))
    (out_dir / "report.md").write_text(render_face_report(report))
    return report


def headline(report: dict) -> list[dict]:
    """The rows the CLI prints: each score beside the trivial baseline it has to beat."""
    baselines = report["baselines"]
    return [
        {"metric": "gender accuracy", "model": report["gender"]["accuracy"], "baseline": baselines["majority_gender_accuracy"],
         "baseline_name": f"always {baselines['majority_gender']}, the training majority"},
        {"metric": "age MAE (years)", "model": report["age"]["mae"], "baseline": baselines["mean_age_mae"],
         "baseline_name": f"always {baselines['train_mean_age']:.1f} years, the training mean"},
    ]  # fmt: skip


def with_gender_predictions(frame: pd.DataFrame, temperature: float = 1.0) -> pd.DataFrame:
    probabilities = softmax(_logits(frame) / temperature, axis=1)
    return frame.assign(predicted_gender=np.array(GENDERS)[probabilities.argmax(axis=1)], probability_female=probabilities[:, 1])


def audit_table(frame: pd.DataFrame, attribute: str, n_boot: int = 1000, mean_age: float | None = None) -> pd.DataFrame:
    """Age MAE (worst = highest) and gender accuracy (worst = lowest) per group, each with a bootstrap
    95 % CI; with `mean_age`, the mean-age baseline's MAE in each group beside them."""
    sensitive = frame[attribute].rename(attribute)
    age = disaggregate(frame["age"], frame["predicted_age"], sensitive, {"age_mae": absolute_error_mean}, n_boot)
    correct = (frame["gender"] == frame["predicted_gender"]).astype(float)
    gender = disaggregate(correct, np.ones(len(frame)), sensitive, {"gender_accuracy": lambda t, p: float(np.mean(t))}, n_boot, worst="min")
    table = age.rename(columns={"worst": "worst_age_mae"}).join(gender.drop(columns="n").rename(columns={"worst": "worst_gender_accuracy"}))
    if mean_age is not None:
        baseline = (frame["age"] - mean_age).abs().groupby(sensitive.astype(str)).mean()
        table.insert(table.columns.get_loc("age_mae_ci_high") + 1, "mean_age_baseline_mae", baseline.reindex(table.index))
    return table


def _logits(frame: pd.DataFrame) -> np.ndarray:
    return frame[["logit_male", "logit_female"]].to_numpy(float)


def _labels(frame: pd.DataFrame) -> np.ndarray:
    return frame["gender"].map({g: i for i, g in enumerate(GENDERS)}).to_numpy()


def truth_frame(samples) -> pd.DataFrame:
    """The labels and audit attributes of UTKFace samples, one row each, in the predictions' column order."""
    return pd.DataFrame({
        "image_id": [s.image_id for s in samples],
        "age": [s.targets["age"] for s in samples],
        "gender": [s.targets["gender"] for s in samples],
        "race": [s.attributes["race"] for s in samples],
        "age_band": [s.attributes["age_band"] for s in samples],
    })  # fmt: skip
