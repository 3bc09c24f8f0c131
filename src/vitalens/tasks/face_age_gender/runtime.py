"""Age and gender from face photos with the shipped ONNX bundle. Serving world: no torch.

`FacePredictor(bundle).predict_image(rgb, image_id)` gives a `vitalens.results.Prediction` with the
columns `predicted_age`, `predicted_gender` and `probability_female`, for the one face the bundle's
detector finds, aligned like the training crops (regions.find_face; crops and full photos alike). A
photo the model cannot use (no face, several faces unless `face="largest"`, a face too small, turned or
tilted) is refused, with the reason and a tip for the next photo and no estimate, because an age or gender guessed for the wrong face is worse than none; so is
an age outside the plausible 0-120 years (the rules file's input_limits), which is refused, not clipped.
`predict_crops` and `raw_outputs` are the same path without the face finder, for crops fed directly
(the held-out evaluation and the parity checks use them); `locate` gives the aligned crop and its face.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from vitalens.bundle import Bundle
from vitalens.data.samples import Sample
from vitalens.plausibility import IMPLAUSIBLE_TIP, implausible_estimate
from vitalens.results import OK, Prediction, refused
from vitalens.tasks.face_age_gender import TASK
from vitalens.regions.faces import Face
from vitalens.tasks.face_age_gender.age_interval import interval as age_interval
from vitalens.tasks.face_age_gender.regions import CHOICES, FaceRegionError, detector_sessions, find_face

COLUMNS = ("predicted_age", "age_low", "age_high", "predicted_gender", "probability_female")
RETAKE = "front-on, one face, well lit, from forehead to chin"


class FacePredictor:
    columns = COLUMNS
    display_columns = COLUMNS

    def __init__(self, bundle: Bundle, face: str = "one"):
        if bundle.task != TASK.name:
            raise ValueError(f"{bundle.path}: bundle is for task {bundle.task!r}, not {TASK.name}")
        self.bundle, self.manifest = bundle, bundle.manifest
        self.session = bundle.session()
        self.size = int(self.session.get_inputs()[0].shape[-1])
        self.classes = self.manifest["outputs"]["gender_logits"]["classes"]
        self.temperature = float(self.manifest.get("temperature", 1.0))
        if face not in CHOICES:
            raise ValueError(f"face={face!r}: expected one of {CHOICES}")
        self.face, self.detector = face, detector_sessions(bundle)

    @property
    def caveat(self) -> str:
        m = self.manifest["metrics"]
        return (
            f"On held-out UTKFace crops ({m['n']} images) this model's gender accuracy was {m['gender_accuracy']:.1%} "
            f"(always guessing {m['baselines']['majority_gender']}: {m['baselines']['majority_gender_accuracy']:.1%}) and its age MAE "
            f"{m['age_mae_years']:.1f} years (always the training mean: {m['baselines']['mean_age_mae']:.1f})."
        )

    def raw_outputs(self, crops: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Aligned RGB face crops (any size) -> uncalibrated gender logits [N, 2] (male, female) and ages [N] in years."""
        batch = np.stack([np.asarray(Image.fromarray(c).resize((self.size, self.size), Image.BILINEAR)) for c in crops])
        image = batch.transpose(0, 3, 1, 2).astype(np.float32) / 255.0
        logits, ages = self.session.run(None, {self.session.get_inputs()[0].name: image})
        return logits, ages

    def predict_crops(self, crops: list[np.ndarray]) -> list[dict[str, Any]]:
        """Aligned RGB face crops (any size) -> predicted age (years), gender and calibrated P(female)."""
        logits, ages = self.raw_outputs(crops)
        scaled = logits / self.temperature
        probabilities = np.exp(scaled - scaled.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        return [
            {"predicted_age": round(float(age), 1), "predicted_gender": self.classes[int(p.argmax())], "probability_female": round(float(p[1]), 4)}
            for age, p in zip(ages, probabilities)
        ]

    def locate(self, rgb: np.ndarray) -> tuple[np.ndarray, Face]:
        """(the aligned crop the model reads, the detected face) or FaceRegionError."""
        return find_face(rgb, self.detector, self.manifest["alignment"], self.face)

    def predict_image(self, rgb: np.ndarray, image_id: str, sample: Sample | None = None, **population: Any) -> Prediction:
        """One photo: the estimate for its one face, or a refusal saying why there is none (the
        population fields, age and sex, are what this model estimates, so it takes none)."""
        return self.predict_batch([(rgb, image_id, sample)])[0]

    def predict_batch(self, items: list[tuple[np.ndarray, str, Sample | None]], **population: Any) -> list[Prediction]:
        """predict_image for several photos: the detector photo by photo, the model once on all their faces."""
        results: list[Prediction | None] = [None] * len(items)
        found = []
        for k, (rgb, image_id, _) in enumerate(items):
            try:
                found.append((k, *self.locate(rgb)))
            except FaceRegionError as error:
                results[k] = refused(image_id, [error.reason], [error.tip])
        estimates = self.predict_crops([crop for _, crop, _ in found]) if found else []
        for (k, _, face), estimate in zip(found, estimates):
            results[k] = self._answer(items[k][1], estimate, face)
        return results  # type: ignore[return-value]

    def _answer(self, image_id: str, estimate: dict[str, Any], face: Face) -> Prediction:
        reason = implausible_estimate("age_years", estimate["predicted_age"], "years")
        if reason is not None:
            return refused(image_id, [reason], [IMPLAUSIBLE_TIP.format(how=RETAKE)])
        if "age_interval" in self.manifest:  # a bundle fitted before the interval existed has none
            low, high = age_interval(np.array([estimate["predicted_age"]]), self.manifest["age_interval"])
            bounds = {"age_low": round(float(low[0]), 1), "age_high": round(float(high[0]), 1)}
            estimate = {name: {**estimate, **bounds}[name] for name in COLUMNS}
        details = {"face_box": [round(v, 1) for v in face.box], "face_score": round(face.score, 4), "landmarks": np.round(face.landmarks, 1).tolist()}
        return Prediction(image_id, OK, columns=estimate, details=details)
