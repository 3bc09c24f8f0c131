"""Find the lips in a photo by colour: lips are redder and less yellow than the skin around them.

A baseline that needs no model weights, built for the messy photos of the lips starter set: close-ups,
partial faces, phone screenshots with UI chrome, lips already cut out onto a black background.

How it works (all at a working size of `WORK_SIDE` px on the long side):
1. Content pixels: not near-black, not near-white, not grey (chroma) and not perfectly flat. This drops
   screenshot chrome, black anonymisation marks and the background of pre-cut lips.
2. Lip score: CIELAB a* - b*. Skin and lips are both red (a* > 0), but skin is yellower (b*) and lips
   are more magenta; a* - b* separates lips from skin far better than a* alone, which mostly separates
   skin from a neutral wall.
3. Candidates: connected components of the score above several content percentiles (a small
   threshold sweep, since no single threshold fits close-ups and full faces alike).
4. Each candidate is rated by its score contrast against a ring around it (in units of
   `CONTRAST_UNIT`), its shape (lips are wider than tall and fill a good part of their box), its
   size and how much of it runs along the image border. The best one wins.
5. A lower threshold often joins the paler upper lip to the lower one; the largest region that holds
   the winner, keeps most of its quality and adds only clearly red pixels replaces it.
Before all this, a wide, red island of content on a background is taken as lips already cut out:
the box is the whole cut-out and there is no skin reference.

The confidence is a heuristic in [0, 1] (contrast x shape), not a calibrated probability.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

from vitalens.colour import srgb8_to_lab
from vitalens.data.samples import Box  # (ymin, xmin, ymax, xmax) in pixels of the image passed in
from vitalens.morphology import dilate_disc

WORK_SIDE = 400
THRESHOLD_PERCENTILES = (50, 60, 70, 78, 85, 91, 95)
MIN_CONTENT_FRACTION = 0.02
MIN_SCORE_SPREAD = 3.0  # a* - b* units between the 5th and 95th content percentile
CONTRAST_UNIT = 8.0  # a* - b* difference between lips and ring that counts as a clear contrast
MIN_QUALITY = 0.15
GROW_QUALITY = 0.6  # a larger region holding the best one may replace it at this share of its quality
GROW_CONTRAST = 0.4  # if what it adds stands out from the skin by this share of the lips' contrast
MIN_COMPONENT_FRACTION = 0.002
ISOLATED_RING_CONTENT = 0.35  # below this much content around a blob, it is an island on a background
CUT_OUT_MIN_SHARE = 0.6  # a cut-out holds most of the image's content
CUT_OUT_MIN_ASPECT = 1.3  # is wider than tall
CUT_OUT_MIN_REDNESS = 9.0  # and redder (median a* - b*) than skin: faces measured <= 6.1, cut lips >= 12
CUT_OUT_FULL_REDNESS = 15.0  # redness at which a cut-out's confidence reaches 1
SKIN_MARGIN = (0.6, 0.25)  # skin box grows by this fraction of lip height (each side) and width
MIN_SKIN_CONTENT = 0.5


@dataclass(frozen=True)
class LipRegion:
    box: Box
    confidence: float
    skin_box: Box | None  # reference ring = skin_box minus box; None when no skin surrounds the lips
    method: str  # "colour" or "cut-out"


@dataclass(frozen=True)
class LipFinding:
    """The outcome of a search: a region, or None and the reason no lips were found."""

    region: LipRegion | None
    reason: str = ""


@dataclass(frozen=True)
class _Candidate:
    labels: np.ndarray  # the connected-component labels of its threshold
    label: int
    area: int
    box: Box  # working-size pixels
    quality: float
    contrast: float
    shape: float
    inside: float  # median lip score inside
    outside: float  # and in the ring around it

    @cached_property
    def mask(self) -> np.ndarray:
        """Its pixels in the whole working image (made only for the few candidates `_grow` compares, once each)."""
        return self.labels == self.label


def find_lips(rgb: np.ndarray) -> LipFinding:
    """Locate the lips in an RGB uint8 image (H x W x 3)."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or min(rgb.shape[:2]) < 8:
        return LipFinding(None, f"expected an RGB image of at least 8x8 pixels, got shape {rgb.shape}")
    scale = min(1.0, WORK_SIDE / max(rgb.shape[:2]))
    small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    lab = srgb8_to_lab(small)
    content = content_mask(small, lab)
    if content.mean() < MIN_CONTENT_FRACTION:
        return LipFinding(None, "no coloured content: the image is blank, flat, grey or too dark/bright")
    score = cv2.GaussianBlur((lab[..., 1] - lab[..., 2]).astype(np.float32), (0, 0), 1.0)
    cut_out = _cut_out(content, score)
    if cut_out is not None:
        box, confidence = cut_out
        return LipFinding(LipRegion(_to_original(box, scale, rgb.shape[:2]), confidence, None, "cut-out"))
    low, high = np.percentile(score[content], [5, 95])
    if high - low < MIN_SCORE_SPREAD:
        return LipFinding(None, "no region is redder than its surroundings (colour is uniform)")
    candidates = _candidates(score, content)
    if not candidates:
        return LipFinding(None, "no lip-shaped red region found")
    best = max(candidates, key=lambda c: c.quality)
    if best.quality < MIN_QUALITY:
        return LipFinding(None, f"best red region is not lip-like (quality {best.quality:.2f} < {MIN_QUALITY})")
    return LipFinding(_colour_region(_grow(best, candidates, score), content, scale, rgb.shape[:2]))


