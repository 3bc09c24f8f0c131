"""Photo-quality gate: refuse a photo we cannot read well, say why in plain words, and how to retake it.

Serving world: numpy (and OpenCV inside colour.lab_box_mask). A refusal is a correct answer; a number from a dark, blown-out, blurred or
empty photo is not. Thresholds were calibrated on the 197 Yakimov (2024) fingernail photos (phone
photos of fingers on a white card), set just outside the range those real photos span, so a usable
photo passes and only a clearly bad one is refused (see benchmarks/quality_gate.py for the counts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from vitalens.colour import lab_box_mask

TIP_DARK = "too dark: move to daylight or a brighter room"
TIP_OVEREXPOSED = "overexposed: avoid the flash glare and direct sunlight"
TIP_GLARE = "glare: tilt the fingers or the phone so no shiny spot sits on the nails"
TIP_BLUR = "blurred: hold still and tap to focus on the nails"
TIP_NO_HAND = "no hand found: put three fingers on a white card so they fill the frame"
TIP_NO_NAIL = "no nail found: move closer so three fingernails fill the frame"
TIP_LOW_CONFIDENCE = "nails not found clearly: move closer, in even light, so three fingernails fill the frame"

_CLIPPED = 250  # a channel at or above this is clipped
_ANALYSIS_LONG_SIDE = 800  # blur and fractions are measured at one scale, so thresholds hold for any camera


@dataclass(frozen=True)
class QualityMeasures:
    mean_brightness: float  # mean luma, 0-255
    dark_percentile: float  # 5th percentile of luma
    bright_percentile: float  # 95th percentile of luma
    clipped_fraction: float  # pixels with a channel at >= 250
    highlight_fraction: float  # specular highlights: all channels >= 250 (blown-out white)
    sharpness: float  # variance of the Laplacian of luma at 800 px long side
    skin_fraction: float  # pixels whose colour is skin-like (Lab a* and b* both warm)


@dataclass(frozen=True)
class QualityThresholds:
    min_mean_brightness: float = 60.0
    max_mean_brightness: float = 235.0
    max_clipped_fraction: float = 0.7
    max_highlight_fraction: float = 0.3
    min_sharpness: float = 10.0
    min_skin_fraction: float = 0.01


@dataclass
class QualityVerdict:
    ok: bool
    reasons: list[str] = field(default_factory=list)  # machine-readable codes: dark, overexposed, ...
    tips: list[str] = field(default_factory=list)  # plain-language sentence per reason
    measures: QualityMeasures | None = None

    @property
    def message(self) -> str:
        return "ok" if self.ok else "; ".join(self.tips)


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def _downscale(rgb: np.ndarray) -> np.ndarray:
    step = max(1, int(np.ceil(max(rgb.shape[:2]) / _ANALYSIS_LONG_SIDE)))
    return rgb[::step, ::step]


def laplacian_variance(luma: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian (the usual focus measure), in float32 numpy as it was calibrated."""
    lap = luma[1:-1, :-2] + luma[1:-1, 2:] + luma[:-2, 1:-1] + luma[2:, 1:-1] - 4 * luma[1:-1, 1:-1]
    return float(lap.var()) if lap.size else 0.0


def skin_mask(rgb: np.ndarray) -> np.ndarray:
    """Skin-like pixels of 8-bit RGB: warm in both Lab axes (a* > 8, b* > 5) and neither black nor blown
    out (20 < L* < 95): fingers, nails, lips."""
    return lab_box_mask(rgb, (20.0, 8.0, 5.0), (95.0, np.inf, np.inf))


def measure_quality(rgb: np.ndarray) -> QualityMeasures:
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] < 3 or rgb.dtype != np.uint8:
        raise ValueError(f"quality needs an H x W x 3 uint8 RGB image, got shape {rgb.shape} dtype {rgb.dtype}")
    rgb = _downscale(rgb[..., :3])
    luma = _luma(rgb)
    # Fractions of the photo do not need every pixel: a quarter of them keeps the gate's cost small next
    # to the detector's, while sharpness keeps the full analysis scale its threshold was calibrated at.
    sampled = rgb[::2, ::2]
    n = sampled.shape[0] * sampled.shape[1]
    red, green, blue = sampled[..., 0], sampled[..., 1], sampled[..., 2]
    return QualityMeasures(
        mean_brightness=float(luma.mean()),
        dark_percentile=float(np.percentile(luma, 5)),
        bright_percentile=float(np.percentile(luma, 95)),
        # a channel clipped, every channel clipped: channel-wise max and min, not a reduction over the last axis
        clipped_fraction=np.count_nonzero(np.maximum(np.maximum(red, green), blue) >= _CLIPPED) / n,
        highlight_fraction=np.count_nonzero(np.minimum(np.minimum(red, green), blue) >= _CLIPPED) / n,
        sharpness=laplacian_variance(luma),
        skin_fraction=np.count_nonzero(skin_mask(sampled)) / n,
    )


def assess_photo(rgb: np.ndarray, thresholds: QualityThresholds = QualityThresholds()) -> QualityVerdict:
    """ok, or refuse with every reason that applies and a tip for the next photo."""
    m = measure_quality(rgb)
    t = thresholds
    exposure = [
        ("dark", m.mean_brightness < t.min_mean_brightness, TIP_DARK),
        ("overexposed", m.mean_brightness > t.max_mean_brightness or m.clipped_fraction > t.max_clipped_fraction, TIP_OVEREXPOSED),
    ]
    content = [
        ("glare", m.highlight_fraction > t.max_highlight_fraction, TIP_GLARE),
        ("blurred", m.sharpness < t.min_sharpness, TIP_BLUR),
        ("no_hand", m.skin_fraction < t.min_skin_fraction, TIP_NO_HAND),
    ]
    failed = [(code, tip) for code, bad, tip in exposure if bad]
    if not failed:  # detail, colour and highlights are unreadable in a too dark or blown-out photo
        failed = [(code, tip) for code, bad, tip in content if bad]
    return QualityVerdict(not failed, [c for c, _ in failed], [tip for _, tip in failed], m)


def gate_detections(detections: Iterable, min_score: float = 0.3, min_nails: int = 1) -> QualityVerdict:
    """Refuse when the detector found fewer than `min_nails` nails scoring >= min_score.

    `detections` are `vitalens.tasks.hb_nails.detection.Detection`s (anything with .label and .score).
    """
    nails = [d for d in detections if d.label == "nail"]
    confident = [d for d in nails if d.score >= min_score]
    if len(confident) >= min_nails:
        return QualityVerdict(True)
    if not nails:
        return QualityVerdict(False, ["no_nail"], [TIP_NO_NAIL])
    return QualityVerdict(False, ["low_confidence"], [TIP_LOW_CONFIDENCE])
