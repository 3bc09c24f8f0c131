"""Fingernail Hb at inference: nails (annotated, or found by the bundle's detector behind the quality
gate) → ONNX per nail → median → refused when implausible → conformal interval → WHO reading of the interval."""

from __future__ import annotations

import weakref
from typing import Any, Callable

import numpy as np

from vitalens.bundle import Bundle
from vitalens.data.samples import Box, Sample
from vitalens.interpretation import interpret_interval
from vitalens.quality import QualityVerdict, assess_photo, gate_detections
from vitalens.results import OK, Prediction, refused
from vitalens.tasks._haemoglobin import response
from vitalens.tasks._haemoglobin.predictor import HbPredictor
from vitalens.tasks.hb_nails import TASK
from vitalens.tasks.hb_nails.detection import DetectedRegions, Detection, OnnxDetector, detections_to_regions
from vitalens.tasks.hb_nails.regions import nail_regions, region_inputs

MEAN_PREDICTOR_CAVEAT = (
    "Under leave-one-session-out validation this model's MAE was {model:.2f} g/dL against {baseline:.2f} g/dL for "
    "always predicting the training mean: the estimate is only modestly better than a population average."
)
NO_DETECTOR_TIP = (
    "this photo has no annotated nail boxes and the bundle has no nail detector: "
    "annotate the nails or use a bundle with a detector stage (the shipped one has it)"
)
RETAKE = "with three or four fingernails sharp and filling the frame, in even daylight, without nail polish"


class NailHbPredictor(HbPredictor):
    """The fingernail bundle as a `vitalens.runtime.Predictor`: one `Prediction` per photo, the photo's
    Hb in `columns` (CSV), each nail's box, skin box, estimate and detector score in `details` (JSON)."""

    columns = ("predicted_hgb", "interval_low", "interval_high", "who_severity", "n_nails", "per_nail_hgb", "regions_from")
    display_columns = ("predicted_hgb", "interval_low", "interval_high", "who_severity", "n_nails", "regions_from")

    task_name = TASK.name

    def __init__(self, bundle: Bundle):
        super().__init__(bundle)
        self.crop_size = int(bundle.manifest["region"]["crop_size"])
        self.detector_rules = bundle.manifest.get("detector")
        self.detector = None if self.detector_rules is None else OnnxDetector(bundle.session("detector"), tuple(self.detector_rules["classes"]))

    @property
    def caveat(self) -> str:
        validation = self.bundle.manifest["validation"]
        return MEAN_PREDICTOR_CAVEAT.format(model=validation["model"]["mae"], baseline=validation["mean_predictor"]["mae"])

    def per_nail(self, rgb: np.ndarray, nail_boxes: list[Box], skin_boxes: list[Box]) -> tuple[np.ndarray, list[Box]]:
        regions = nail_regions(rgb, nail_boxes, skin_boxes, self.crop_size)
        session = self.bundle.session()
        arrays = region_inputs(regions)
        # the exporter drops graph inputs a feature set does not use (a CNN bundle never reads the skin crops)
        (hb,) = session.run(None, {i.name: arrays[i.name] for i in session.get_inputs()})
        return hb.astype(np.float64), regions.skin_boxes

    def pre_screen(self, rgb: np.ndarray, image_id: str, sample: Sample | None = None) -> Prediction | None:
        """The quality gate's refusal (dark, glare, blur...) of a raw photo, which the spine gives before
        its site check: "too dark, move to daylight" helps more than "not a fingernail photo"."""
        if sample is not None and sample.boxes.get("nail"):
            return None
        verdict = assess_photo(rgb)
        self._assessed = (weakref.ref(rgb), verdict)
        return None if verdict.ok else _refusal(image_id, verdict)

    def _quality(self, rgb: np.ndarray) -> QualityVerdict:
        """The gate's verdict on this very array: the one pre_screen just measured (about 30 ms at 800 px,
        otherwise paid twice per photo), or measured now. A weak reference, not id(), so a verdict can never
        outlive its array and be handed to another photo that reuses the address."""
        assessed = getattr(self, "_assessed", None)
        if assessed is not None and assessed[0]() is rgb:
            return assessed[1]
        return assess_photo(rgb)

    def predict_image(self, rgb: np.ndarray, image_id: str, sample: Sample | None = None, **population: Any) -> Prediction:
        """A sample's annotated boxes when it has them (a manifest or the Yakimov layout), else the detector."""
        boxes = sample.boxes if sample is not None else {}
        return self.predict(rgb, boxes.get("nail"), boxes.get("skin"), image_id, **population)

    def predict(self, rgb: np.ndarray, nail_boxes: list[Box] | None = None, skin_boxes: list[Box] | None = None,
                image_id: str = "", **population: Any) -> Prediction:
        """From annotated boxes when given; otherwise the detector finds the nails, unless the photo
        fails the quality gate, in which case the result is a refusal with tips and no number."""
        if nail_boxes:
            return self._estimate(rgb, list(nail_boxes), list(skin_boxes or []), None, image_id, "annotated", population)
        if self.detector is None:
            return _refusal(image_id, QualityVerdict(False, ["no_boxes"], [NO_DETECTOR_TIP]))
        rules = self.detector_rules
        detect = lambda: self.detector.detect(rgb, rules["score_threshold"], rules["iou_threshold"])  # noqa: E731
        found, verdict = find_nails(rgb, detect, rules, self._quality)
        if found is None:
            return _refusal(image_id, verdict)
        return self._estimate(rgb, found.nail_boxes, found.skin_boxes, found.scores, image_id, "detector", population)

    def _estimate(self, rgb, nail_boxes, skin_boxes, scores, image_id, regions_from, population) -> Prediction:
        per_nail, skins = self.per_nail(rgb, nail_boxes, skin_boxes)
        hb = float(np.median(per_nail))
        refusal = response.implausible(hb, image_id, RETAKE)
        if refusal is not None:
            return refusal
        low, high = response.interval(hb, self.uncertainty)
        interpretation = interpret_interval(hb, low, high, **population)
        scores = scores or [None] * len(nail_boxes)
        nails = [{"box": list(box), "skin_box": list(skin), "hb": float(value), "score": score}
                 for box, skin, value, score in zip(nail_boxes, skins, per_nail, scores)]  # fmt: skip
        columns = {
            "predicted_hgb": hb,
            "interval_low": low,
            "interval_high": high,
            "who_severity": interpretation["statement"],
            "n_nails": len(nails),
            "per_nail_hgb": [nail["hb"] for nail in nails],
            "regions_from": regions_from,
        }
        return Prediction(image_id, OK, columns=columns, details={"nails": nails, "interpretation": interpretation, "tips": []})


def find_nails(rgb: np.ndarray, detect: Callable[[], list[Detection]], rules: dict[str, Any],
               assess: Callable[[np.ndarray], QualityVerdict] = assess_photo) -> tuple[DetectedRegions | None, QualityVerdict]:  # fmt: skip
    """The first stage's gates, in order: the photo's quality (before any detection is paid for), the
    detector's confidence, then the nails to estimate. `rules` is the bundle's detector entry."""
    verdict = assess(rgb)
    if not verdict.ok:
        return None, verdict
    detections = detect()
    verdict = gate_detections(detections, rules["score_threshold"])
    if not verdict.ok:
        return None, verdict
    return detections_to_regions(detections, rules["score_threshold"], rules["max_nails"]), verdict


def _refusal(image_id: str, verdict: QualityVerdict) -> Prediction:
    return refused(image_id, list(verdict.reasons), list(verdict.tips))
