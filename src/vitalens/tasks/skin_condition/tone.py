"""Skin tone measured on the photo: ITA° over a skin mask, and its audit groups (numpy only).

The lesion usually sits in the middle of a clinical photo, so the mask keeps skin-coloured pixels
(`vitalens.quality.skin_mask`) outside the central half of the frame, falling back to the whole frame
when too few remain. ITA° depends on the lighting and white balance of each photo: it measures the
photo, not the person; see benchmarks/skin.py for how it agrees with annotated Fitzpatrick types.
"""

from __future__ import annotations

import numpy as np

from vitalens.colour import ita_category, skin_ita
from vitalens.quality import skin_mask

UNKNOWN = "unknown"
MIN_SKIN_FRACTION = 0.02
# Del Bino's six ITA° categories merged to three audit groups, comparable in size to Fitzpatrick I-II / III-IV / V-VI.
ITA_GROUPS = {
    "very light": "light (ITA>41)",
    "light": "light (ITA>41)",
    "intermediate": "intermediate/tan (10<ITA<=41)",
    "tan": "intermediate/tan (10<ITA<=41)",
    "brown": "brown/dark (ITA<=10)",
    "dark": "brown/dark (ITA<=10)",
}


def peripheral_skin_mask(rgb: np.ndarray) -> np.ndarray:
    mask = skin_mask(rgb)
    height, width = mask.shape
    ring = np.ones_like(mask)
    ring[height // 4 : height - height // 4, width // 4 : width - width // 4] = False
    return mask & ring if (mask & ring).mean() >= MIN_SKIN_FRACTION else mask


def measure_ita(rgb: np.ndarray) -> float:
    """ITA° of the photo's skin, NaN when less than MIN_SKIN_FRACTION of it looks like skin."""
    rgb = np.asarray(rgb)
    mask = peripheral_skin_mask(rgb)
    if mask.mean() < MIN_SKIN_FRACTION:
        return float("nan")
    return skin_ita(rgb[mask])


def ita_group(ita: float) -> str:
    category = ita_category(ita)
    return ITA_GROUPS.get(category, UNKNOWN)
