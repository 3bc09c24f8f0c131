"""Colour science shared by training and runtime (numpy, and OpenCV for a fast first guess; no torch).

sRGB to CIELAB (D65) and the individual typology angle (ITA°) with its standard skin-tone categories
(Chardon et al. 1991; Del Bino et al. 2006). Written out here because it is a dozen lines and both
worlds must compute it identically without pulling in a colour-science dependency.

8-bit photos have only 256 values per channel, so their sRGB decoding (the power law, half the cost of
a CIELAB conversion) is read from a table, bit for bit what the formula gives (`srgb8_to_lab`).
"""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np

_SRGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)
_D65_WHITE = np.array([0.95047, 1.0, 1.08883])

# ITA° category lower bounds, lightest first (Del Bino et al. 2006).
ITA_CATEGORIES: tuple[tuple[str, float], ...] = (
    ("very light", 55.0),
    ("light", 41.0),
    ("intermediate", 28.0),
    ("tan", 10.0),
    ("brown", -30.0),
    ("dark", -np.inf),
)


def srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    rgb = np.clip(np.asarray(rgb, dtype=np.float64), 0.0, 1.0)
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(np.asarray(linear, dtype=np.float64), 0.0, 1.0)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * np.power(linear, 1 / 2.4) - 0.055)


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] (last axis = channels) to CIELAB L*, a*, b* under D65."""
    return linear_to_lab(srgb_to_linear(rgb))


@cache
def _decoding_table(dtype: str) -> np.ndarray:
    """srgb_to_linear(v / 255) for every 8-bit v, the division done in `dtype` as a caller's `rgb.astype(dtype) / 255.0`."""
    table = srgb_to_linear(np.arange(256, dtype=dtype) / 255.0)
    table.flags.writeable = False
    return table


def srgb8_to_linear(rgb: np.ndarray, dtype: type = np.float64) -> np.ndarray:
    """`srgb_to_linear(rgb.astype(dtype) / 255.0)` of 8-bit sRGB, bit for bit, from a 256-entry table."""
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8:
        raise ValueError(f"srgb8_to_linear needs 8-bit sRGB, got {rgb.dtype}")
    return np.take(_decoding_table(np.dtype(dtype).name), rgb)


def srgb8_to_lab(rgb: np.ndarray, dtype: type = np.float64) -> np.ndarray:
    """`srgb_to_lab(rgb.astype(dtype) / 255.0)` of 8-bit sRGB, bit for bit, about twice as fast."""
    return linear_to_lab(srgb8_to_linear(rgb, dtype))


# OpenCV's float CIELAB uses its own white point, matrix and table-interpolated power laws: over all 2^24
# 8-bit colours it differs from srgb_to_lab by at most 0.19 (L*), 0.47 (a*) and 0.33 (b*) (opencv 5.0;
# tests/test_numpy_stages.py checks every colour). A pixel that far from a bound is settled by it.
_OPENCV_LAB_MARGIN = 1.0


def lab_box_mask(rgb: np.ndarray, lower: tuple[float, float, float], upper: tuple[float, float, float]) -> np.ndarray:
    """Pixels of 8-bit sRGB whose CIELAB lies strictly between `lower` and `upper` (per L*, a*, b*), exactly as
    `srgb_to_lab(rgb.astype(np.float32) / 255.0)` would say: OpenCV's fast CIELAB settles every pixel at
    least `_OPENCV_LAB_MARGIN` inside or outside the box, and the exact formula is run on the few near a bound."""
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8:
        raise ValueError(f"lab_box_mask needs 8-bit sRGB (its OpenCV margin was checked on those), got {rgb.dtype}")
    if rgb.size == 0:
        return np.zeros(rgb.shape[:-1], dtype=bool)
    approx = cv2.cvtColor(rgb.astype(np.float32).reshape(1, -1, 3) / 255.0, cv2.COLOR_RGB2Lab)
    low, high = np.asarray(lower, np.float64), np.asarray(upper, np.float64)
    inside = cv2.inRange(approx, low + _OPENCV_LAB_MARGIN, high - _OPENCV_LAB_MARGIN).reshape(rgb.shape[:-1]) > 0
    near = (cv2.inRange(approx, low - _OPENCV_LAB_MARGIN, high + _OPENCV_LAB_MARGIN).reshape(rgb.shape[:-1]) > 0) & ~inside
    if near.any():
        lab = srgb8_to_lab(rgb[near], np.float32)
        inside[near] = ((lab > low) & (lab < high)).all(axis=-1)
    return inside


def linear_to_lab(linear: np.ndarray) -> np.ndarray:
    """Linear sRGB (last axis = channels) to CIELAB L*, a*, b* under D65."""
    xyz = linear @ _SRGB_TO_XYZ.T / _D65_WHITE
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    lightness = 116 * f[..., 1] - 16
    return np.stack([lightness, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def ita_degrees(lab: np.ndarray) -> np.ndarray:
    """Individual typology angle: arctan((L* - 50) / b*) in degrees."""
    lab = np.asarray(lab, dtype=np.float64)
    return np.degrees(np.arctan2(lab[..., 0] - 50.0, lab[..., 2]))


def ita_category(ita: float) -> str:
    if not np.isfinite(ita):
        return "unknown"
    for name, lower in ITA_CATEGORIES:
        if ita > lower:
            return name
    return ITA_CATEGORIES[-1][0]


def skin_ita(rgb_pixels: np.ndarray) -> float:
    """ITA° of a skin patch: median L* and b* over its pixels (robust to hairs and specks)."""
    lab = srgb_to_lab(np.asarray(rgb_pixels, dtype=np.float64).reshape(-1, 3) / 255.0)
    return float(ita_degrees(np.median(lab, axis=0)))
