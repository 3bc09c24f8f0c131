"""SYNTHETIC lip patches for stress-testing the fairness machinery. Not data about real people.

Each patch is skin with a lip-shaped ellipse, rendered through a deliberately simple optical model:

    optical density per camera channel c (Beer-Lambert: absorbers add, reflectance = exp(-density))
      skin_c = MELANIN_c * m            + HAEMOGLOBIN_c * hb * SKIN_BLOOD + BASE_c
      lip_c  = MELANIN_c * m * LIP_SHARE + HAEMOGLOBIN_c * hb * LIP_BLOOD  + BASE_c
    camera value = reflectance * illuminant colour * exposure * white-balance gain (+ noise),
    then sRGB encoding, 8-bit quantisation and a JPEG round trip.

The coefficients are rough broadband RGB averages, not measured spectra: haemoglobin absorbs green
and blue strongly and red weakly (Q bands near 540/577 nm, Soret band near 415 nm); melanin absorbs
more the shorter the wavelength (about lambda^-3.5, Jacques 2013); BASE_c stands for scattering
losses and the other pigments (carotenoids, bilirubin) that tint skin yellow.

The PLANTED BIAS: lip melanin follows skin melanin (LIP_SHARE of it), so darker tones have darker,
browner lips at the same Hb, and a model trained mostly on light tones reads that as a change in Hb.
Dividing lip by skin cancels the light, the white balance, the exposure and the melanin the two share,
which is what `lip_colour_features`' normalised features do. Every set made here carries
`label == "SYNTHETIC"`; what holds here holds by construction and says nothing about real lips.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from vitalens.colour import linear_to_srgb

SYNTHETIC = "SYNTHETIC"

MELANIN_RGB = np.array([5.0, 7.0, 9.0])  # per unit melanin volume fraction
HAEMOGLOBIN_RGB = np.array([0.012, 0.060, 0.050])  # per g/dL at the lips' blood path
BASE_RGB = np.array([0.10, 0.30, 0.60])
LIP_BLOOD = 1.0
SKIN_BLOOD = 0.2
LIP_SHARE = 0.7  # lip melanin as a share of skin melanin
TONE_MELANIN = {"light": (0.01, 0.05), "medium": (0.08, 0.14), "dark": (0.20, 0.30)}
HB_RANGE = (6.0, 17.0)
WARM_LIGHT = np.array([1.0, 0.80, 0.55])  # about 2,800 K relative to daylight
COOL_LIGHT = np.array([0.88, 0.96, 1.10])  # about 7,000 K
WHITE_BALANCE_ERROR = 0.06  # relative error of the camera's illuminant estimate, per channel
TEXTURE = 0.03
READ_NOISE, SHOT_NOISE = 0.003, 0.01
JPEG_QUALITY = (75, 95)
SIZE = 64


@dataclass
class SyntheticLips:
    """A SYNTHETIC set: images, their boxes, Hb and the planted skin-tone group."""

    images: list[np.ndarray]
    hb: np.ndarray
    tone: np.ndarray
    melanin: np.ndarray
    lip_box: tuple[int, int, int, int]
    skin_box: tuple[int, int, int, int]
    label: str = field(default=SYNTHETIC, init=False)


def make_synthetic_lips(n: int, tone_mix: dict[str, float], seed: int = 0) -> SyntheticLips:
    """`n` SYNTHETIC patches, tone groups drawn with the probabilities in `tone_mix`."""
    rng = np.random.default_rng(seed)
    names = list(tone_mix)
    weights = np.array([tone_mix[name] for name in names], dtype=float)
    tone = rng.choice(names, size=n, p=weights / weights.sum())
    melanin = np.array([rng.uniform(*TONE_MELANIN[t]) for t in tone])
    hb = rng.uniform(*HB_RANGE, size=n)
    lip_mask = _ellipse_mask(SIZE)
    images = [_render(h, m, lip_mask, rng) for h, m in zip(hb, melanin)]
    ys, xs = np.nonzero(lip_mask)
    lip_box = (int(ys.min()), int(xs.min()), int(ys.max()) + 1, int(xs.max()) + 1)
    return SyntheticLips(images, hb, tone, melanin, lip_box, skin_box=(0, 0, SIZE, SIZE))


def tissue_reflectance(hb: float, melanin: float) -> tuple[np.ndarray, np.ndarray]:
    """Linear RGB reflectance of (skin, lip) for one SYNTHETIC subject."""
    skin = MELANIN_RGB * melanin + HAEMOGLOBIN_RGB * hb * SKIN_BLOOD + BASE_RGB
    lip = MELANIN_RGB * melanin * LIP_SHARE + HAEMOGLOBIN_RGB * hb * LIP_BLOOD + BASE_RGB
    return np.exp(-skin), np.exp(-lip)


def _render(hb: float, melanin: float, lip_mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    skin, lip = tissue_reflectance(hb, melanin)
    reflectance = np.where(lip_mask[..., None], lip, skin)
    reflectance = reflectance * rng.lognormal(0.0, TEXTURE, size=reflectance.shape[:2])[..., None]
    illuminant = WARM_LIGHT + rng.uniform() * (COOL_LIGHT - WARM_LIGHT)
    estimate = illuminant * (1 + rng.normal(0, WHITE_BALANCE_ERROR, size=3))
    gain = estimate[1] / estimate  # white balance keeps green and scales red and blue
    linear = reflectance * illuminant * gain * rng.uniform(0.7, 1.1)
    linear = linear + rng.normal(size=linear.shape) * (READ_NOISE + SHOT_NOISE * np.sqrt(np.clip(linear, 0, None)))
    srgb = linear_to_srgb(linear)
    return _jpeg_round_trip((srgb * 255 + 0.5).astype(np.uint8), int(rng.integers(*JPEG_QUALITY)))


def _ellipse_mask(size: int) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    centre = (size - 1) / 2
    return ((xx - centre) / (0.30 * size)) ** 2 + ((yy - centre) / (0.13 * size)) ** 2 <= 1.0


def _jpeg_round_trip(rgb: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert("RGB")).copy()
