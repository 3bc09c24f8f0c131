"""Fingernail Hb at inference: nails (annotated, or found by the bundle's detector behind the quality
gate) → ONNX per nail → median → conformal interval → WHO band."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

from vitalens import DISCLAIMER
from vitalens.data.samples import Box, Sample
from vitalens.interpretation import interpret_estimate
from vitalens.quality import QualityVerdict, assess_photo, gate_detections
from vitalens.tasks.hb_nails.detection import DetectedRegions, Detection, OnnxDetector, detections_to_regions
from vitalens.tasks.hb_nails.regions import nail_regions, region_inputs
from vitalens.bundle import Bundle

MEAN_PREDICTOR_CAVEAT = (
    "Under leave-one-session-out validation this model's MAE was {model:.2f} g/dL against {baseline:.2f} g/dL for "
    "always predicting the training mean: the estimate is only modestly better than a population average."
)


@dataclass
class NailEstimate:
    box: Box
    skin_box: Box
    hb: float
    score: float | None = None  # detector confidence; None for annotated boxes


@dataclass
class HbResult:
    image_id: str
    status: str  # "ok" or "refused"
    regions_from: str = "annotated"  # or "detector"
    hb: float | None = None
    interval: tuple[float, float] | None = None
    nails: list[NailEstimate] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    tips: list[str] = field(default_factory=list)
    interpretation: dict[str, Any] | None = None
    disclaimer: str = DISCLAIMER

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_row(self) -> dict[str, Any]:
        """One line of predictions.csv: `image_id,predicted_hgb` first, as the peers write it."""
        ok = self.status == "ok"
        return {
            "image_id": self.image_id,
            "predicted_hgb": round(self.hb, 3) if ok else "",
            "interval_low": round(self.interval[0], 3) if ok else "",
            "interval_high": round(self.interval[1], 3) if ok else "",
            "who_severity": self.interpretation["severity"] if ok else "",
            "n_nails": len(self.nails),
            "per_nail_hgb": ";".join(f"{n.hb:.2f}" for n in self.nails),
            "regions_from": self.regions_from,
            "status": self.status,
            "message": "; ".join(self.reasons + self.tips),
        }


NO_DETECTOR_TIP = (
    "this photo has no annotated nail boxes and the bundle has no nail detector: "
    "annotate the nails or use a bundle with a detector stage (the shipped one has it)"
)


class NailHbPredictor:
    display_columns = {"image_id": "photo", "predicted_hgb": "Hb g/dL", "interval_low": "90% low", "interval_high": "90% high",
                       "who_severity": "WHO band", "n_nails": "nails", "regions_from": "nails from", "message": "message"}
    def __init__(self, bundle: Bundle):
        if bundle.task != "hb-nails":
            raise ValueError(f"{bundle.path}: bundle is for task {bundle.task!r}, not hb-nails")
        self.bundle = bundle
        self.crop_size = int(bundle.manifest["region"]["crop_size"])
        self.half_width = float(bundle.manifest["uncertainty"]["half_width"])
        self.detector_rules = bundle.manifest.get("detector")
        self.detector = self._load_detector()

    def _load_detector(self) -> OnnxDetector | None:
        if self.detector_rules is None:
            return None
        return OnnxDetector(self.bundle.session("detector"), tuple(self.detector_rules["classes"]))

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

    def predict_sample(self, sample: Sample, rgb: np.ndarray, **population) -> dict[str, Any]:
        return self.predict(rgb, sample.boxes.get("nail"), sample.boxes.get("skin"), sample.image_id, **population).to_row()

    def predict(self, rgb: np.ndarray, nail_boxes: list[Box] | None = None, skin_boxes: list[Box] | None = None, image_id: str = "", **population) -> HbResult:
        """From annotated boxes when given; otherwise the detector finds the nails, unless the photo
        fails the quality gate, in which case the result is a refusal with tips and no number."""
        if nail_boxes:
            return self._estimate(rgb, list(nail_boxes), list(skin_boxes or []), None, image_id, "annotated", population)
        if self.detector is None:
            return _refusal(image_id, QualityVerdict(False, ["no_boxes"], [NO_DETECTOR_TIP]))
        rules = self.detector_rules
        found, verdict = find_nails(rgb, lambda: self.detector.detect(rgb, rules["score_threshold"], rules["iou_threshold"]), rules)
        if found is None:
            return _refusal(image_id, verdict)
        return self._estimate(rgb, found.nail_boxes, found.skin_boxes, found.scores, image_id, "detector", population)

    def _estimate(self, rgb, nail_boxes, skin_boxes, scores, image_id, regions_from, population) -> HbResult:
        per_nail, skins = self.per_nail(rgb, nail_boxes, skin_boxes)
        hb = float(np.median(per_nail))
        scores = scores or [None] * len(nail_boxes)
        return HbResult(
            image_id,
            "ok",
            regions_from=regions_from,
            hb=hb,
            interval=(hb - self.half_width, hb + self.half_width),
            nails=[NailEstimate(tuple(b), tuple(s), float(v), score) for b, s, v, score in zip(nail_boxes, skins, per_nail, scores)],
            interpretation=interpret_estimate(hb, **population).to_dict(),
        )


def find_nails(rgb: np.ndarray, detect: Callable[[], list[Detection]], rules: dict[str, Any]) -> tuple[DetectedRegions | None, QualityVerdict]:
    """The first stage's gates, in order: the photo's quality (before any detection is paid for), the
    detector's confidence, then the nails to estimate. `rules` is the bundle's detector entry."""
    verdict = assess_photo(rgb)
    if not verdict.ok:
        return None, verdict
    detections = detect()
    verdict = gate_detections(detections, rules["score_threshold"])
    if not verdict.ok:
        return None, verdict
    return detections_to_regions(detections, rules["score_threshold"], rules["max_nails"]), verdict


def _refusal(image_id: str, verdict: QualityVerdict) -> HbResult:
    return HbResult(image_id, "refused", regions_from="", reasons=verdict.reasons, tips=verdict.tips)
