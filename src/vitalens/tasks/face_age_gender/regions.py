"""The one face a face model should look at, aligned like its training crops. Serving world: numpy + opencv.

Every image, crop or full photo, takes the same path: the bundle's MTCNN detector (vitalens.regions.faces)
finds faces and their 5 landmarks, then a similarity transform puts the landmarks where they sit, on
average, in UTKFace's training crops (the `alignment` template in bundle.json, measured by
`measure_template`), on a crop of the same side. A photo is refused, with a reason and a tip, when the
estimate could belong to the wrong face or to no face: no face, several faces (unless the caller asks for
the largest), a face too small to read, or a face turned or tilted further than any training crop.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from vitalens.regions.faces import Face, align, detect_faces

STAGES = {"pnet": "detector_pnet", "rnet": "detector_rnet", "onet": "detector_onet"}
CHOICES = ("one", "largest")  # what to do with several faces: refuse, or read the largest
# The model reads 112 px; a face box under 64 px would be upsampled almost 2x and lose the fine texture
# age is read from. Smaller faces (down to DETECT_MIN_PX) are still found, so they are refused by name.
MIN_FACE_PX = 64
DETECT_MIN_PX = 40
# Limits from the landmarks. On 279 UTKFace training crops the eye line's tilt was at most 19 degrees
# and the nose's offset from the eyes' midpoint (in eye distances) at most 0.27; a face past these
# limits is unlike anything the model learned from. Tilt is undone by alignment, so its limit is loose.
MAX_TILT_DEG = 30.0
MAX_TURN = 0.35
RETAKE = "use a photo with one face, front-on and well lit"


class FaceRegionError(ValueError):
    """A photo the face models cannot use: `reason` (what is wrong, short) and `tip` (what to do), kept
    apart because a refusal reports them in its own fields (vitalens.results.refused)."""

    def __init__(self, reason: str, tip: str):
        super().__init__(f"{reason}; {tip}")
        self.reason, self.tip = reason, tip


def detector_sessions(bundle: Any) -> dict[str, Any]:
    return {key: bundle.session(stage) for key, stage in STAGES.items()}


def pose(face: Face) -> tuple[float, float]:
    """(tilt in degrees: the eye line against the horizontal; turn: the nose's sideways offset from the
    eyes' midpoint, in eye distances, measured along the eye line so tilt does not count as turn)."""
    left_eye, right_eye, nose = face.landmarks[0], face.landmarks[1], face.landmarks[2]
    eye = right_eye - left_eye
    distance = float(np.hypot(*eye)) or 1.0
    turn = float(np.dot(nose - (left_eye + right_eye) / 2, eye / distance)) / distance
    return float(np.degrees(np.arctan2(eye[1], eye[0]))), turn


def choose_face(faces: list[Face], choice: str = "one") -> Face:
    """The face to read, or FaceRegionError saying why none can be."""
    if choice not in CHOICES:
        raise ValueError(f"face={choice!r}: expected one of {CHOICES}")
    if not faces:
        raise FaceRegionError("no face found", RETAKE)
    readable = [f for f in faces if f.side >= MIN_FACE_PX]
    if len(readable) > 1 and choice == "one":
        raise FaceRegionError(f"{len(readable)} faces found", "crop the photo to the one person to estimate, or ask for the largest face (face=largest)")
    face = max(faces, key=lambda f: f.side)
    if face.side < MIN_FACE_PX:
        raise FaceRegionError(f"the face is {face.side:.0f} px across, under the {MIN_FACE_PX} px this model needs", "move closer or use a higher-resolution photo")
    tilt, turn = pose(face)
    if abs(tilt) > MAX_TILT_DEG:
        raise FaceRegionError(f"the face is tilted {abs(tilt):.0f} degrees (at most {MAX_TILT_DEG:.0f})", "hold the head upright")
    if abs(turn) > MAX_TURN:
        raise FaceRegionError(f"the face is turned to the side (nose offset {abs(turn):.2f} eye distances, at most {MAX_TURN})", "face the camera")
    return face


def find_face(rgb: np.ndarray, sessions: Mapping[str, Any], alignment: Mapping[str, Any], choice: str = "one") -> tuple[np.ndarray, Face]:
    """(the aligned crop to feed a face model, the face it came from) or FaceRegionError."""
    face = choose_face(detect_faces(rgb, sessions, min_face=DETECT_MIN_PX), choice)
    return align(rgb, face.landmarks, np.asarray(alignment["template"]), int(alignment["side"])), face


def measure_template(crops: list[np.ndarray], sessions: Mapping[str, Any]) -> dict[str, Any]:
    """The alignment template: the median position of each landmark, as fractions of the crop's width and
    height, over the training crops where exactly one face is found (all crops must share one side)."""
    points = []
    for crop in crops:
        faces = detect_faces(crop, sessions, min_face=DETECT_MIN_PX)
        if len(faces) == 1:
            points.append(faces[0].landmarks / np.array([crop.shape[1], crop.shape[0]]))
    template = np.median(np.stack(points), axis=0)
    return {"template": np.round(template, 4).tolist(), "side": int(crops[0].shape[0]), "n_crops": len(points), "n_tried": len(crops)}
