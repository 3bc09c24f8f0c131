"""Finding the one face a face model should look at. Serving world: numpy and PIL, never torch.

The face models were trained on aligned, cropped faces (UTKFace style), so a crop passes straight
through. A full photo needs a detector; the only offline one available is inside mediapipe 0.10.21,
which forces numpy < 2, so it is an optional extra (`vitalens[faces]`) and, without it, photos are
refused with a message rather than guessed at. Photos with no face or several faces are refused too:
the estimate must belong to one known person.
"""

from __future__ import annotations

import importlib.util
from typing import Callable

import numpy as np

Box = tuple[int, int, int, int]  # (ymin, xmin, ymax, xmax) in pixels, the vitalens convention
Detector = Callable[[np.ndarray], list[Box]]

# A face crop is roughly square and small; a photo is rarely both. UTKFace crops are 200x200.
CROP_MAX_SIDE = 512
CROP_ASPECT_TOLERANCE = 0.15
# UTKFace crops run from forehead to chin, a little wider than a detector box; 1.2 is an eyeballed
# match to that framing, not a calibrated one.
CROP_MARGIN = 1.2
NO_DETECTOR = "no face detector installed"
NO_DETECTOR_TIP = "pass an aligned face crop or install vitalens[faces]"


class FaceRegionError(ValueError):
    """A photo the face models cannot use: `reason` (what is wrong, short) and `tip` (what to do), kept
    apart because a refusal reports them in its own fields (vitalens.results.refused)."""

    def __init__(self, reason: str, tip: str):
        super().__init__(f"{reason}; {tip}")
        self.reason, self.tip = reason, tip


def looks_like_face_crop(rgb: np.ndarray) -> bool:
    height, width = rgb.shape[:2]
    return max(height, width) <= CROP_MAX_SIDE and abs(height / width - 1.0) <= CROP_ASPECT_TOLERANCE


def detector_available() -> bool:
    return importlib.util.find_spec("mediapipe") is not None


def mediapipe_detector(min_confidence: float = 0.5) -> Detector:
    """mediapipe's bundled full-range face detector (model_selection=1: faces up to ~5 m away)."""
    if not detector_available():
        raise FaceRegionError(NO_DETECTOR, NO_DETECTOR_TIP)
    import mediapipe as mp

    solution = mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=min_confidence)

    def detect(rgb: np.ndarray) -> list[Box]:
        height, width = rgb.shape[:2]
        result = solution.process(np.ascontiguousarray(rgb))
        boxes = []
        for detection in result.detections or []:
            box = detection.location_data.relative_bounding_box
            ymin, xmin = int(box.ymin * height), int(box.xmin * width)
            boxes.append((ymin, xmin, ymin + int(box.height * height), xmin + int(box.width * width)))
        return boxes

    return detect


def find_face(rgb: np.ndarray, detector: Detector | None = None) -> np.ndarray:
    """The face crop to feed a face model: the image itself if it is already a crop, else the one detected face."""
    if looks_like_face_crop(rgb):
        return rgb
    if detector is None:
        if not detector_available():
            raise FaceRegionError(f"{rgb.shape[1]}x{rgb.shape[0]} is not an aligned face crop and {NO_DETECTOR}", NO_DETECTOR_TIP)
        detector = mediapipe_detector()
    boxes = detector(rgb)
    if not boxes:
        raise FaceRegionError("no face found", "use a photo with one clearly visible, front-facing face")
    if len(boxes) > 1:
        raise FaceRegionError(f"{len(boxes)} faces found", "crop the photo to the one person to estimate")
    return square_crop(rgb, boxes[0], CROP_MARGIN)


def square_crop(rgb: np.ndarray, box: Box, margin: float) -> np.ndarray:
    """A square around the box's centre, `margin` times its longer side, clipped to the image."""
    ymin, xmin, ymax, xmax = box
    side = int(max(ymax - ymin, xmax - xmin) * margin)
    centre_y, centre_x = (ymin + ymax) // 2, (xmin + xmax) // 2
    top, left = max(0, centre_y - side // 2), max(0, centre_x - side // 2)
    return rgb[top : min(rgb.shape[0], top + side), left : min(rgb.shape[1], left + side)]
