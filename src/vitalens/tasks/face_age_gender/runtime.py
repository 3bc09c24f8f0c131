"""Age and gender from face photos with the shipped ONNX bundle. Serving world: no torch.

`FacePredictor(bundle).predict_sample(sample, rgb)` gives one row per image with the columns the CLI
writes (`image_id,predicted_age,predicted_gender,probability_female,problem`, `image_id` the file
name); an image that cannot be used (no face, several faces, no detector for a full photo) gets its
reason in `problem` instead of a guess.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from vitalens.data.samples import Sample
from vitalens.tasks.face_age_gender.regions import FaceRegionError, find_face
from vitalens.bundle import Bundle

COLUMNS = ("image_id", "predicted_age", "predicted_gender", "probability_female", "problem")


class FacePredictor:
    display_columns = {"image_id": "image", "predicted_age": "age", "predicted_gender": "gender", "probability_female": "P(female)", "problem": "problem"}

    def __init__(self, bundle: Bundle, detector=None):
        if bundle.task != "face-age-gender":
            raise ValueError(f"{bundle.path}: bundle is for task {bundle.task!r}, not face-age-gender")
        self.card = bundle.manifest
        self.session = bundle.session()
        self.size = int(self.session.get_inputs()[0].shape[-1])
        self.classes = self.card["outputs"]["gender_logits"]["classes"]
        self.temperature = float(self.card.get("temperature", 1.0))
        self.detector = detector

    @property
    def caveat(self) -> str:
        m = self.card["metrics"]
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

    def predict_crops(self, crops: list[np.ndarray]) -> list[dict]:
        """Aligned RGB face crops (any size) -> predicted age (years), gender and calibrated P(female)."""
        logits, ages = self.raw_outputs(crops)
        scaled = logits / self.temperature
        probabilities = np.exp(scaled - scaled.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        return [
            {"predicted_age": round(float(age), 1), "predicted_gender": self.classes[int(p.argmax())], "probability_female": round(float(p[1]), 4)}
            for age, p in zip(ages, probabilities)
        ]

    def predict_sample(self, sample: Sample, rgb: np.ndarray, **_population) -> dict:
        row = {"image_id": sample.image_path.name, "predicted_age": None, "predicted_gender": None, "probability_female": None, "problem": ""}
        try:
            crop = find_face(rgb, source=str(sample.image_path), detector=self.detector)
        except FaceRegionError as error:
            return {**row, "problem": str(error)}
        return {**row, **self.predict_crops([crop])[0]}
