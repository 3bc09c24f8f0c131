"""Lighting quality of a skin photo: measured image statistics → good / poor, the reasons, and tips.

Numpy only (serving world). These rules *define* the lighting labels the model's lighting head is
trained on, so labels are reproducible from the pixels alone. Measured on the network's input: the
centre crop resized to the bundle's input size (192 px); the thresholds were set on that crop at 224 px
and checked at 192 px (benchmarks/skin.py prints the percentiles at the size used).

Thresholds (LightingThresholds) were set on the Fitzpatrick17k-AJL training photos, just outside the
range most real clinical photos span (see benchmarks/skin.py, "lighting statistics", for the
percentiles), so a usable clinical photo is "good" and the controlled degradations in
`vitalens.tasks.skin_condition.degradations` (under/over-exposure, colour cast, glare, blur) mostly become "poor".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vitalens.colour import srgb_to_lab
from vitalens.quality import TIP_DARK, TIP_OVEREXPOSED, QualityMeasures, measure_quality

TIP_GLARE_SKIN = "glare: avoid the flash glare; light the skin from the side or tilt the phone so no shiny spot shows"
TIP_LOW_CONTRAST = "flat, hazy light: move to daylight near a window and wipe the lens"
TIP_COLOUR_CAST = "coloured light: move to daylight and turn off coloured or mixed lamps"
TIP_BLUR_SKIN = "blurred: hold still, steady your arm, and tap the screen to focus on the skin"


@dataclass(frozen=True)
class LightingMeasures:
    quality: QualityMeasures
    contrast: float  # standard deviation of luma, 0-255
    mean_a: float  # mean CIELAB a* of the photo (green < 0 < red)
    mean_b: float  # mean CIELAB b* of the photo (blue < 0 < yellow)


@dataclass(frozen=True)
class LightingThresholds:
    min_mean_brightness: float = 55.0
    max_mean_brightness: float = 215.0
    max_clipped_fraction: float = 0.25  # a channel at >= 250: blown-out areas
    max_highlight_fraction: float = 0.04  # all channels >= 250: specular glare spots
    min_contrast: float = 12.0
    min_mean_a: float = -2.0  # skin is red-ish; a green cast pushes a* below zero
    min_mean_b: float = -2.0  # skin is yellow-ish; a blue cast pushes b* below zero
    max_chroma: float = 45.0  # an orange/red cast over-saturates the whole photo
    min_sharpness: float = 15.0  # Laplacian variance of luma on the network-size crop


@dataclass
class LightingVerdict:
    good: bool
    reasons: list[str] = field(default_factory=list)
    tips: list[str] = field(default_factory=list)
    measures: LightingMeasures | None = None

    @property
    def tip(self) -> str:
        return "; ".join(self.tips)


def measure_lighting(rgb: np.ndarray) -> LightingMeasures:
    quality = measure_quality(rgb)
    luma = rgb[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    lab = srgb_to_lab(rgb[..., :3].astype(np.float32) / 255.0)
    return LightingMeasures(quality, float(luma.std()), float(lab[..., 1].mean()), float(lab[..., 2].mean()))


def assess_lighting(rgb: np.ndarray, thresholds: LightingThresholds = LightingThresholds()) -> LightingVerdict:
    """good, or poor with every reason that applies and a tip for the next photo."""
    m, t = measure_lighting(np.asarray(rgb)), thresholds
    q = m.quality
    checks = [
        ("dark", q.mean_brightness < t.min_mean_brightness, TIP_DARK),
        ("overexposed", q.mean_brightness > t.max_mean_brightness or q.clipped_fraction > t.max_clipped_fraction, TIP_OVEREXPOSED),
        ("glare", q.highlight_fraction > t.max_highlight_fraction, TIP_GLARE_SKIN),
        ("low_contrast", m.contrast < t.min_contrast, TIP_LOW_CONTRAST),
        ("colour_cast", m.mean_a < t.min_mean_a or m.mean_b < t.min_mean_b or np.hypot(m.mean_a, m.mean_b) > t.max_chroma, TIP_COLOUR_CAST),
        ("blurred", q.sharpness < t.min_sharpness, TIP_BLUR_SKIN),
    ]
    failed = [(code, tip) for code, bad, tip in checks if bad]
    tips = list(dict.fromkeys(tip for _, tip in failed))  # glare and over-exposure can share a tip
    return LightingVerdict(not failed, [code for code, _ in failed], tips, m)


def lighting_label(rgb: np.ndarray) -> int:
    """1 when the lighting is good, 0 when poor: the lighting head's training target."""
    return int(assess_lighting(rgb).good)
