"""Choosing a face gate's threshold (vitalens.face_gate) on the *tuning* half of the photos only.

For the task's own photos and for face photos, the largest detected face's side over the photo's short
side; the threshold is the fraction on a grid with the most own tuning photos passing plus face photos
refused (Youden's J), among those that pass at least `own_rate` of the own photos. Every grid point is
logged. The test half (benchmarks/wrong_photos.py) grades it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
from rich.progress import track

from vitalens.evaluation.sites import site_photos
from vitalens.face_gate import NETS, largest_face_fraction
from vitalens.imaging import ImageDecodeError, decode_image

GRID = tuple(np.round(np.arange(0.10, 0.95, 0.05), 2))
OWN_RATE = 0.97
MIN_FACE_PX = 40.0
PER_SITE = 400


def fractions(site: str, sessions: dict) -> np.ndarray:
    values = []
    for path in track(site_photos(site, "tune", PER_SITE), description=f"face gate: {site}", transient=True):
        try:
            values.append(largest_face_fraction(decode_image(path).rgb, sessions, MIN_FACE_PX))
        except ImageDecodeError:
            continue
    return np.array(values)


def fit_face_gate(own_site: str, tip: str, detector_files: dict[str, Path], own_rate: float = OWN_RATE) -> dict:
    """The bundle.json "face_gate" entry (stage names included) for a task whose photos are of `own_site`."""
    sessions = {net: ort.InferenceSession(str(detector_files[net]), providers=["CPUExecutionProvider"]) for net in NETS}
    own, faces = fractions(own_site, sessions), fractions("face", sessions)
    log = [{"max_face_fraction": float(f), "own_pass_rate": float((own < f).mean()), "faces_refused": float((faces >= f).mean())} for f in GRID]
    allowed = [row for row in log if row["own_pass_rate"] >= own_rate] or log
    chosen = max(allowed, key=lambda row: row["own_pass_rate"] + row["faces_refused"])  # the first of equals: the smaller fraction
    return {
        "body_site": own_site,
        "tip": tip,
        "stages": {net: f"face_{net}" for net in NETS},
        "detector": "MTCNN (vitalens.regions.faces), the face bundle's nets",
        "min_face_px": MIN_FACE_PX,
        "max_face_fraction": chosen["max_face_fraction"],
        "chosen": {"by": f"most own photos passing plus face photos refused on the tuning half, with at least {own_rate:.0%} of own photos passing", **chosen,
                   "n_own": int(len(own)), "n_faces": int(len(faces))},  # fmt: skip
        "candidates": log,
    }
