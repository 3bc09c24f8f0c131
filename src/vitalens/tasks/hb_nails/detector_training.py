"""Train the nail/skin detector (training world): photos with boxes, augmentation on the detector's
square, CenterNet targets and loss, the fit, and torch-side prediction through the runtimes' decoder.

`train_detector` fits one model; `vitalens.tasks.hb_nails.detector_validation` cross-validates it by
session and writes the run folders the `train-detector` and `evaluate-detector` commands make.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from vitalens.data import Dataset, Sample
from vitalens.imaging import decode_image
from vitalens.tasks.hb_nails.detector_model import OUTPUT_STRIDE, NailDetector
from vitalens.tasks.hb_nails.detection import (
    DETECTOR_CLASSES,
    DETECTOR_INPUT_SIZE,
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


def load_detector_photos(dataset: Dataset) -> list[LabelledPhoto]:
    missing = [s.image_id for s in dataset.samples if "nail" not in s.boxes]
    if missing:
        raise ValueError(f"{dataset.name}: photos {missing[:5]} have no nail boxes; the detector trains on boxed photos only.")
    return load_photos(dataset.samples)
