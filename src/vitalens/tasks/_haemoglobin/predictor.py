"""What every Hb task's predictor shares (serving world): the bundle's task checked, its interval rule
read once, the WHO demographics checked before any inference, and the several-photo aggregate; and, for
tasks whose model is a linear head on numpy features (lips, conjunctiva), running that head."""

from __future__ import annotations

from typing import Any

import numpy as np

from vitalens.bundle import Bundle
from vitalens.results import Prediction
from vitalens.tasks._haemoglobin import response


class HbPredictor:
    task_name: str  # the task whose bundles this predictor reads (set by each task's subclass)

    def __init__(self, bundle: Bundle):
        if bundle.task != self.task_name:
            raise ValueError(f"{bundle.path}: bundle is for task {bundle.task!r}, not {self.task_name}")
        self.bundle = bundle
        self.uncertainty = response.uncertainty_block(bundle.manifest)

    def validate_population(self, population: dict[str, Any]) -> None:
        response.validate_population(population)

    def aggregate(self, predictions: list[Prediction], population: dict[str, Any]) -> dict[str, Any] | None:
        return response.hb_aggregate(self.uncertainty, predictions, population)


class FeatureHeadHbPredictor(HbPredictor):
    """An Hb predictor whose bundle's model maps rows of `inputs.features.names` values to Hb."""

    def __init__(self, bundle: Bundle):
        super().__init__(bundle)
        self.feature_names = tuple(bundle.manifest["inputs"]["features"]["names"])

    def predict_features(self, features: np.ndarray) -> np.ndarray:
        """Hb (g/dL) for rows of `inputs.features.names` values."""
        (hb,) = self.bundle.session().run(None, {"features": np.asarray(features, np.float32).reshape(-1, len(self.feature_names))})
        return hb.astype(np.float64)
