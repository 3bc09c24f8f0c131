"""Lip Hb at inference: find the lips → colour features (`vitalens.tasks.hb_lips.lip_colour.measure_lips`, the function
training used) → ONNX linear head → conformal interval → WHO band. Serving world: no torch, no sklearn.

`LipHbPredictor(bundle).predict_sample(sample, rgb)` gives one line of predictions.csv, starting with the
seed's `image_id,predicted_hgb` (`image_id` is the file name without its suffix, as in the seed's
labels.csv written by `vitalens extract`). A photo whose lips cannot be found or measured is refused
with the reason and no number.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vitalens.data.samples import Sample
from vitalens.interpretation import interpret_estimate
from vitalens.tasks.hb_lips.lip_colour import measure_lips
from vitalens.bundle import Bundle

TASK = "hb-lips"
CAVEAT = (
    "In validation ({scheme}) this model's MAE was {model:.2f} g/dL against {baseline:.2f} g/dL "
    "for always predicting the training mean (permutation test p = {p_value}): the data behind it are far too few "
    "to show that lip colour tells Hb; read the estimate as a demonstration, not a measurement."
)
NO_LIPS = "no lips found ({reason}): take a well-lit, front-on photo in which the closed lips fill a good part of the frame"
UNMEASURABLE = "the lips were found but too few of their pixels are usable (too dark, blown out or grey): retake in even light"


class LipHbPredictor:
    display_columns = {"image_id": "photo", "predicted_hgb": "Hb g/dL", "interval_low": "90% low", "interval_high": "90% high",
                       "who_severity": "WHO band", "lips_from": "lips", "status": "status", "message": "message"}

    def __init__(self, bundle: Bundle):
        if bundle.task != TASK:
            raise ValueError(f"{bundle.path}: bundle is for task {bundle.task!r}, not {TASK}")
        self.bundle = bundle
        self.feature_names = tuple(bundle.manifest["inputs"]["features"]["names"])
        self.half_width = float(bundle.manifest["uncertainty"]["half_width"])
        self.coverage = float(bundle.manifest["uncertainty"]["coverage"])

    @property
    def caveat(self) -> str:
        validation = self.bundle.manifest["validation"]
        p_value = validation.get("permutation_test", {}).get("p_value")
        return CAVEAT.format(scheme=validation["scheme"], model=validation["model"]["mae"], baseline=validation["mean_predictor"]["mae"],
                             p_value=f"{p_value:.2f}" if p_value is not None else "not run")

    def predict_features(self, features: np.ndarray) -> np.ndarray:
        """Hb (g/dL) for rows of `inputs.features.names` values."""
        (hb,) = self.bundle.session().run(None, {"features": np.asarray(features, np.float32).reshape(-1, len(self.feature_names))})
        return hb.astype(np.float64)

    def predict_sample(self, sample: Sample, rgb: np.ndarray, **population: Any) -> dict[str, Any]:
        return self.predict(rgb, sample.image_id, **population)

    def predict(self, rgb: np.ndarray, image_id: str = "", **population: Any) -> dict[str, Any]:
        """One predictions.csv row: an estimate with its interval and WHO band, or a refusal with the reason."""
        measured = measure_lips(rgb)
        if measured.region is None:
            return _row(image_id, "refused", message=NO_LIPS.format(reason=measured.reason))
        features = measured.select(self.feature_names)
        if not np.isfinite(features).all():
            return _row(image_id, "refused", lips_from=measured.region.method, message=UNMEASURABLE)
        hb = float(self.predict_features(features)[0])
        band = interpret_estimate(hb, **population).to_dict()
        interval = (max(0.0, hb - self.half_width), hb + self.half_width)  # Hb cannot be negative
        return _row(image_id, "ok", hb=hb, interval=interval, severity=band["severity"],
                    lips_from=measured.region.method, lip_box=measured.region.box, confidence=measured.region.confidence)


def _row(image_id: str, status: str, hb: float | None = None, interval: tuple[float, float] | None = None, severity: str = "",
         lips_from: str = "", lip_box: tuple[int, int, int, int] | None = None, confidence: float | None = None, message: str = "") -> dict[str, Any]:
    return {
        "image_id": image_id,
        "predicted_hgb": round(hb, 3) if hb is not None else "",
        "interval_low": round(interval[0], 3) if interval else "",
        "interval_high": round(interval[1], 3) if interval else "",
        "who_severity": severity,
        "lips_from": lips_from,
        "lip_box": "[" + ", ".join(str(int(v)) for v in lip_box) + "]" if lip_box else "",
        "lip_confidence": round(confidence, 3) if confidence is not None else "",
        "status": status,
        "message": message,
    }
