"""Fingernail Hb at inference: regions → ONNX per nail → median → conformal interval → WHO band."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from vitalens import DISCLAIMER
from vitalens.data.samples import Box
from vitalens.interpretation import interpret_hb
from vitalens.regions.nails import nail_regions, region_inputs
from vitalens.runtime.bundle import Bundle

MEAN_PREDICTOR_CAVEAT = (
    "Under leave-one-session-out validation this model's MAE was {model:.2f} g/dL against {baseline:.2f} g/dL for "
    "always predicting the training mean: the estimate is only modestly better than a population average."
)


@dataclass
class NailEstimate:
    box: Box
    skin_box: Box
    hb: float


@dataclass
class HbResult:
    image_id: str
    status: str  # "ok" or "refused"
    hb: float | None = None
    interval: tuple[float, float] | None = None
    nails: list[NailEstimate] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    tips: list[str] = field(default_factory=list)
    interpretation: dict[str, Any] | None = None
    disclaimer: str = DISCLAIMER

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class NailHbPredictor:
    def __init__(self, bundle: Bundle):
        if bundle.task != "hb-nails":
            raise ValueError(f"{bundle.path}: bundle is for task {bundle.task!r}, not hb-nails")
        self.bundle = bundle
        self.crop_size = int(bundle.manifest["region"]["crop_size"])
        self.half_width = float(bundle.manifest["uncertainty"]["half_width"])

    @property
    def caveat(self) -> str:
        validation = self.bundle.manifest["validation"]
        return MEAN_PREDICTOR_CAVEAT.format(model=validation["model"]["mae"], baseline=validation["mean_predictor"]["mae"])

    def per_nail(self, rgb: np.ndarray, nail_boxes: list[Box], skin_boxes: list[Box]) -> tuple[np.ndarray, list[Box]]:
        regions = nail_regions(rgb, nail_boxes, skin_boxes, self.crop_size)
        session = self.bundle.session()
        feeds = region_inputs(regions)
        (hb,) = session.run(None, {graph_input.name: feeds[graph_input.name] for graph_input in session.get_inputs()})
        return hb.astype(np.float64), regions.skin_boxes

    def predict(self, rgb: np.ndarray, nail_boxes: list[Box] | None, skin_boxes: list[Box] | None = None, image_id: str = "", **population) -> HbResult:
        if not nail_boxes:
            return HbResult(
                image_id,
                "refused",
                reasons=["no nail regions: this photo has no annotated nail boxes and no nail was detected"],
                tips=["Place three fingernails flat on the white card, fill the frame, and photograph in even daylight."],
            )
        per_nail, skins = self.per_nail(rgb, nail_boxes, skin_boxes or [])
        hb = float(np.median(per_nail))
        return HbResult(
            image_id,
            "ok",
            hb=hb,
            interval=(hb - self.half_width, hb + self.half_width),
            nails=[NailEstimate(tuple(b), tuple(s), float(v)) for b, s, v in zip(nail_boxes, skins, per_nail)],
            interpretation=interpret_hb(float(np.clip(hb, 0.5, 25.0)), **population).to_dict(),
        )
