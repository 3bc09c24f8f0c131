"""The skin task's region: a centred square crop, resized (numpy + Pillow; shared by training and serving).

Clinical skin photos centre the lesion; cropping to the middle 80 % of the short side trims borders,
rulers and captions. The browser app reproduces this exactly: square side = round(0.8 * min(H, W)),
top-left = ((H - side) // 2, (W - side) // 2), then a bilinear (antialiased, Pillow) resize to S x S.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

CROP_FRACTION = 0.8


def centre_crop(rgb: np.ndarray, fraction: float = CROP_FRACTION) -> np.ndarray:
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or min(rgb.shape[:2]) < 2:
        raise ValueError(f"centre crop needs an H x W x 3 image, got shape {rgb.shape}")
    height, width = rgb.shape[:2]
    side = max(1, int(round(fraction * min(height, width))))
    top, left = (height - side) // 2, (width - side) // 2
    return rgb[top : top + side, left : left + side]


def centre_crop_resized(rgb: np.ndarray, size: int, fraction: float = CROP_FRACTION) -> np.ndarray:
    """[size, size, 3] uint8: the centred square crop resized bilinearly."""
    crop = np.ascontiguousarray(centre_crop(rgb, fraction).astype(np.uint8))
    return np.asarray(Image.fromarray(crop).resize((size, size), Image.BILINEAR), dtype=np.uint8)
