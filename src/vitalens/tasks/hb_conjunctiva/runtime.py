"""Conjunctiva Hb at inference: tissue mask and rim → colour features (`features.conjunctiva_features`,
the function training used) → ONNX linear head → refused when implausible → conformal interval (lower
bound clipped at 0) → WHO reading for the child's age. Serving world: numpy, Pillow, onnxruntime.

A photo that is not cut out (no plain background), or has too little tissue to measure, is refused with
the reason and a tip; the spine's site check (bundle.json "site_check") runs before this, when present.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vitalens.data.samples import Sample
from vitalens.interpretation import interpret_interval
from vitalens.results import OK, Prediction, refused
from vitalens.tasks._haemoglobin import response
from vitalens.tasks._haemoglobin.predictor import FeatureHeadHbPredictor
from vitalens.tasks.hb_conjunctiva import TASK
from vitalens.tasks.hb_conjunctiva.features import conjunctiva_features, tissue_fraction

MAX_TISSUE_FRACTION = 0.7  # training photos: 17-43 % tissue; more is a photo that was not segmented
NOT_SEGMENTED = "not a segmented conjunctiva photo ({fraction:.0%} of the image is tissue; the model learned from cut-out eyelid linings)"
TOO_LITTLE = "too few conjunctiva pixels to measure"
RETAKE = "close up, in even light, with the lower eyelid pulled down and its pink lining cut out onto a plain background"
CAVEAT = ("Demonstration, not a measurement: in nested leave-one-hospital-out validation the MAE was {model:.2f} g/dL against {baseline:.2f} "
          "for always predicting the training mean (95 % CI of the difference {low:+.2f} to {high:+.2f}).")  # fmt: skip
MEASURED = "In nested leave-one-hospital-out validation the MAE was {model:.2f} g/dL against {baseline:.2f} for the mean (difference CI {low:+.2f} to {high:+.2f})."
DECIMALS = 3


class ConjunctivaHbPredictor(FeatureHeadHbPredictor):
    task_name = TASK.name
    columns = ("predicted_hgb", "interval_low", "interval_high", "who_severity", "tissue_fraction")
    display_columns = ("predicted_hgb", "interval_low", "interval_high", "who_severity")

    @property
    def caveat(self) -> str:
        validation = self.bundle.manifest["validation"]
        low, high = validation["paired_mae_difference"]["ci"]
        text = CAVEAT if self.bundle.manifest.get("demonstration", True) else MEASURED
        return text.format(model=validation["model"]["mae"], baseline=validation["mean_predictor"]["mae"], low=low, high=high)

    def predict_image(self, rgb: np.ndarray, image_id: str, sample: Sample | None = None, **population: Any) -> Prediction:
        """An estimate with its interval and WHO reading, or a refusal with the reason and a tip (`sample` is not used)."""
        fraction = tissue_fraction(rgb)
        if fraction > MAX_TISSUE_FRACTION:
            return refused(image_id, [NOT_SEGMENTED.format(fraction=fraction)], [TASK.photo_tip])
        measured = conjunctiva_features(rgb)
        if measured is None:
            return refused(image_id, [TOO_LITTLE], [TASK.photo_tip])
        hb = float(self.predict_features(np.array([measured[name] for name in self.feature_names]))[0])
        refusal = response.implausible(hb, image_id, RETAKE)
        if refusal is not None:
            return refusal
        low, high = response.interval(hb, self.uncertainty)
        interpretation = interpret_interval(hb, low, high, **population)
        columns = {"predicted_hgb": round(hb, DECIMALS), "interval_low": round(low, DECIMALS), "interval_high": round(high, DECIMALS),
                   "who_severity": interpretation["statement"], "tissue_fraction": round(fraction, DECIMALS)}  # fmt: skip
        return Prediction(image_id, OK, columns=columns, details={"interpretation": interpretation})
