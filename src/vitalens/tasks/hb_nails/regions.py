"""Nail and adjacent-skin regions plus the photo's white reference, as model-ready arrays.

Shared by training and every runtime, so the pixels a model saw in training are the pixels it sees in
use. The browser app mirrors `reference_white` and `crop_regions` in JS; their rules are written into
each bundle's JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from vitalens.colour import skin_ita
from vitalens.data.samples import Box

CROP_SIZE = 32
# The card is the brightest, least saturated part of these photos; the thresholds keep fingers,
# shadows and the red/green marks out of the reference.
WHITE_BRIGHTNESS_PERCENTILE = 60.0
WHITE_MAX_SATURATION = 0.12
WHITE_STRIDE = 2
# The card's printed red mark: pure red (red well above green and blue, green close to blue), which keeps
# skin and the orange light streak out. Its colour relative to the white is a second reference point.
RED_MIN_EXCESS = 0.35
RED_MAX_GREEN_BLUE_GAP = 0.08
RED_MIN_AREA_FRACTION = 1e-4  # about 48 pixels at 800 x 600; the mark covers 340-460 there
# The mark's median colour over the white, measured on the 197 Yakimov development photos (label-free).
# A photo whose mark is not found gets exactly this, so the red correction leaves it white-balanced only.
RED_MARK_RELATIVE = (0.946, 0.318, 0.296)


@dataclass
class NailRegions:
    nails: np.ndarray  # N x 3 x S x S float32 in [0, 1]
    skins: np.ndarray  # N x 3 x S x S float32 in [0, 1]
    white: np.ndarray  # 3 float32 in (0, 1]: the photo's reference white
    red: np.ndarray  # 3 float32 in (0, 1]: the card's red mark (RED_MARK_RELATIVE x white when not found)
    red_found: bool
    nail_boxes: list[Box]
    skin_boxes: list[Box]
    skin_tone_ita: float

    def __len__(self) -> int:
        return int(self.nails.shape[0])


def region_inputs(regions: NailRegions) -> dict[str, np.ndarray]:
    """Every array a nail model may take, by its ONNX input name (per-photo references repeated per region)."""
    n = len(regions)
    return {
        "nails": regions.nails,
        "skins": regions.skins,
        "white": np.repeat(regions.white[None], n, axis=0),
        "red": np.repeat(regions.red[None], n, axis=0),
    }


def reference_white(rgb: np.ndarray) -> np.ndarray:
    """Median colour of the bright, unsaturated pixels (the white card), in [0, 1]."""
    pixels = rgb[::WHITE_STRIDE, ::WHITE_STRIDE].reshape(-1, 3).astype(np.float32) / 255.0
    brightness = pixels.mean(axis=1)
    saturation = pixels.max(axis=1) - pixels.min(axis=1)
    bright = brightness > np.percentile(brightness, WHITE_BRIGHTNESS_PERCENTILE)
    selected = pixels[bright & (saturation < WHITE_MAX_SATURATION)]
    if len(selected) < 50:  # no card in view: fall back to the bright pixels so the photo still has a reference
        selected = pixels[bright] if bright.sum() >= 50 else pixels
    return np.clip(np.median(selected, axis=0), 1e-3, 1.0).astype(np.float32)


def reference_red(rgb: np.ndarray) -> np.ndarray | None:
    """Median colour of the card's red mark (the largest pure-red blob, edge pixels eroded), in [0, 1]; None if absent."""
    pixels = rgb.astype(np.float32) / 255.0
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    mask = ((red - np.maximum(green, blue)) > RED_MIN_EXCESS) & (np.abs(green - blue) < RED_MAX_GREEN_BLUE_GAP)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count < 2:
        return None
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    if stats[largest, cv2.CC_STAT_AREA] < RED_MIN_AREA_FRACTION * mask.size:
        return None
    core = cv2.erode((labels == largest).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    selected = pixels[core] if core.any() else pixels[labels == largest]
    return np.clip(np.median(selected, axis=0), 1e-3, 1.0).astype(np.float32)


def clip_box(box: Box, height: int, width: int) -> Box:
    ymin, xmin, ymax, xmax = box
    ymin, ymax = max(0, min(ymin, height - 1)), max(1, min(ymax, height))
    xmin, xmax = max(0, min(xmin, width - 1)), max(1, min(xmax, width))
    return (ymin, xmin, max(ymax, ymin + 1), max(xmax, xmin + 1))


def crop_regions(rgb: np.ndarray, boxes: list[Box], size: int = CROP_SIZE) -> np.ndarray:
    """Each box resized to size x size with area averaging (keeps the region's mean colour)."""
    height, width = rgb.shape[:2]
    crops = []
    for box in boxes:
        ymin, xmin, ymax, xmax = clip_box(box, height, width)
        patch = Image.fromarray(rgb[ymin:ymax, xmin:xmax]).resize((size, size), Image.Resampling.BOX)
        crops.append(np.asarray(patch, dtype=np.float32).transpose(2, 0, 1) / 255.0)
    return np.stack(crops) if crops else np.zeros((0, 3, size, size), dtype=np.float32)


def nail_regions(rgb: np.ndarray, nail_boxes: list[Box], skin_boxes: list[Box], size: int = CROP_SIZE) -> NailRegions:
    """Pair each nail with its skin box; a photo without skin boxes uses the nail's own neighbourhood."""
    if not nail_boxes:
        raise ValueError("no nail boxes: annotate the nails or use the nail detector")
    if len(skin_boxes) != len(nail_boxes):
        skin_boxes = [adjacent_skin_box(box) for box in nail_boxes]
    height, width = rgb.shape[:2]
    skin_pixels = np.concatenate([_box_pixels(rgb, clip_box(b, height, width)) for b in skin_boxes])
    white = reference_white(rgb)
    red = reference_red(rgb)
    balanced_skin = np.clip(skin_pixels / (white * 255.0), 0, 1) * 255.0
    return NailRegions(
        nails=crop_regions(rgb, nail_boxes, size),
        skins=crop_regions(rgb, skin_boxes, size),
        white=white,
        red=red if red is not None else (white * np.asarray(RED_MARK_RELATIVE, dtype=np.float32)).astype(np.float32),
        red_found=red is not None,
        nail_boxes=list(nail_boxes),
        skin_boxes=list(skin_boxes),
        skin_tone_ita=skin_ita(balanced_skin),
    )


def adjacent_skin_box(nail: Box) -> Box:
    """The finger skin just proximal to a nail, as annotated in the Yakimov photos (fingers point left)."""
    ymin, xmin, ymax, xmax = nail
    width = xmax - xmin
    return (ymin, xmax + width // 2, ymax, xmax + width + width // 2)


def _box_pixels(rgb: np.ndarray, box: Box) -> np.ndarray:
    ymin, xmin, ymax, xmax = box
    return rgb[ymin:ymax, xmin:xmax].reshape(-1, 3).astype(np.float64)
