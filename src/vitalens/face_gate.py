"""Not a face photo: the spine's check, for bundles of tasks whose photos are not of faces. Serving world.

A bundle may carry the face detector (vitalens.regions.faces, MTCNN's three ONNX nets) as stages and a
"face_gate" entry: a photo in which the detector finds a face whose side is at least `max_face_fraction`
of the photo's short side is refused before the model runs, with the reason and the task's photo tip.
The fraction is chosen on the tuning half of the task's own photos and of face photos
(vitalens.evaluation.face_gate_fit); a face in the corner of a skin close-up is far smaller.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vitalens.regions.faces import detect_faces
from vitalens.results import Prediction, refused

NETS = ("pnet", "rnet", "onet")


def largest_face_fraction(rgb: np.ndarray, sessions: dict[str, Any], min_face: float) -> float:
    """The side of the largest detected face over the photo's short side (0 when there is none)."""
    faces = detect_faces(rgb, sessions, min_face=min_face)
    return max((face.side for face in faces), default=0.0) / float(min(rgb.shape[:2]))


def face_gate(bundle: Any, rgb: np.ndarray, image_id: str) -> Prediction | None:
    """The refusal when the bundle's face gate finds a face that fills the photo, else None."""
    gate = bundle.manifest.get("face_gate")
    if gate is None:
        return None
    sessions = {net: bundle.session(gate["stages"][net]) for net in NETS}
    fraction = largest_face_fraction(rgb, sessions, float(gate["min_face_px"]))
    if fraction < float(gate["max_face_fraction"]):
        return None
    return refused(image_id, [f"this looks like a photo of a face (a face {fraction:.0%} of the photo's short side), not of the {gate['body_site']} this model reads"],
                   [gate["tip"]], face_fraction=round(fraction, 3))  # fmt: skip
