"""Colour features of the lips, raw and normalised against the skin around them (numpy).

Why normalise: the camera sees lip colour times the light's colour times the white-balance error
times exposure, and melanin darkens lips and skin alike. Dividing lip by skin (in linear RGB) cancels
what the two share, the way the nail models divide by the white card and the nearby skin.

Pixels are chosen robustly, since a box is not a mask: inside the lip box, the redder half (by
CIELAB a* - b*) of the usable pixels; inside the skin box but outside the lip box, the less red half.
Usable = not too dark (mouth interior, shadows), not blown out (speculars), not grey (teeth, UI).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vitalens.colour import srgb8_to_lab, srgb8_to_linear
from vitalens.tasks.hb_lips.regions import Box, LipRegion, find_lips

RAW_LIP_FEATURES = ("lip_L", "lip_a", "lip_b", "lip_log_r", "lip_log_g", "lip_log_b")
SKIN_FEATURES = ("skin_L", "skin_a", "skin_b")
NORMALISED_FEATURES = ("delta_L", "delta_a", "delta_b", "ratio_log_r", "ratio_log_g", "ratio_log_b")
LIP_COLOUR_FEATURES = RAW_LIP_FEATURES + SKIN_FEATURES + NORMALISED_FEATURES

MIN_PIXELS = 20
MAX_SAMPLED_PIXELS = 50_000
_LIGHTNESS_RANGE = (15.0, 95.0)
_MIN_CHROMA = 5.0
_EPSILON = 1e-4


@dataclass(frozen=True)
class LipMeasurement:
    """A photo's lip region and its `LIP_COLOUR_FEATURES` (all NaN, with the reason, when no lips were found)."""

    region: LipRegion | None
    features: np.ndarray
    reason: str = ""

    def select(self, names: tuple[str, ...] | list[str]) -> np.ndarray:
        """The named features, in the given order."""
        return self.features[[LIP_COLOUR_FEATURES.index(name) for name in names]]


def measure_lips(rgb: np.ndarray) -> LipMeasurement:
    """Find the lips and measure their colour: the one path training, benchmarks and the runtime share."""
    finding = find_lips(rgb)
    if finding.region is None:
        return LipMeasurement(None, np.full(len(LIP_COLOUR_FEATURES), np.nan), finding.reason)
    region = finding.region
    return LipMeasurement(region, lip_colour_features(rgb, region.box, region.skin_box))


def lip_colour_features(rgb: np.ndarray, lip_box: Box, skin_box: Box | None = None) -> np.ndarray:
    """`LIP_COLOUR_FEATURES` for one photo; skin and normalised entries are NaN without a skin box."""
    lip = _colour_stats(*_lip_half(rgb, lip_box))
    skin = _colour_stats(*_skin_half(rgb, lip_box, skin_box)) if skin_box is not None else None
    if lip is None:
        return np.full(len(LIP_COLOUR_FEATURES), np.nan)
    lip_lab, lip_linear = lip
    raw = np.concatenate([lip_lab, np.log(lip_linear)])
    if skin is None:
        return np.concatenate([raw, np.full(len(SKIN_FEATURES) + len(NORMALISED_FEATURES), np.nan)])
    skin_lab, skin_linear = skin
    return np.concatenate([raw, skin_lab, lip_lab - skin_lab, np.log(lip_linear / skin_linear)])


def lip_pixels(rgb: np.ndarray, lip_box: Box) -> np.ndarray:
    """Usable pixels of the lip box, the redder half (the lips, not the skin in the box's corners)."""
    return _lip_half(rgb, lip_box)[0]


def skin_pixels(rgb: np.ndarray, lip_box: Box, skin_box: Box) -> np.ndarray:
    """Usable pixels of the skin box outside the lip box, the less red half (not lip overflow)."""
    return _skin_half(rgb, lip_box, skin_box)[0]


def _lip_half(rgb: np.ndarray, lip_box: Box) -> tuple[np.ndarray, np.ndarray]:
    return _half_by_redness(_sample(_crop(rgb, lip_box).reshape(-1, 3)), redder=True)


def _skin_half(rgb: np.ndarray, lip_box: Box, skin_box: Box) -> tuple[np.ndarray, np.ndarray]:
    """The skin box's pixels outside the lip box in row order, masked within the skin box alone (not the
    photo), and only the sampled ones gathered."""
    ymin, xmin, ymax, xmax = _clip(skin_box, rgb.shape)
    region = rgb[ymin:ymax, xmin:xmax]
    inside = np.ones(region.shape[:2], dtype=bool)
    top, left, bottom, right = _clip(lip_box, rgb.shape)
    top, bottom = np.clip([top - ymin, bottom - ymin], 0, inside.shape[0])
    left, right = np.clip([left - xmin, right - xmin], 0, inside.shape[1])
    inside[top:bottom, left:right] = False
    rows, columns = np.divmod(_sample(np.flatnonzero(inside)), max(1, inside.shape[1]))
    return _half_by_redness(region[rows, columns], redder=False)


def _sample(items: np.ndarray) -> np.ndarray:
    """A regular sample of a large region's pixels: their medians equal the full ones to well within camera noise."""
    return items[:: max(1, len(items) // MAX_SAMPLED_PIXELS)]


def _half_by_redness(pixels: np.ndarray, redder: bool) -> tuple[np.ndarray, np.ndarray]:
    """The chosen half of the usable pixels, with their CIELAB."""
    lab = srgb8_to_lab(pixels)
    usable = (lab[:, 0] > _LIGHTNESS_RANGE[0]) & (lab[:, 0] < _LIGHTNESS_RANGE[1]) & (np.hypot(lab[:, 1], lab[:, 2]) > _MIN_CHROMA)
    pixels, lab = pixels[usable], lab[usable]
    if len(pixels) < MIN_PIXELS:
        return pixels, lab
    redness = lab[:, 1] - lab[:, 2]
    median = np.median(redness)
    half = redness >= median if redder else redness <= median
    return pixels[half], lab[half]


def _colour_stats(pixels: np.ndarray, lab: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Median CIELAB and median linear RGB of a pixel set (None when too few pixels)."""
    if len(pixels) < MIN_PIXELS:
        return None
    return np.median(lab, axis=0), np.median(srgb8_to_linear(pixels), axis=0) + _EPSILON


def _crop(rgb: np.ndarray, box: Box) -> np.ndarray:
    ymin, xmin, ymax, xmax = _clip(box, rgb.shape)
    return rgb[ymin:ymax, xmin:xmax]


def _clip(box: Box, shape: tuple[int, ...]) -> Box:
    height, width = shape[:2]
    ymin, xmin, ymax, xmax = (int(v) for v in box)
    return max(0, ymin), max(0, xmin), min(height, ymax), min(width, xmax)