def content_mask(rgb: np.ndarray, lab: np.ndarray) -> np.ndarray:
    """Pixels that may be skin or lips: coloured, not clipped, not a flat UI/background fill."""
    lightness, chroma = lab[..., 0], np.hypot(lab[..., 1], lab[..., 2])
    pixels = rgb.astype(np.float32)
    mean = cv2.blur(pixels, (5, 5))
    local_std = np.sqrt(np.maximum(cv2.blur(pixels * pixels, (5, 5)) - mean * mean, 0.0)).max(axis=2)
    mask = (lightness > 12) & (lightness < 98) & (chroma > 5) & (local_std > 0.5)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    return cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, kernel).astype(bool)


def _candidates(score: np.ndarray, content: np.ndarray) -> list[_Candidate]:
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    found, content_scores = [], score[content]
    for threshold in np.percentile(content_scores, THRESHOLD_PERCENTILES):  # one partition for all of them
        mask = ((score > threshold) & content).astype(np.uint8)
        mask = cv2.morphologyEx(cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel), cv2.MORPH_OPEN, kernel)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        for label in range(1, count):
            if stats[label, cv2.CC_STAT_AREA] >= MIN_COMPONENT_FRACTION * score.size:
                found.append(_rate(labels, label, stats[label], score, content, content_scores))
    return found


def _rate(labels: np.ndarray, label: int, stats: np.ndarray, score: np.ndarray, content: np.ndarray, content_scores: np.ndarray) -> _Candidate:
    """`content_scores` = score[content], computed once per photo. Everything is measured in the window the
    ring can reach (the component's box grown by the ring's width), never over the whole image: the same
    pixels, so the same medians."""
    x, y, w, h, area = (int(v) for v in stats[:5])
    width = max(3, int(0.35 * h))
    window = np.s_[max(0, y - width) : y + h + width, max(0, x - width) : x + w + width]
    component = labels[window] == label
    ring_pixels = _ring(component, width) & content[window]
    scores = score[window]
    top, left = window[0].start, window[1].start
    box = np.s_[y - top : y - top + h, x - left : x - left + w]
    inside = float(np.median(scores[box][component[box]]))
    outside = float(np.median(scores[ring_pixels])) if np.count_nonzero(ring_pixels) > 20 else float(np.median(content_scores))
    contrast = (inside - outside) / CONTRAST_UNIT
    shape = _shape_prior(w, h, area)
    size = _size_prior(area / max(1, len(content_scores)))
    border = _border_prior(component, window, score.shape)
    quality = max(contrast, 0.0) * shape * size * border
    return _Candidate(labels, label, area, (y, x, y + h, x + w), quality, contrast, shape, inside, outside)


def _grow(best: _Candidate, candidates: list[_Candidate], score: np.ndarray) -> _Candidate:
    """A lower threshold often joins the paler upper lip to the lower one: take the largest region
    that holds the best one, keeps most of its quality, and whose added pixels are themselves
    clearly redder than the skin (not skin noise that crossed the lower threshold)."""
    lip_step, best_mask = best.inside - best.outside, best.mask

    def adds_lip(candidate: _Candidate) -> bool:
        added = candidate.mask & ~best_mask
        return added.sum() < 0.05 * best.area or np.median(score[added]) - best.outside >= GROW_CONTRAST * lip_step

    holders = [c for c in candidates if c.quality >= GROW_QUALITY * best.quality and (c.mask & best_mask).sum() >= 0.8 * best.area and adds_lip(c)]
    return max(holders, key=lambda c: c.area)


def _ring(component: np.ndarray, width: int) -> np.ndarray:
    """Pixels within the elliptical `width` of the component, not in it, where pixels beyond the array count as
    unset (as beyond the image: the callers pass a window the ring cannot leave). By `dilate_disc`: the same
    pixels as cv2.dilate with the ellipse, much faster."""
    return dilate_disc(component.astype(np.uint8), width).astype(bool) & ~component


