"""Lip Hb at inference: find the lips → colour features (`vitalens.tasks.hb_lips.lip_colour.measure_lips`,
the function training used) → ONNX linear head → refused when implausible → conformal interval → WHO
reading of the interval. Serving world: no torch, no sklearn.

`LipHbPredictor(bundle).predict_image(rgb, image_id)` gives a `vitalens.results.Prediction` whose
columns start with the seed's `predicted_hgb` (the caller names the photo). A photo whose lips cannot
be found or measured, whose lip region is too small or fails the mouth check (`lip_check`), or whose
estimate lies outside the plausible Hb range, is refused with the reason and a tip, and no number.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vitalens.bundle import Bundle
from vitalens.data.samples import Sample
from vitalens.interpretation import interpret_interval
from vitalens.results import OK, Prediction, refused
from vitalens.tasks._haemoglobin import response
from vitalens.tasks._haemoglobin.predictor import FeatureHeadHbPredictor
from vitalens.tasks.hb_lips import TASK
from vitalens.tasks.hb_lips.lip_check import check_lips
from vitalens.tasks.hb_lips.lip_colour import measure_lips

CAVEAT = (
    "In validation ({scheme}) this model's MAE was {model:.2f} g/dL against {baseline:.2f} g/dL "
    "for always predicting the training mean (permutation test p = {p_value}): the data behind it are far too few "
    "to show that lip colour tells Hb; read the estimate as a demonstration, not a measurement."
)
NO_LIPS = "no lips found ({reason})"
NO_LIPS_TIP = "take a well-lit, front-on photo in which the closed lips fill a good part of the frame"
UNMEASURABLE = "too few usable lip pixels"
UNMEASURABLE_TIP = "the lips were found but too few of their pixels are usable (too dark, blown out or grey): retake in even light"
RETAKE = "front-on in even light, with the closed, bare lips filling a good part of the frame"
DECIMALS = 3  # the published predictions.csv precision


class LipHbPredictor(FeatureHeadHbPredictor):
    task_name = TASK.name
    columns = ("predicted_hgb", "interval_low", "interval_high", "who_severity", "regions_from", "lip_confidence")
    display_columns = ("predicted_hgb", "interval_low", "interval_high", "who_severity", "regions_from")

    def __init__(self, bundle: Bundle):
        super().__init__(bundle)
        self.lip_check = bundle.manifest.get("lip_check")  # the mouth check; a bundle exported without one has none
        self.lip_check_session = bundle.session("lip_check") if self.lip_check else None
        self.coverage = float(bundle.manifest["uncertainty"]["coverage"])

    @property
    def caveat(self) -> str:
        validation = self.bundle.manifest["validation"]
        p_value = validation.get("permutation_test", {}).get("p_value")
        return CAVEAT.format(scheme=validation["scheme"], model=validation["model"]["mae"], baseline=validation["mean_predictor"]["mae"],
                             p_value=f"{p_value:.2f}" if p_value is not None else "not run")  # fmt: skip

    def predict_image(self, rgb: np.ndarray, image_id: str, sample: Sample | None = None, **population: Any) -> Prediction:
        """An estimate with its interval and WHO reading, or a refusal with the reason and a tip.
        `sample` is not used: lips are found in the pixels, never read from annotations."""
        measured = measure_lips(rgb)
        region = measured.region
        if region is None:
            return refused(image_id, [NO_LIPS.format(reason=measured.reason)], [NO_LIPS_TIP])
        lip_box = [int(v) for v in region.box]
        if self.lip_check and (problem := check_lips(rgb, region.box, self.lip_check, self.lip_check_session)):
            return refused(image_id, [problem[0]], [problem[1]], lip_box=lip_box)
        features = measured.select(self.feature_names)
        if not np.isfinite(features).all():
            refusal = refused(image_id, [UNMEASURABLE], [UNMEASURABLE_TIP], lip_box=lip_box)
            refusal.columns["regions_from"] = region.method  # where it looked, not an estimate
            return refusal
        hb = float(self.predict_features(features)[0])
        refusal = response.implausible(hb, image_id, RETAKE, lip_box=lip_box)
        if refusal is not None:
            return refusal
        low, high = response.interval(hb, self.uncertainty)
        interpretation = interpret_interval(hb, low, high, **population)
        columns = {
            "predicted_hgb": round(hb, DECIMALS),
            "interval_low": round(low, DECIMALS),
            "interval_high": round(high, DECIMALS),
            "who_severity": interpretation["statement"],
            "regions_from": region.method,
            "lip_confidence": round(region.confidence, DECIMALS),
        }
        return Prediction(image_id, OK, columns=columns, details={"lip_box": lip_box, "interpretation": interpretation})
