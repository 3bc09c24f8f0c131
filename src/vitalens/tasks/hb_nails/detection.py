"""Nail and skin detection, the serving half: letterbox in, boxes out. Numpy and PIL only, never torch.

Training and every runtime share these functions, so a photo is placed on the detector's square input
the same way everywhere, and the detector's raw maps become boxes the same way everywhere:
`letterbox` -> ONNX model -> `decode_detections` (peak picking, score threshold, class-wise NMS,
letterbox undone). Boxes are (ymin, xmin, ymax, xmax) in pixels of the original upright photo.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from PIL import Image

from vitalens.data.samples import Box
from vitalens.tasks.hb_nails.regions import adjacent_skin_box

DETECTOR_INPUT_SIZE = 320
DETECTOR_CLASSES = ("nail", "skin")
DETECTOR_FILE = "detector.onnx"
DETECTOR_SUMMARY_FILE = "detector.json"  # training data and session-grouped CV metrics, copied into bundle.json
# Operating point: at this score, session-grouped CV on the 197 Yakimov photos found 99.5 % of the nails (IoU 0.5).
DETECTOR_SCORE_THRESHOLD = 0.3
DETECTOR_IOU_THRESHOLD = 0.5
DETECTOR_MAX_NAILS = 3
# The trunk was pretrained on (x*255 - 127) / 128, so a mid-grey pad is zero after normalisation.
PAD_VALUE = 127


@dataclass(frozen=True)
class Placement:
    """Where the photo sits on the square input: input = photo * scale + (pad_y, pad_x)."""

    scale: float
    pad_y: float
    pad_x: float
    size: int

    def to_input(self, boxes: np.ndarray) -> np.ndarray:
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        return boxes * self.scale + np.array([self.pad_y, self.pad_x, self.pad_y, self.pad_x], np.float32)

    def to_photo(self, boxes: np.ndarray) -> np.ndarray:
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        return (boxes - np.array([self.pad_y, self.pad_x, self.pad_y, self.pad_x], np.float32)) / self.scale


@dataclass(frozen=True)
class Detection:
    label: str
    score: float
    box: tuple[float, float, float, float]  # ymin, xmin, ymax, xmax in photo pixels


def letterbox_placement(height: int, width: int, size: int = DETECTOR_INPUT_SIZE) -> Placement:
    """The whole photo, aspect kept, centred on a size x size square."""
    scale = size / max(height, width)
    return Placement(scale, float((size - round(height * scale)) // 2), float((size - round(width * scale)) // 2), size)


def place(rgb: np.ndarray, placement: Placement) -> np.ndarray:
    """Resize the photo by placement.scale and paste it at (pad_y, pad_x) on a grey square (crops what overhangs)."""
    height, width = rgb.shape[:2]
    new_h, new_w = max(1, round(height * placement.scale)), max(1, round(width * placement.scale))
    resized = np.asarray(Image.fromarray(rgb).resize((new_w, new_h), Image.BILINEAR))
    canvas = np.full((placement.size, placement.size, 3), PAD_VALUE, dtype=np.uint8)
    top, left = int(placement.pad_y), int(placement.pad_x)
    src_y0, src_x0 = max(0, -top), max(0, -left)
    dst_y0, dst_x0 = max(0, top), max(0, left)
    h = min(new_h - src_y0, placement.size - dst_y0)
    w = min(new_w - src_x0, placement.size - dst_x0)
    if h > 0 and w > 0:
        canvas[dst_y0 : dst_y0 + h, dst_x0 : dst_x0 + w] = resized[src_y0 : src_y0 + h, src_x0 : src_x0 + w]
    return canvas


def letterbox(rgb: np.ndarray, size: int = DETECTOR_INPUT_SIZE) -> tuple[np.ndarray, Placement]:
    """RGB uint8 photo -> (size x size x 3 uint8 square, placement to map boxes back)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"letterbox needs an H x W x 3 RGB image, got shape {rgb.shape}")
    placement = letterbox_placement(rgb.shape[0], rgb.shape[1], size)
    return place(rgb, placement), placement


def to_detector_input(squares: np.ndarray) -> np.ndarray:
    """N x S x S x 3 uint8 -> N x 3 x S x S float32, normalised as the EfficientNet-Lite trunk expects."""
    squares = np.asarray(squares, dtype=np.float32)
    if squares.ndim == 3:
        squares = squares[None]
    return np.ascontiguousarray(((squares - 127.0) / 128.0).transpose(0, 3, 1, 2))


