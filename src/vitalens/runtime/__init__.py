"""The serving world: bundles under onnxruntime, numpy and Pillow; never torch, never training code.

`load_predictor(bundle_or_task)` gives the predictor for a bundle's task. Every predictor has
`predict_sample(sample, rgb, **population) -> dict` (one line of predictions.csv) and `caveat`
(how the model compares with the trivial baseline, printed beside every batch of estimates).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from vitalens.runtime.bundle import Bundle, BundleError, load_bundle, shipped_bundle_path
from vitalens.runtime.face_age_gender import FacePredictor
from vitalens.runtime.hb_lips import LipHbPredictor
from vitalens.runtime.hb_nails import NailHbPredictor
from vitalens.runtime.skin import SkinPredictor

PREDICTORS: dict[str, Callable[[Bundle], Any]] = {
    "hb-nails": NailHbPredictor,
    "face-age-gender": FacePredictor,
    "hb-lips": LipHbPredictor,
    "skin-condition": SkinPredictor,
}


def load_predictor(model: str | Path | None = None, task: str = "hb-nails") -> Any:
    """The predictor for a bundle folder or .zip, or for the bundle shipped for `task` when no model is given."""
    bundle = load_bundle(model if model is not None else shipped_bundle_path(task))
    if bundle.task not in PREDICTORS:
        raise BundleError(f"{bundle.path}: no runtime for task {bundle.task!r}; this vitalens serves {sorted(PREDICTORS)}.")
    return PREDICTORS[bundle.task](bundle)


__all__ = ["Bundle", "BundleError", "PREDICTORS", "load_bundle", "load_predictor", "shipped_bundle_path"]
