"""Is the region the lip finder chose really a mouth, and large enough to read? Serving world.

The colour lip finder (`regions.find_lips`) finds *a* red, lip-shaped region in almost any photo: a nail
bed, a skin lesion, a conjunctiva. So before any estimate the lips' box is checked twice, with the numbers
the bundle stores ("lip_check", fitted by `vitalens train-lip-check`, vitalens.tasks.hb_lips.lip_check_fit):
1. its width in pixels: below `min_lip_width_px` there are too few lip pixels to read their colour, as in a
   small face crop (UTKFace's lips are 40-84 px; the lips model's training close-ups 412-1,990 px);
2. a learned mouth check: the box grown by MARGIN, resized to INPUT_SIZE, through the bundle's
   `lip_check` ONNX stage (a frozen ImageNet embedding and a logistic regression) gives a logit; under the
   stored threshold the region is not a mouth.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from vitalens.tasks.hb_lips.regions import Box

CHECK_FILE = "lip_check.onnx"
INPUT = "crop"
INPUT_SIZE = 128
MARGIN = 0.25  # of the box's width and height on each side: the mouth with the skin around it
TOO_SMALL = "lips {width} px wide, under the {minimum} px this model needs"
TOO_SMALL_TIP = "move closer, or crop the photo, so that the closed lips are at least {minimum} px wide"
NOT_A_MOUTH = "the red region found does not look like a mouth (lip check {score:.2f} < {threshold:.2f})"
NOT_A_MOUTH_TIP = "this model reads lips: take a front-on photo of the closed, bare lips filling a good part of the frame"


def mouth_crop(rgb: np.ndarray, box: Box) -> np.ndarray:
    """The lip box grown by MARGIN on each side, clipped to the photo."""
    ymin, xmin, ymax, xmax = box
    grow_y, grow_x = int(MARGIN * (ymax - ymin)), int(MARGIN * (xmax - xmin))
    height, width = rgb.shape[:2]
    return rgb[max(0, ymin - grow_y):min(height, ymax + grow_y), max(0, xmin - grow_x):min(width, xmax + grow_x)]


def crop_tensor(crop: np.ndarray) -> np.ndarray:
    """[1, 3, INPUT_SIZE, INPUT_SIZE] float32 in [0, 1] (Pillow bilinear), what the check's graph takes."""
    resized = np.asarray(Image.fromarray(np.ascontiguousarray(crop)).resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BILINEAR), np.float32)
    return (resized.transpose(2, 0, 1) / 255.0)[None]


def check_lips(rgb: np.ndarray, box: Box, check: dict[str, Any], session) -> tuple[str, str] | None:
    """None when the box passes both checks, else (reason, tip); `session` runs the bundle's lip_check stage."""
    width, minimum = int(box[3] - box[1]), int(check["min_lip_width_px"])
    if width < minimum:
        return TOO_SMALL.format(width=width, minimum=minimum), TOO_SMALL_TIP.format(minimum=minimum)
    (logit,) = session.run(None, {INPUT: crop_tensor(mouth_crop(rgb, box))})
    score, threshold = float(logit[0]), float(check["threshold"])
    if score < threshold:
        return NOT_A_MOUTH.format(score=score, threshold=threshold), NOT_A_MOUTH_TIP
    return None