def _shape_prior(width: int, height: int, area: int) -> float:
    """Lips are wider than tall (aspect about 1.5-5) and fill roughly half to 85 % of their box."""
    aspect = width / max(height, 1)
    aspect_fit = float(np.exp(-((np.log(aspect) - np.log(2.5)) / 0.8) ** 2))
    fill = area / max(width * height, 1)
    fill_fit = float(np.clip((fill - 0.2) / 0.3, 0.0, 1.0))
    return aspect_fit * fill_fit


def _size_prior(fraction: float) -> float:
    """Lips cover from about 0.5 % (a face photo) to about 60 % (a close-up) of the content."""
    if fraction < 0.005:
        return fraction / 0.005
    if fraction > 0.6:
        return max(0.0, 1.0 - (fraction - 0.6) / 0.3)
    return 1.0


def _border_prior(component: np.ndarray, window: tuple[slice, slice], shape: tuple[int, int]) -> float:
    """Penalise regions that run along the frame (backgrounds, clothing), not lips cut by it. `component` is
    its pixels in `window` of an image of `shape`: the frame's rows and columns that the window holds."""
    rows, columns = window
    height, width = shape
    edges = (component[0].sum() if rows.start == 0 else 0) + (component[-1].sum() if rows.stop >= height else 0)
    edges += (component[:, 0].sum() if columns.start == 0 else 0) + (component[:, -1].sum() if columns.stop >= width else 0)
    perimeter = 2 * (height + width)
    return float(np.clip(1.0 - 4.0 * edges / perimeter, 0.2, 1.0))


def _cut_out(content: np.ndarray, score: np.ndarray) -> tuple[Box, float] | None:
    """Box and confidence of lips already cut out onto a background, else None.

    Cut-out lips are one wide, red island of content with almost nothing around it. A screenshot's
    face between black UI bars is an island too, but tall and skin-coloured.
    """
    _, labels = cv2.connectedComponents(content.astype(np.uint8), connectivity=8)
    sizes = np.bincount(labels[content])
    if len(sizes) == 0 or sizes.max() < CUT_OUT_MIN_SHARE * content.sum():
        return None
    blob = labels == sizes.argmax()
    ymin, xmin, ymax, xmax = _bounding_box(blob)
    width = max(3, (ymax - ymin) // 10)
    # Beyond the frame the border pixels continue: a photo cropped tight around a face is no island,
    # while lips on black inside a thin white frame still are.
    ring = _ring(np.pad(blob, width, constant_values=False), width)
    surrounded = np.pad(content, width, mode="edge")[ring].mean() < ISOLATED_RING_CONTENT
    redness = float(np.median(score[blob]))
    if surrounded and (xmax - xmin) >= CUT_OUT_MIN_ASPECT * (ymax - ymin) and redness >= CUT_OUT_MIN_REDNESS:
        return (ymin, xmin, ymax, xmax), float(np.clip(redness / CUT_OUT_FULL_REDNESS, 0.0, 1.0))
    return None


def _colour_region(best: _Candidate, content: np.ndarray, scale: float, shape: tuple[int, int]) -> LipRegion:
    skin_box = _skin_box(best.box, content)
    return LipRegion(
        _to_original(best.box, scale, shape),
        _confidence(best),
        _to_original(skin_box, scale, shape) if skin_box else None,
        "colour",
    )


def _bounding_box(mask: np.ndarray) -> Box:
    ys, xs = np.nonzero(mask)
    return int(ys.min()), int(xs.min()), int(ys.max()) + 1, int(xs.max()) + 1


def _skin_box(box: Box, content: np.ndarray) -> Box | None:
    ymin, xmin, ymax, xmax = box
    grow_y, grow_x = int(SKIN_MARGIN[0] * (ymax - ymin)), int(SKIN_MARGIN[1] * (xmax - xmin))
    height, width = content.shape
    outer = (max(0, ymin - grow_y), max(0, xmin - grow_x), min(height, ymax + grow_y), min(width, xmax + grow_x))
    ring = np.zeros_like(content)
    ring[outer[0] : outer[2], outer[1] : outer[3]] = True
    ring[ymin:ymax, xmin:xmax] = False
    if not ring.any() or content[ring].mean() < MIN_SKIN_CONTENT:
        return None
    return outer


def _confidence(candidate: _Candidate) -> float:
    return float(np.clip(candidate.contrast / 1.2, 0.0, 1.0) * candidate.shape)


def _to_original(box: Box, scale: float, shape: tuple[int, int]) -> Box:
    ymin, xmin, ymax, xmax = (v / scale for v in box)
    height, width = shape
    return (
        int(np.clip(np.floor(ymin), 0, height - 1)),
        int(np.clip(np.floor(xmin), 0, width - 1)),
        int(np.clip(np.ceil(ymax), 1, height)),
        int(np.clip(np.ceil(xmax), 1, width)),
    )
