"""Train and evaluate the nail/skin detector with session-grouped cross-validation (training world).

`cross_validate_detector` trains one model per GroupKFold fold (sessions never on both sides, asserted),
predicts each held-out photo with the fold model that never saw its session, and scores them with
`vitalens.tasks.hb_nails.detection_metrics`. `train_detector` fits a model on every photo (for export).
"""

from __future__ import annotations

import csv
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import GroupKFold

from vitalens.data import Dataset, Sample
from vitalens.tasks.hb_nails.detection_metrics import detection_metrics
from vitalens.imaging import decode_image
from vitalens.tasks.hb_nails.detector_model import OUTPUT_STRIDE, NailDetector
from vitalens.tasks.hb_nails.detection import (
    DETECTOR_CLASSES,
    DETECTOR_FILE,
    DETECTOR_INPUT_SIZE,
    DETECTOR_SUMMARY_FILE,
    Detection,
    Placement,
    decode_detections,
    letterbox,
    letterbox_placement,
    place,
    to_detector_input,
)

FROZEN_TRUNK_BLOCKS = 5  # stem + blocks up to stride 8 keep ImageNet weights: ~40% less CPU per step, generic edges
EVAL_SCORE_THRESHOLD = 0.05  # low, so AP sees the whole precision-recall curve


@dataclass
class DetectorTrainingConfig:
    epochs: int = 20
    batch_size: int = 16
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    scale_jitter: float = 0.15
    shift_pixels: float = 30.0
    colour_jitter: float = 0.15
    seed: int = 0
    classes: tuple[str, ...] = DETECTOR_CLASSES
    log: bool = True


@dataclass
class LabelledPhoto:
    image_id: str
    group: str
    rgb: np.ndarray
    boxes: dict[str, np.ndarray] = field(default_factory=dict)


def load_photos(samples: list[Sample], classes: tuple[str, ...] = DETECTOR_CLASSES) -> list[LabelledPhoto]:
    return [
        LabelledPhoto(s.image_id, s.group, decode_image(s.image_path).rgb,
                      {c: np.asarray(s.boxes.get(c, []), np.float32).reshape(-1, 4) for c in classes})
        for s in samples
    ]


# --- augmentation -------------------------------------------------------------------------------

