"""Detection metrics: COCO-style average precision, precision and recall per class (numpy only).

Hand-written because pycocotools is not installed here and needs a compiled extension plus COCO-JSON
glue for what is ~40 lines: greedy score-ordered matching per image at each IoU threshold and the
COCO 101-point interpolated AP, averaged over IoU 0.50:0.05:0.95 for mAP50-95.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from vitalens.tasks.hb_nails.detection import box_iou

COCO_IOU_THRESHOLDS = np.round(np.arange(0.5, 0.96, 0.05), 2)


def _match(detections: list[tuple[str, float, np.ndarray]], truth_boxes: np.ndarray, iou_threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Scores and true-positive flags of one image's detections of one class, best first."""
    detections = sorted(detections, key=lambda d: -d[1])
    used = np.zeros(len(truth_boxes), dtype=bool)
    scores, hits = [], []
    for _, score, box in detections:
        hit = False
        if len(truth_boxes):
            ious = box_iou(np.asarray(box, np.float32), truth_boxes.astype(np.float32))
            ious[used] = -1.0
            best = int(np.argmax(ious))
            if ious[best] >= iou_threshold:
                used[best] = True
                hit = True
        scores.append(score)
        hits.append(hit)
    return np.array(scores, dtype=np.float64), np.array(hits, dtype=bool)


def average_precision(scores: np.ndarray, hits: np.ndarray, n_truths: int) -> float:
    """COCO 101-point interpolated AP from pooled detections."""
    if n_truths == 0:
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    hits = hits[order]
    tp = np.cumsum(hits)
    fp = np.cumsum(~hits)
    recall = tp / n_truths
    precision = tp / np.maximum(tp + fp, 1)
    precision = np.maximum.accumulate(precision[::-1])[::-1] if len(precision) else precision
    points = np.linspace(0, 1, 101)
    idx = np.searchsorted(recall, points, side="left")
    sampled = np.array([precision[i] if i < len(precision) else 0.0 for i in idx])
    return float(sampled.mean())


def detection_metrics(
    predictions: Iterable[list[tuple[str, float, np.ndarray]]],
    truths: Iterable[dict[str, list]],
    classes: tuple[str, ...],
    operating_score: float = 0.3,
) -> dict[str, dict[str, float]]:
    """Per class: AP50, AP50-95, and precision/recall at IoU 0.5 for detections scoring >= operating_score.

    predictions[i] is image i's list of (label, score, box); truths[i] maps label -> list of boxes.
    """
    predictions, truths = list(predictions), list(truths)
    table: dict[str, dict[str, float]] = {}
    for label in classes:
        per_image = [
            ([d for d in dets if d[0] == label], np.asarray(gt.get(label, []), dtype=np.float32).reshape(-1, 4))
            for dets, gt in zip(predictions, truths)
        ]
        n_truths = sum(len(gt) for _, gt in per_image)
        aps = []
        for threshold in COCO_IOU_THRESHOLDS:
            matched = [_match(dets, gt, threshold) for dets, gt in per_image]
            scores = np.concatenate([m[0] for m in matched]) if matched else np.zeros(0)
            hits = np.concatenate([m[1] for m in matched]) if matched else np.zeros(0, bool)
            aps.append(average_precision(scores, hits, n_truths))
            if threshold == 0.5:
                kept = scores >= operating_score
                true_positives = int(hits[kept].sum())
                precision = true_positives / max(int(kept.sum()), 1)
                recall = true_positives / max(n_truths, 1)
        table[label] = {"mAP50": aps[0], "mAP50-95": float(np.mean(aps)), "precision": precision,
                        "recall": recall, "truths": n_truths}
    return table
