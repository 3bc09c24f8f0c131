"""Colour features of a segmented palpebral conjunctiva (serving world: numpy and Pillow only; training
and the runtime call the same function, so a bundle reads photos exactly as its model was fitted).

The photos are cut out onto a transparent background, which decoding composites onto white (and other
tools onto black): a pixel that is neither near-black (every channel <= `TISSUE_MIN`) nor near-white
(every channel >= `BACKGROUND_WHITE`) is tissue (a blown-out highlight is then not tissue either, as wanted). The rim
is the outer band of that mask (the mask minus its erosion by `RIM_PX`): at the lid margin the tissue is
seen edge-on and pales first, so "centre against rim" contrasts are a within-photo reference that does
not move with the exposure. Families (the candidates of the nested selection, `training.FAMILIES`):

- erythema: the erythema index log10(R/G) of the tissue (mean and quartiles);
- rim: CIELAB a* and chroma of the centre, of the rim, and their differences;
- grey_world / white_patch: linear chromaticity after dividing by the tissue mean / 99th percentile;
- raw: mean linear R, G, B and chromaticity, without any normalisation (the issue's probe).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from vitalens.colour import srgb_to_lab, srgb_to_linear

TISSUE_MIN = 10
BACKGROUND_WHITE = 250
RIM_PX = 7  # MinFilter size: a band of about 3 px at the working side
WORK_SIDE = 256  # photos are resized so their long side is this before the rim is drawn
MIN_TISSUE_PIXELS = 400
EPS = 1e-4

FAMILIES = {
    "erythema": ("ei_mean", "ei_p25", "ei_p75"),
    "rim": ("a_centre", "a_rim", "a_contrast", "chroma_centre", "chroma_rim", "chroma_contrast"),
    "grey_world": ("gw_r_p10", "gw_r_p90", "gw_g_p10", "gw_g_p90", "gw_rg_std"),
    "white_patch": ("wp_r", "wp_g", "wp_b", "wp_rg"),
    "raw": ("lin_r", "lin_g", "lin_b", "chrom_r", "chrom_g"),
}
NAMES = tuple(name for names in FAMILIES.values() for name in names)


def tissue_masks(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rgb at the working side, tissue mask, rim mask)."""
    image = Image.fromarray(rgb)
    scale = WORK_SIDE / max(image.size)
    if scale < 1:
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.BILINEAR)
    small = np.asarray(image)
    tissue = (small.max(axis=2) > TISSUE_MIN) & (small.min(axis=2) < BACKGROUND_WHITE)
    core = np.asarray(Image.fromarray(tissue.astype(np.uint8) * 255).filter(ImageFilter.MinFilter(RIM_PX))) > 0
    return small, tissue, tissue & ~core


def tissue_fraction(rgb: np.ndarray) -> float:
    return float(tissue_masks(rgb)[1].mean())


def conjunctiva_features(rgb: np.ndarray) -> dict[str, float] | None:
    """Every feature in NAMES, or None when the tissue (or its centre) has too few pixels to measure."""
    small, tissue, rim = tissue_masks(rgb)
    centre = tissue & ~rim
    if tissue.sum() < MIN_TISSUE_PIXELS or centre.sum() < MIN_TISSUE_PIXELS // 4 or rim.sum() < MIN_TISSUE_PIXELS // 4:
        return None
    pixels = small[tissue].astype(np.float64)
    linear = srgb_to_linear(pixels / 255.0) + EPS
    lab_centre, lab_rim = srgb_to_lab(small[centre] / 255.0), srgb_to_lab(small[rim] / 255.0)
    a_centre, a_rim = float(np.median(lab_centre[:, 1])), float(np.median(lab_rim[:, 1]))
    chroma_centre, chroma_rim = float(np.median(np.hypot(lab_centre[:, 1], lab_centre[:, 2]))), float(np.median(np.hypot(lab_rim[:, 1], lab_rim[:, 2])))
    ei = np.log10(linear[:, 0] / linear[:, 1])
    grey = linear / linear.mean(axis=0)
    white = linear.mean(axis=0) / np.percentile(linear, 99, axis=0)
    mean = linear.mean(axis=0)
    return {
        "ei_mean": float(ei.mean()), "ei_p25": float(np.percentile(ei, 25)), "ei_p75": float(np.percentile(ei, 75)),
        "a_centre": a_centre, "a_rim": a_rim, "a_contrast": a_centre - a_rim,
        "chroma_centre": chroma_centre, "chroma_rim": chroma_rim, "chroma_contrast": chroma_centre - chroma_rim,
        "gw_r_p10": float(np.percentile(grey[:, 0], 10)), "gw_r_p90": float(np.percentile(grey[:, 0], 90)),
        "gw_g_p10": float(np.percentile(grey[:, 1], 10)), "gw_g_p90": float(np.percentile(grey[:, 1], 90)),
        "gw_rg_std": float(np.std(np.log(grey[:, 0] / grey[:, 1]))),
        "wp_r": float(white[0]), "wp_g": float(white[1]), "wp_b": float(white[2]), "wp_rg": float(np.log(white[0] / white[1])),
        "lin_r": float(mean[0]), "lin_g": float(mean[1]), "lin_b": float(mean[2]),
        "chrom_r": float(mean[0] / mean.sum()), "chrom_g": float(mean[1] / mean.sum()),
    }  # fmt: skip