def augment(photo: LabelledPhoto, config: DetectorTrainingConfig, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A random flip / scale / shift / colour variant on the detector's square, boxes moved with it."""
    rgb, boxes = photo.rgb, dict(photo.boxes)
    height, width = rgb.shape[:2]
    if rng.random() < 0.5:
        rgb = rgb[:, ::-1]
        boxes = {c: np.stack([b[:, 0], width - b[:, 3], b[:, 2], width - b[:, 1]], 1) for c, b in boxes.items()}
    if rng.random() < 0.5:
        rgb = rgb[::-1]
        boxes = {c: np.stack([height - b[:, 2], b[:, 1], height - b[:, 0], b[:, 3]], 1) for c, b in boxes.items()}
    base = letterbox_placement(height, width, DETECTOR_INPUT_SIZE)
    scale = base.scale * rng.uniform(1 - config.scale_jitter, 1 + config.scale_jitter)
    pad_y = (DETECTOR_INPUT_SIZE - height * scale) / 2 + rng.uniform(-config.shift_pixels, config.shift_pixels)
    pad_x = (DETECTOR_INPUT_SIZE - width * scale) / 2 + rng.uniform(-config.shift_pixels, config.shift_pixels)
    placement = Placement(scale, float(round(pad_y)), float(round(pad_x)), DETECTOR_INPUT_SIZE)
    square = place(np.ascontiguousarray(rgb), placement).astype(np.float32)
    gain = rng.uniform(1 - config.colour_jitter, 1 + config.colour_jitter) * rng.uniform(0.95, 1.05, size=3)
    contrast = rng.uniform(1 - config.colour_jitter, 1 + config.colour_jitter)
    square = (square - square.mean()) * contrast + square.mean()
    square = np.clip(square * gain, 0, 255).astype(np.uint8)
    moved = {}
    for c, b in boxes.items():
        b = np.clip(placement.to_input(b), 0, DETECTOR_INPUT_SIZE)
        moved[c] = b[((b[:, 2] - b[:, 0]) > 2) & ((b[:, 3] - b[:, 1]) > 2)]
    return square, moved


# --- targets and loss ---------------------------------------------------------------------------

def make_targets(boxes: dict[str, np.ndarray], classes: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gaussian centre heatmap (C x H x W), regression targets (4 x H x W) and their mask (H x W)."""
    cells = DETECTOR_INPUT_SIZE // OUTPUT_STRIDE
    heatmap = np.zeros((len(classes), cells, cells), np.float32)
    regression = np.zeros((4, cells, cells), np.float32)
    mask = np.zeros((cells, cells), np.float32)
    grid = np.arange(cells, dtype=np.float32) + 0.5
    for label, name in enumerate(classes):
        for ymin, xmin, ymax, xmax in boxes.get(name, np.zeros((0, 4))):
            cy, cx = (ymin + ymax) / 2 / OUTPUT_STRIDE, (xmin + xmax) / 2 / OUTPUT_STRIDE
            h, w = (ymax - ymin) / OUTPUT_STRIDE, (xmax - xmin) / OUTPUT_STRIDE
            iy, ix = min(int(cy), cells - 1), min(int(cx), cells - 1)
            sigma_y, sigma_x = max(h / 6, 0.6), max(w / 6, 0.6)
            blob = np.exp(-((grid[:, None] - cy) ** 2) / (2 * sigma_y**2) - ((grid[None, :] - cx) ** 2) / (2 * sigma_x**2))
            blob /= blob[iy, ix]  # the centre cell is exactly 1: the positive of the focal loss
            heatmap[label] = np.maximum(heatmap[label], np.minimum(blob, 1.0))
            regression[:, iy, ix] = (cy - (iy + 0.5), cx - (ix + 0.5), math.log(h), math.log(w))
            mask[iy, ix] = 1.0
    return heatmap, regression, mask


def detector_loss(logits: torch.Tensor, regression: torch.Tensor, heatmap: torch.Tensor, target_regression: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss on the heatmap plus L1 on offsets and log-sizes at centres."""
    prob = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    positive = heatmap.eq(1.0).float()
    positive_loss = -torch.log(prob) * (1 - prob) ** 2 * positive
    negative_loss = -torch.log(1 - prob) * prob**2 * (1 - heatmap) ** 4 * (1 - positive)
    n_positive = positive.sum().clamp(min=1.0)
    focal = (positive_loss.sum() + negative_loss.sum()) / n_positive
    weight = mask.unsqueeze(1)
    box = (torch.abs(regression - target_regression) * weight).sum() / weight.sum().clamp(min=1.0)
    return focal + box


# --- training -----------------------------------------------------------------------------------

def _batches(photos: list[LabelledPhoto], config: DetectorTrainingConfig, rng: np.random.Generator):
    order = rng.permutation(len(photos))
    for start in range(0, len(order), config.batch_size):
        chosen = [photos[i] for i in order[start : start + config.batch_size]]
        squares, targets = zip(*(augment(p, config, rng) for p in chosen))
        heatmaps, regressions, masks = zip(*(make_targets(t, config.classes) for t in targets))
        yield (torch.from_numpy(to_detector_input(np.stack(squares))), torch.from_numpy(np.stack(heatmaps)),
               torch.from_numpy(np.stack(regressions)), torch.from_numpy(np.stack(masks)))


def _freeze_early_trunk(model: NailDetector) -> list[torch.nn.Module]:
    frozen = [model.stem, *model.blocks[:FROZEN_TRUNK_BLOCKS]]
    for module in frozen:
        module.requires_grad_(False)
    return frozen


def train_detector(photos: list[LabelledPhoto], config: DetectorTrainingConfig | None = None, pretrained: bool = True) -> NailDetector:
    config = config or DetectorTrainingConfig()
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = NailDetector(pretrained=pretrained, classes=config.classes)
    frozen = _freeze_early_trunk(model)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(parameters, lr=config.learning_rate, weight_decay=config.weight_decay)
    steps = config.epochs * math.ceil(len(photos) / config.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, config.learning_rate, total_steps=max(steps, 1), pct_start=0.1)
    for epoch in range(config.epochs):
        started, losses = time.perf_counter(), []
        model.train()
        for module in frozen:
            module.eval()  # keep ImageNet batch-norm statistics in the frozen layers
        for images, heatmaps, regressions, masks in _batches(photos, config, rng):
            logits, regression = model.raw(images)
            loss = detector_loss(logits, regression, heatmaps, regressions, masks)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            losses.append(float(loss.detach()))
        if config.log:
            print(f"  epoch {epoch + 1}/{config.epochs}: loss {np.mean(losses):.3f}, {time.perf_counter() - started:.1f} s", flush=True)
    return model.eval()


@torch.no_grad()
def predict_photos(model: NailDetector, photos: list[LabelledPhoto], score_threshold: float = EVAL_SCORE_THRESHOLD, batch_size: int = 16) -> list[list[Detection]]:
    """Torch-side prediction through the same letterbox and numpy decoder the runtimes use."""
    model.eval()
    results: list[list[Detection]] = []
    for start in range(0, len(photos), batch_size):
        chunk = photos[start : start + batch_size]
        squares, placements = zip(*(letterbox(p.rgb) for p in chunk))
        heatmaps, box_maps = model(torch.from_numpy(to_detector_input(np.stack(squares))))
        for photo, placement, heatmap, boxes in zip(chunk, placements, heatmaps.numpy(), box_maps.numpy()):
            results.append(decode_detections(heatmap, boxes, placement, photo.rgb.shape[:2], score_threshold,
                                             classes=model.classes))
    return results


# --- cross-validation ---------------------------------------------------------------------------

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


def load_detector_photos(dataset: Dataset) -> list[LabelledPhoto]:
    missing = [s.image_id for s in dataset.samples if "nail" not in s.boxes]
    if missing:
        raise ValueError(f"{dataset.name}: photos {missing[:5]} have no nail boxes; the detector trains on boxed photos only.")
    return load_photos(dataset.samples)


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
    import yaml

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
    from vitalens.tasks.hb_nails.detector_model import export_detector_onnx

    run_dir.mkdir(parents=True, exist_ok=True)
    model = train_detector(photos, config)
    torch.save(model.state_dict(), run_dir / "detector.pt")
    onnx_path = export_detector_onnx(model, run_dir / DETECTOR_FILE)
    (run_dir / DETECTOR_SUMMARY_FILE).write_text(json.dumps(detector_summary(photos, config, validation), indent=1))
    return onnx_path
