"""Controlled lighting degradations, so the lighting head sees plenty of poor photos (numpy + Pillow).

Each takes a uint8 RGB image and a numpy Generator and returns a new uint8 image; the strength is
drawn from a documented range. The label of a degraded photo is *measured* again with
`vitalens.tasks.skin_condition.lighting.assess_lighting`, never assumed: a mild degradation may still be good.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from PIL import Image, ImageFilter


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.round(values), 0, 255).astype(np.uint8)


def underexpose(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Exposure scaled by 0.12-0.35 (about 1.5-3 stops under)."""
    return _to_uint8(rgb.astype(np.float32) * rng.uniform(0.12, 0.35))


def overexpose(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Exposure scaled by 1.8-3.0 (about 1-1.6 stops over), clipped as a sensor would."""
    return _to_uint8(rgb.astype(np.float32) * rng.uniform(1.8, 3.0))


def colour_cast(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A blue, green or orange lamp: per-channel gains."""
    gains = {"blue": (0.65, 0.85, 1.35), "green": (0.7, 1.25, 0.75), "orange": (1.3, 0.9, 0.45)}
    name = rng.choice(sorted(gains))
    strength = rng.uniform(0.7, 1.0)
    gain = 1.0 + strength * (np.array(gains[name], np.float32) - 1.0)
    return _to_uint8(rgb.astype(np.float32) * gain)


def glare(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A flash reflection: a saturated white Gaussian spot over 6-15 % of the frame width."""
    height, width = rgb.shape[:2]
    radius = rng.uniform(0.12, 0.25) * min(height, width)
    cy, cx = rng.uniform(0.25, 0.75) * height, rng.uniform(0.25, 0.75) * width
    yy, xx = np.mgrid[:height, :width]
    spot = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (radius / 2) ** 2))[..., None]
    return _to_uint8(rgb.astype(np.float32) + 400.0 * spot)


def blur(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Camera shake or missed focus: Gaussian blur, radius 2.5-5 px on the network-size crop."""
    return np.asarray(Image.fromarray(rgb).filter(ImageFilter.GaussianBlur(rng.uniform(2.5, 5.0))), dtype=np.uint8)


DEGRADATIONS: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "underexposed": underexpose,
    "overexposed": overexpose,
    "colour_cast": colour_cast,
    "glare": glare,
    "blurred": blur,
}


def degrade_each(pixels: np.ndarray, seed: int) -> tuple[np.ndarray, list[str]]:
    """One degraded copy per image, kinds cycled in a seeded random order: ([N, S, S, 3], kind names)."""
    rng = np.random.default_rng(seed)
    kinds = sorted(DEGRADATIONS)
    names = [kinds[i % len(kinds)] for i in rng.permutation(len(pixels))]
    return np.stack([DEGRADATIONS[name](np.asarray(image), rng) for image, name in zip(pixels, names)]), names
