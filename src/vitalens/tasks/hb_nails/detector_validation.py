"""Session-grouped validation of the nail/skin detector, and the run folders its commands write.

`cross_validate_detector` trains one model per GroupKFold fold (sessions never on both sides, asserted),
predicts each held-out photo with the fold model that never saw its session, and scores them with
`vitalens.tasks.hb_nails.detection_metrics`; `mean_box_baseline` is the detector's mean predictor.
`evaluate_detector_run` and `train_detector_run` are what `vitalens evaluate-detector` and
`vitalens train-detector` do.
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml
from sklearn.model_selection import GroupKFold

from vitalens.tasks.hb_nails.detection import DETECTOR_CLASSES, DETECTOR_FILE, DETECTOR_INPUT_SIZE, DETECTOR_SUMMARY_FILE, Detection
from vitalens.tasks.hb_nails.detection_metrics import detection_metrics
from vitalens.tasks.hb_nails.detector_model import export_detector_onnx
from vitalens.tasks.hb_nails.detector_training import DetectorTrainingConfig, LabelledPhoto, predict_photos, train_detector


@dataclass
class CrossValidationResult:
    fold_metrics: list[dict[str, dict[str, float]]]
    pooled_metrics: dict[str, dict[str, float]]
    out_of_fold: dict[str, list[Detection]]
    fold_of: dict[str, int]
    training_seconds: float


def session_folds(photos: list[LabelledPhoto], n_folds: int = 3) -> list[tuple[np.ndarray, np.ndarray]]:
    groups = np.array([p.group for p in photos])
    folds = list(GroupKFold(n_splits=n_folds).split(np.zeros(len(photos)), groups=groups))
    for train_index, val_index in folds:
        shared = set(groups[train_index]) & set(groups[val_index])
        assert not shared, f"sessions on both sides of a fold: {sorted(shared)}"
    return folds


def _as_tuples(detections: list[Detection]) -> list[tuple[str, float, np.ndarray]]:
    return [(d.label, d.score, np.asarray(d.box, np.float32)) for d in detections]


def cross_validate_detector(photos: list[LabelledPhoto], config: DetectorTrainingConfig | None = None, n_folds: int = 3) -> CrossValidationResult:
    config = config or DetectorTrainingConfig()
    fold_metrics, out_of_fold, fold_of = [], {}, {}
    started = time.perf_counter()
    for fold, (train_index, val_index) in enumerate(session_folds(photos, n_folds)):
        train, val = [photos[i] for i in train_index], [photos[i] for i in val_index]
        if config.log:
            print(f"fold {fold + 1}/{n_folds}: {len(train)} train / {len(val)} val photos, "
                  f"{len({p.group for p in val})} held-out sessions", flush=True)
        model = train_detector(train, config)
        predictions = predict_photos(model, val)
        fold_metrics.append(detection_metrics([_as_tuples(d) for d in predictions], [p.boxes for p in val], config.classes))
        for photo, detections in zip(val, predictions):
            out_of_fold[photo.image_id] = detections
            fold_of[photo.image_id] = fold
    pooled = detection_metrics([_as_tuples(out_of_fold[p.image_id]) for p in photos], [p.boxes for p in photos], config.classes)
    return CrossValidationResult(fold_metrics, pooled, out_of_fold, fold_of, time.perf_counter() - started)


def write_detections_csv(detections: dict[str, list[Detection]], path: str | Path, fold_of: dict[str, int] | None = None) -> Path:
    """One row per detection: image_id, fold, class, score, ymin, xmin, ymax, xmax (photo pixels)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image_id", "fold", "class", "score", "ymin", "xmin", "ymax", "xmax"])
        for image_id, found in detections.items():
            for d in found:
                fold = "" if fold_of is None else fold_of[image_id]
                writer.writerow([image_id, fold, d.label, f"{d.score:.4f}", *(f"{v:.1f}" for v in d.box)])
    return path