def _peaks(heatmap: np.ndarray) -> np.ndarray:
    """True where a cell is the maximum of its 3x3 neighbourhood (CenterNet's max-pool 'NMS')."""
    padded = np.pad(heatmap, ((0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    neighbourhood = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(1, 2)).max(axis=(-2, -1))
    return heatmap >= neighbourhood


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one (ymin, xmin, ymax, xmax) box against many."""
    inter_h = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    inter_w = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = inter_h * inter_w
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
    return inter / np.maximum(area(box) + area(boxes) - inter, 1e-9)


def nms(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray, iou_threshold: float = 0.5) -> np.ndarray:
    """Class-wise greedy NMS; returns kept indices, highest score first.

    Hand-written because the serving world has numpy only (no torchvision/opencv dependency), and a
    few dozen candidates per photo make the O(n^2) loop instant.
    """
    order = np.argsort(-scores, kind="stable")
    kept: list[int] = []
    for index in order:
        same_class = [k for k in kept if labels[k] == labels[index]]
        if same_class and box_iou(boxes[index], boxes[same_class]).max() > iou_threshold:
            continue
        kept.append(int(index))
    return np.array(kept, dtype=np.int64)


def decode_detections(
    heatmap: np.ndarray,
    box_maps: np.ndarray,
    placement: Placement,
    photo_shape: tuple[int, int],
    score_threshold: float = DETECTOR_SCORE_THRESHOLD,
    iou_threshold: float = 0.5,
    max_per_class: int = 20,
    classes: tuple[str, ...] = DETECTOR_CLASSES,
) -> list[Detection]:
    """One image's detector outputs -> detections in photo pixels, best first.

    heatmap: C x H x W class scores in [0, 1]; box_maps: 4 x H x W = (centre_y, centre_x, height,
    width) in input pixels for each cell. Boxes are clipped to the photo; boxes wholly in the pad are dropped.
    """
    heatmap = np.asarray(heatmap, dtype=np.float32)
    box_maps = np.asarray(box_maps, dtype=np.float32)
    if heatmap.ndim != 3 or heatmap.shape[0] != len(classes) or box_maps.shape != (4,) + heatmap.shape[1:]:
        raise ValueError(f"detector outputs have shapes {heatmap.shape} and {box_maps.shape}; expected "
                         f"({len(classes)}, H, W) and (4, H, W)")
    candidates = []
    peaks = _peaks(heatmap) & (heatmap >= score_threshold)
    for label in range(len(classes)):
        ys, xs = np.nonzero(peaks[label])
        scores = heatmap[label, ys, xs]
        top = np.argsort(-scores, kind="stable")[:max_per_class]
        for y, x, score in zip(ys[top], xs[top], scores[top]):
            cy, cx, h, w = box_maps[:, y, x]
            candidates.append((label, float(score), (cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2)))
    if not candidates:
        return []
    labels = np.array([c[0] for c in candidates])
    scores = np.array([c[1] for c in candidates], dtype=np.float32)
    boxes = placement.to_photo(np.array([c[2] for c in candidates], dtype=np.float32))
    height, width = photo_shape[:2]
    boxes = np.clip(boxes, 0, [height, width, height, width]).astype(np.float32)
    inside = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])  # a peak in the letterbox pad is no detection
    keep = [i for i in nms(boxes, scores, labels, iou_threshold) if inside[i]]
    return [Detection(classes[labels[i]], float(scores[i]), tuple(float(v) for v in boxes[i])) for i in keep]


class OnnxDetector:
    """The exported detector under onnxruntime: photo in, detections in photo pixels out."""

    def __init__(self, model, classes: tuple[str, ...] = DETECTOR_CLASSES):
        """`model`: an ONNX path or bytes, or an open session (a bundle's detector stage: `Bundle.session("detector")`)."""
        import onnxruntime

        if isinstance(model, onnxruntime.InferenceSession):
            self.session = model
        else:
            self.session = onnxruntime.InferenceSession(model if isinstance(model, bytes) else str(model), providers=["CPUExecutionProvider"])
        self.classes = classes
        self.input_name = self.session.get_inputs()[0].name
        self.input_size = int(self.session.get_inputs()[0].shape[-1])

    def raw(self, square: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        heatmap, box_maps = self.session.run(None, {self.input_name: to_detector_input(square)})
        return heatmap[0], box_maps[0]

    def detect(self, rgb: np.ndarray, score_threshold: float = DETECTOR_SCORE_THRESHOLD, iou_threshold: float = DETECTOR_IOU_THRESHOLD) -> list[Detection]:
        square, placement = letterbox(rgb, self.input_size)
        heatmap, box_maps = self.raw(square)
        return decode_detections(heatmap, box_maps, placement, rgb.shape[:2], score_threshold, iou_threshold,
                                 classes=self.classes)


class DetectedRegions(NamedTuple):
    nail_boxes: list[Box]
    skin_boxes: list[Box]  # one per nail
    scores: list[float]  # each nail's detector confidence


def detections_to_regions(detections: list[Detection], min_score: float = DETECTOR_SCORE_THRESHOLD, max_nails: int = DETECTOR_MAX_NAILS) -> DetectedRegions:
    """The second stage's input: the `max_nails` most confident nails with their scores and, for each, the
    nearest unused detected skin box (or the nail's adjacent skin when none is left), as integer
    (ymin, xmin, ymax, xmax).

    The protocol photographs three fingers, so more than three nails means a spurious one; keeping the
    most confident three matches how the regressor was trained on annotated photos.
    """
    nails = sorted((d for d in detections if d.label == "nail" and d.score >= min_score), key=lambda d: -d.score)[:max_nails]
    skins = [d for d in detections if d.label == "skin" and d.score >= min_score]
    nail_boxes = [_integer_box(d.box) for d in nails]
    return DetectedRegions(nail_boxes, _pair_skins(nail_boxes, [_integer_box(d.box) for d in skins]), [d.score for d in nails])


def _pair_skins(nail_boxes: list[Box], skin_boxes: list[Box]) -> list[Box]:
    unused = list(skin_boxes)
    paired = []
    for nail in nail_boxes:
        if not unused:
            paired.append(adjacent_skin_box(nail))
            continue
        nearest = min(unused, key=lambda skin: _centre_distance(nail, skin))
        unused.remove(nearest)
        paired.append(nearest)
    return paired


def _centre_distance(a: Box, b: Box) -> float:
    return float(np.hypot((a[0] + a[2] - b[0] - b[2]) / 2, (a[1] + a[3] - b[1] - b[3]) / 2))


def _integer_box(box: tuple[float, float, float, float]) -> Box:
    return tuple(int(round(v)) for v in box)
