"""Faces and their 5 landmarks in any photo, with MTCNN's three small ONNX nets. Serving world: numpy + opencv.

`detect_faces(rgb, sessions)` -> [Face(box, score, landmarks)], best first. `sessions` maps "pnet",
"rnet" and "onet" to ONNX Runtime sessions (a bundle ships them; see
vitalens.tasks.face_age_gender.detector_export for the graphs). The cascade is MTCNN's (Zhang et al.
2016): an image pyramid through the fully convolutional PNet gives proposals, RNet and ONet refine and
re-score them on 24x24 and 48x48 patches, and ONet adds the landmarks (left eye, right eye, nose, left
and right mouth corner, as the viewer sees them). Patches outside the photo are zero-padded, as in the
original, so a face at the border keeps its proportions.
`align(rgb, landmarks, template, side)` warps a face so its landmarks land on a template's (a similarity:
rotation, scale, shift, no shear). The decode and NMS helpers have a JS twin (webapp/js/face_detector.js).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import cv2
import numpy as np

Box = tuple[float, float, float, float]  # (ymin, xmin, ymax, xmax) in pixels, the vitalens convention
THRESHOLDS = (0.6, 0.7, 0.7)  # PNet, RNet, ONet face-probability cut-offs, MTCNN's published defaults
PYRAMID_FACTOR = 0.709  # each pyramid level is this times the last (MTCNN's; area halves every two levels)
CELL, STRIDE = 12, 2  # PNet's receptive field and output stride, in pixels of its pyramid level


@dataclass(frozen=True)
class Face:
    box: Box
    score: float
    landmarks: np.ndarray  # [5, 2] (x, y) pixels

    @property
    def side(self) -> float:
        return float(min(self.box[2] - self.box[0], self.box[3] - self.box[1]))


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, by_min: bool = False) -> np.ndarray:
    """Indices of the boxes ([N, 4] x1, y1, x2, y2) kept by greedy non-maximum suppression, best first;
    overlap is intersection over union, or over the smaller box (`by_min`, for nested boxes)."""
    order, keep = np.argsort(-scores, kind="stable"), []
    area = (boxes[:, 2] - boxes[:, 0] + 1) * (boxes[:, 3] - boxes[:, 1] + 1)
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        w = np.maximum(0.0, np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0]) + 1)
        h = np.maximum(0.0, np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1]) + 1)
        inter = w * h
        overlap = inter / (np.minimum(area[i], area[rest]) if by_min else area[i] + area[rest] - inter)
        order = rest[overlap <= threshold]
    return np.asarray(keep, dtype=np.int64)


def pnet_boxes(offsets: np.ndarray, probs: np.ndarray, scale: float, threshold: float) -> np.ndarray:
    """PNet's maps for one pyramid level ([4, h, w], [h, w]) -> [N, 9]: x1, y1, x2, y2 (photo pixels), score, 4 offsets."""
    ys, xs = np.nonzero(probs >= threshold)
    cells = np.stack([xs, ys], axis=1).astype(np.float64)
    top_left = np.floor((STRIDE * cells + 1) / scale)
    bottom_right = np.floor((STRIDE * cells + CELL) / scale)
    return np.concatenate([top_left, bottom_right, probs[ys, xs, None], offsets[:, ys, xs].T], axis=1)


