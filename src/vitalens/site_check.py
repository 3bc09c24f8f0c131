"""Is this a photo of the body site the model was trained on? A small learned check every task's bundle
can carry (bundle.json "site_check"), run by the spine before any model (Python, API and browser alike).

The photo is reduced to 64 x 64 (Pillow's box filter, which webapp/js/resample.js reproduces exactly)
and described by 102 numbers: its chromaticity histogram, brightness and saturation histograms, gradient
orientations per quadrant, edge density and the mean colour of a 3 x 3 grid. A logistic regression on
those (fitted by vitalens.evaluation.site_check_fit, its weights stored as plain numbers) scores how much
the photo looks like the task's own training photos; under the stored threshold it is refused. No
library computes this exact, JS-portable description, hence the hand-written features.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

SIDE = 64
CHROMA_BINS, LUMA_BINS, SATURATION_BINS, ORIENTATION_BINS, GRID = 6, 8, 6, 6, 3
N_FEATURES = CHROMA_BINS**2 + LUMA_BINS + SATURATION_BINS + 4 * ORIENTATION_BINS + 1 + 3 * GRID**2


def _histogram(values: np.ndarray, bins: int, weights: np.ndarray | None = None) -> np.ndarray:
    """values in [0, 1) -> `bins` equal bins, as fractions of the total weight."""
    index = np.clip((values * bins).astype(np.int64), 0, bins - 1)
    counts = np.bincount(index.ravel(), weights=None if weights is None else weights.ravel(), minlength=bins)
    total = counts.sum()
    return counts / total if total > 0 else counts


def site_features(rgb: np.ndarray) -> np.ndarray:
    small = np.asarray(Image.fromarray(rgb).resize((SIDE, SIDE), Image.BOX), dtype=np.float64)
    r, g, b = small[..., 0], small[..., 1], small[..., 2]
    total = r + g + b + 1.0
    chroma_index = np.clip((r / total * CHROMA_BINS).astype(np.int64), 0, CHROMA_BINS - 1) * CHROMA_BINS + np.clip(
        (g / total * CHROMA_BINS).astype(np.int64), 0, CHROMA_BINS - 1)  # fmt: skip
    chroma = np.bincount(chroma_index.ravel(), minlength=CHROMA_BINS**2) / chroma_index.size
    luma = (r * 299 + g * 587 + b * 114) / 1000.0
    brightness = _histogram(luma / 256.0, LUMA_BINS)
    peak, trough = small.max(axis=2), small.min(axis=2)
    saturation = _histogram((peak - trough) / (peak + 1.0), SATURATION_BINS)
    gy = np.zeros_like(luma)
    gx = np.zeros_like(luma)
    gy[1:-1, :] = luma[2:, :] - luma[:-2, :]
    gx[:, 1:-1] = luma[:, 2:] - luma[:, :-2]
    magnitude = np.hypot(gx, gy)
    orientation = np.mod(np.arctan2(gy, gx), np.pi) / np.pi  # folded to [0, 1): an edge and its reverse are one
    half = SIDE // 2
    quadrants = [(slice(0, half), slice(0, half)), (slice(0, half), slice(half, SIDE)),
                 (slice(half, SIDE), slice(0, half)), (slice(half, SIDE), slice(half, SIDE))]  # fmt: skip
    edges = np.concatenate([_histogram(orientation[q], ORIENTATION_BINS, magnitude[q]) for q in quadrants])
    edge_density = np.array([magnitude.mean() / 255.0])
    cell = SIDE // GRID
    layout = np.concatenate([small[i * cell:(i + 1) * cell, j * cell:(j + 1) * cell].reshape(-1, 3).mean(axis=0) / 255.0
                             for i in range(GRID) for j in range(GRID)])  # fmt: skip
    return np.concatenate([chroma, brightness, saturation, edges, edge_density, layout])


def site_score(rgb: np.ndarray, check: dict[str, Any]) -> float:
    """The check's logit: how much this photo looks like the task's own photos (higher: more)."""
    features = site_features(rgb)
    standardised = (features - np.asarray(check["mean"])) / np.asarray(check["scale"])
    return float(standardised @ np.asarray(check["weights"]) + float(check["bias"]))


def passes(rgb: np.ndarray, check: dict[str, Any]) -> tuple[bool, float]:
    score = site_score(rgb, check)
    return score >= float(check["threshold"]), score
