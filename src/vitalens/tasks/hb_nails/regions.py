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
# The same rules on 8-bit values: a spread of at most 30 is below 0.12 x 255 = 30.6; an excess of 90 or
# more is above 0.35 x 255 = 89.25; a gap of at most 20 is below 0.08 x 255 = 20.4 (far from any
# rounding; tests/test_numpy_stages.py checks every colour against the float rules).
_WHITE_SPREAD = int(WHITE_MAX_SATURATION * 255)
_RED_EXCESS = int(RED_MIN_EXCESS * 255) + 1
_RED_GAP = int(RED_MAX_GREEN_BLUE_GAP * 255)
_UNIT = np.arange(256, dtype=np.float32) / 255.0  # v / 255 as rgb.astype(np.float32) / 255.0 gives it


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
    """Median colour of the bright, unsaturated pixels (the white card), in [0, 1].

    Bright = mean of the three channels (each v / 255 in float32) above its 60th percentile; unsaturated
    = channel spread below WHITE_MAX_SATURATION, which on 8-bit values is a spread of at most _WHITE_SPREAD."""
    sampled = rgb[::WHITE_STRIDE, ::WHITE_STRIDE]
    channels = sampled[..., 0], sampled[..., 1], sampled[..., 2]
    brightness = sum(np.take(_UNIT, c) for c in channels) / np.float32(3)  # = pixels.mean(axis=1), in the same order
    bright = brightness > np.percentile(brightness, WHITE_BRIGHTNESS_PERCENTILE)
    spread = np.maximum(np.maximum(*channels[:2]), channels[2]) - np.minimum(np.minimum(*channels[:2]), channels[2])
    selected = bright & (spread <= _WHITE_SPREAD)
    if np.count_nonzero(selected) < 50:  # no card in view: fall back to the bright pixels so the photo still has a reference
        selected = bright if np.count_nonzero(bright) >= 50 else np.ones_like(bright)
    return np.clip([_median_unit(c[selected]) for c in channels], 1e-3, 1.0).astype(np.float32)


def reference_red(rgb: np.ndarray) -> np.ndarray | None:
    """Median colour of the card's red mark (the largest pure-red blob, edge pixels eroded), in [0, 1]; None if absent.

    Pure red = red above the larger of green and blue by more than RED_MIN_EXCESS and green within
    RED_MAX_GREEN_BLUE_GAP of blue, compared here on the 8-bit values (_RED_EXCESS, _RED_GAP)."""
    red, green, blue = cv2.split(np.ascontiguousarray(rgb[..., :3]))
    excess = cv2.subtract(red, cv2.max(green, blue))  # saturates at 0, below the threshold anyway
    mask = cv2.bitwise_and(cv2.compare(excess, _RED_EXCESS, cv2.CMP_GE), cv2.compare(cv2.absdiff(green, blue), _RED_GAP, cv2.CMP_LE))
    # Components, their areas and their raster order are the same inside the box around every masked
    # pixel (grown by the one pixel the erosion below looks at), and that box is mostly the mark alone.
    x, y, w, h = cv2.boundingRect(mask)
    top, left, bottom, right = max(0, y - 1), max(0, x - 1), min(mask.shape[0], y + h + 1), min(mask.shape[1], x + w + 1)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask[top:bottom, left:right], connectivity=8)
    if count < 2:
        return None
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    if stats[largest, cv2.CC_STAT_AREA] < RED_MIN_AREA_FRACTION * mask.size:
        return None
    blob = (labels == largest).astype(np.uint8)
    core = cv2.erode(blob, np.ones((3, 3), np.uint8)) > 0  # OpenCV leaves pixels beyond the photo out, as before
    box = rgb[top:bottom, left:right, :3]
    selected = box[core] if core.any() else box[blob > 0]
    return np.clip(np.median(_UNIT[selected], axis=0), 1e-3, 1.0).astype(np.float32)


def _median_unit(values: np.ndarray) -> np.float32:
    """np.median(values.astype(np.float32) / 255) of 8-bit values, bit for bit, by counting.

    Written out because a 256-bin count finds the middle value(s) without the float copy and the sort
    np.median needs (most of the white reference's cost); np.median then averages just those, so the
    result is the float32 it would have given."""
    middle = [(len(values) - 1) // 2, len(values) // 2]
    picked = np.searchsorted(np.cumsum(np.bincount(values, minlength=256)), middle, side="right")
    return np.median(_UNIT[picked[: 1 + (middle[0] != middle[1])]])


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