def refine(boxes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Shift each box's edges by its predicted offsets (fractions of its width and height)."""
    size = np.stack([boxes[:, 2] - boxes[:, 0] + 1, boxes[:, 3] - boxes[:, 1] + 1] * 2, axis=1)
    return np.concatenate([boxes[:, :4] + offsets * size, boxes[:, 4:5]], axis=1)


def squared(boxes: np.ndarray) -> np.ndarray:
    """Each box widened to a square on its longer side, about its centre (the nets see square patches)."""
    out = boxes.copy()
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    out[:, 0], out[:, 1] = boxes[:, 0] + w / 2 - side / 2, boxes[:, 1] + h / 2 - side / 2
    out[:, 2], out[:, 3] = out[:, 0] + side, out[:, 1] + side
    return out


def pyramid_scales(height: int, width: int, min_face: float) -> list[float]:
    """Scales at which PNet's 12-pixel cell sees faces from `min_face` pixels up to the photo's short side."""
    scales, scale = [], CELL / min_face
    while min(height, width) * scale >= CELL:
        scales.append(scale)
        scale *= PYRAMID_FACTOR
    return scales


def patches(rgb: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """[N, 3, size, size] float32 pixels (0-255) of each box, zero outside the photo, area-resampled."""
    height, width = rgb.shape[:2]
    out = np.zeros((len(boxes), 3, size, size), np.float32)
    for k, (x1, y1, x2, y2) in enumerate(np.trunc(boxes[:, :4]).astype(np.int64)):
        h, w = max(1, y2 - y1 + 1), max(1, x2 - x1 + 1)
        canvas = np.zeros((h, w, 3), np.uint8)
        top, left, bottom, right = max(0, y1), max(0, x1), min(height, y2 + 1), min(width, x2 + 1)
        if bottom > top and right > left:
            canvas[top - y1 : bottom - y1, left - x1 : right - x1] = rgb[top:bottom, left:right]
        out[k] = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA).transpose(2, 0, 1)
    return out


def _run(session, pixels: np.ndarray) -> list[np.ndarray]:
    return session.run(None, {session.get_inputs()[0].name: pixels})


def detect_faces(rgb: np.ndarray, sessions: Mapping[str, object], min_face: float = 40.0, thresholds: tuple[float, float, float] = THRESHOLDS) -> list[Face]:
    """Every face at least `min_face` pixels wide in an RGB uint8 photo, highest ONet score first."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width = rgb.shape[:2]
    proposals = []
    for scale in pyramid_scales(height, width, min_face):
        level = cv2.resize(rgb, (int(width * scale + 1), int(height * scale + 1)), interpolation=cv2.INTER_AREA)
        offsets, probs = _run(sessions["pnet"], level.transpose(2, 0, 1)[None].astype(np.float32))
        found = pnet_boxes(offsets[0], probs[0, 1], scale, thresholds[0])
        proposals.append(found[nms(found[:, :4], found[:, 4], 0.5)])
    boxes = np.concatenate(proposals) if proposals else np.zeros((0, 9))
    if not len(boxes):
        return []
    boxes = boxes[nms(boxes[:, :4], boxes[:, 4], 0.7)]
    boxes = squared(refine(boxes[:, :5], boxes[:, 5:9]))
    offsets, probs = _run(sessions["rnet"], patches(rgb, boxes, 24))
    keep = probs[:, 1] > thresholds[1]
    boxes, offsets = boxes[keep], offsets[keep]
    boxes[:, 4] = probs[keep, 1]
    if not len(boxes):
        return []
    picked = nms(boxes[:, :4], boxes[:, 4], 0.7)
    boxes = squared(refine(boxes[picked], offsets[picked]))
    offsets, points, probs = _run(sessions["onet"], patches(rgb, boxes, 48))
    keep = probs[:, 1] > thresholds[2]
    boxes, offsets, points = boxes[keep], offsets[keep], points[keep]
    boxes[:, 4] = probs[keep, 1]
    size = np.stack([boxes[:, 2] - boxes[:, 0] + 1, boxes[:, 3] - boxes[:, 1] + 1], axis=1)
    landmarks = np.stack([points[:, :5], points[:, 5:]], axis=2) * size[:, None, :] + boxes[:, None, :2] - 1
    boxes = refine(boxes, offsets)
    picked = nms(boxes[:, :4], boxes[:, 4], 0.7, by_min=True)
    return [Face((float(b[1]), float(b[0]), float(b[3]), float(b[2])), float(b[4]), landmarks[i]) for i, b in zip(picked, boxes[picked])]


def similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2x3 least-squares similarity (Umeyama 1991, no reflection) taking `source` points onto `target`."""
    src_mean, dst_mean = source.mean(0), target.mean(0)
    src, dst = source - src_mean, target - dst_mean
    u, singular, vt = np.linalg.svd(dst.T @ src / len(source))
    d = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])
    rotation = u @ d @ vt
    scale = float(np.trace(np.diag(singular) @ d) / src.var(0).sum())
    return np.concatenate([scale * rotation, (dst_mean - scale * rotation @ src_mean)[:, None]], axis=1)


def align(rgb: np.ndarray, landmarks: np.ndarray, template: np.ndarray, side: int) -> np.ndarray:
    """[side, side, 3] uint8: the face warped so its landmarks meet `template` (fractions of `side`). A face
    larger than the output is first area-shrunk, so the warp never skips pixels (aliasing)."""
    matrix = similarity(np.asarray(landmarks, np.float64), np.asarray(template, np.float64) * side)
    shrink = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    if shrink < 0.5:
        factor = 2 * shrink  # leaves a final bilinear step of 1/2, which samples every pixel
        rgb = cv2.resize(rgb, (max(1, round(rgb.shape[1] * factor)), max(1, round(rgb.shape[0] * factor))), interpolation=cv2.INTER_AREA)
        matrix = similarity(np.asarray(landmarks, np.float64) * factor, np.asarray(template, np.float64) * side)
    return cv2.warpAffine(np.ascontiguousarray(rgb), matrix, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
