"""Colour science shared by training and runtime (pure numpy, no torch).

sRGB to CIELAB (D65) and the individual typology angle (ITA°) with its standard skin-tone categories
(Chardon et al. 1991; Del Bino et al. 2006). Written out here because it is a dozen lines and both
worlds must compute it identically without pulling in a colour-science dependency.
"""

from __future__ import annotations

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
    xyz = srgb_to_linear(rgb) @ _SRGB_TO_XYZ.T / _D65_WHITE
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