def format_metrics_table(fold_metrics: list[dict[str, dict[str, float]]], pooled: dict[str, dict[str, float]]) -> str:
    columns = ("mAP50", "mAP50-95", "precision", "recall")
    lines = [f"{'class':6} {'fold':>6} " + " ".join(f"{c:>9}" for c in columns)]
    for label in pooled:
        for fold, metrics in enumerate(fold_metrics):
            lines.append(f"{label:6} {fold + 1:>6} " + " ".join(f"{metrics[label][c]:9.3f}" for c in columns))
        mean = {c: np.mean([m[label][c] for m in fold_metrics]) for c in columns}
        lines.append(f"{label:6} {'mean':>6} " + " ".join(f"{mean[c]:9.3f}" for c in columns))
        lines.append(f"{label:6} {'pooled':>6} " + " ".join(f"{pooled[label][c]:9.3f}" for c in columns))
    return "\n".join(lines)


def mean_box_baseline(photos: list[LabelledPhoto], n_folds: int = 3, classes: tuple[str, ...] = DETECTOR_CLASSES) -> tuple[list[dict], dict]:
    """The 'mean predictor' of detection: every held-out photo gets the training folds' average boxes.

    Boxes are matched by rank (sorted top to bottom) and averaged per rank, each with score 1; this
    shows how much of the score the fixed framing of the photos alone would earn.
    """
    fold_metrics, predictions = [], {}
    for train_index, val_index in session_folds(photos, n_folds):
        guesses = []
        for label in classes:
            per_photo = [photos[i].boxes[label][np.argsort(photos[i].boxes[label][:, 0])] for i in train_index]
            ranks = min(len(b) for b in per_photo)
            mean_boxes = np.mean([b[:ranks] for b in per_photo], axis=0)
            guesses += [(label, 1.0, box) for box in mean_boxes]
        val = [photos[i] for i in val_index]
        fold_metrics.append(detection_metrics([guesses] * len(val), [p.boxes for p in val], classes))
        predictions.update({p.image_id: guesses for p in val})
    pooled = detection_metrics([predictions[p.image_id] for p in photos], [p.boxes for p in photos], classes)
    return fold_metrics, pooled


# --- command-line runs --------------------------------------------------------------------------

def detector_summary(photos: list[LabelledPhoto], config: DetectorTrainingConfig, validation: dict | None) -> dict:
    """What bundle.json says about the detector: its training data, schedule and session-grouped CV."""
    return {
        "training": {"photos": len(photos), "sessions": len({p.group for p in photos}), "epochs": config.epochs,
                     "input_size": DETECTOR_INPUT_SIZE, "classes": list(config.classes)},
        "validation": validation or "not cross-validated (train with --cv to measure it)",
    }


def cross_validation_record(result: CrossValidationResult, n_folds: int) -> dict:
    return {"scheme": f"session-grouped {n_folds}-fold", "pooled": result.pooled_metrics, "folds": result.fold_metrics,
            "seconds": round(result.training_seconds, 1)}


def evaluate_detector_run(photos: list[LabelledPhoto], config: DetectorTrainingConfig, run_dir: Path, n_folds: int = 3) -> dict:
    """Session-grouped CV into a run folder: config.yaml, report.json, metrics.csv, predictions.csv (out-of-fold detections)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    result = cross_validate_detector(photos, config, n_folds)
    record = cross_validation_record(result, n_folds)
    (run_dir / "config.yaml").write_text(yaml.safe_dump({k: list(v) if isinstance(v, tuple) else v for k, v in vars(config).items()}))
    (run_dir / "report.json").write_text(json.dumps(record | {"baseline_mean_boxes": mean_box_baseline(photos, n_folds)[1]}, indent=1))
    rows = [{"fold": fold, "class": label, **metrics[label]} for fold, metrics in enumerate(result.fold_metrics) for label in metrics]
    pd.DataFrame(rows).to_csv(run_dir / "metrics.csv", index=False)
    write_detections_csv(result.out_of_fold, run_dir / "predictions.csv", result.fold_of)
    print(format_metrics_table(result.fold_metrics, result.pooled_metrics))
    return record


def train_detector_run(photos: list[LabelledPhoto], config: DetectorTrainingConfig, run_dir: Path, validation: dict | None = None) -> Path:
    """Fit on every photo and write detector.onnx + detector.json (+ the torch weights) into the run folder."""
    run_dir.mkdir(parents=True, exist_ok=True)
    model = train_detector(photos, config)
    torch.save(model.state_dict(), run_dir / "detector.pt")
    onnx_path = export_detector_onnx(model, run_dir / DETECTOR_FILE)
    (run_dir / DETECTOR_SUMMARY_FILE).write_text(json.dumps(detector_summary(photos, config, validation), indent=1))
    return onnx_path
