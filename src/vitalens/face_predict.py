"""Age and gender from face photos with the shipped ONNX bundle. Serving world: no torch.

`FacePredictor(bundle_dir).predict_folder(folder)` gives one row per image with the columns the CLI
writes (`image_id,predicted_age,predicted_gender,probability_female,problem`); an image that cannot
be used (undecodable, no face, several faces, no detector for a full photo) gets its reason in
`problem` instead of a guess.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from vitalens.imaging import ImageDecodeError, decode_image, list_images
from vitalens.regions.faces import FaceRegionError, find_face

DEFAULT_BUNDLE = Path(__file__).resolve().parent / "bundles" / "face-age-gender"
COLUMNS = ("image_id", "predicted_age", "predicted_gender", "probability_female", "problem")


class FacePredictor:
    def __init__(self, bundle_dir: str | Path = DEFAULT_BUNDLE, detector=None):
        import onnxruntime as ort

        bundle_dir = Path(bundle_dir)
        card_path = bundle_dir / "bundle.json"
        if not card_path.is_file():
            raise FileNotFoundError(f"{card_path}: missing; the face bundle needs bundle.json and model.onnx (train one with `vitalens train --task face-age-gender`).")
        self.card = json.loads(card_path.read_text())
        self.session = ort.InferenceSession(str(bundle_dir / self.card["model"]["file"]), providers=["CPUExecutionProvider"])
        self.size = int(self.session.get_inputs()[0].shape[-1])
        self.classes = self.card["outputs"]["gender_logits"]["classes"]
        self.temperature = float(self.card.get("temperature", 1.0))
        self.detector = detector

    def predict_crops(self, crops: list[np.ndarray]) -> list[dict]:
        """Aligned RGB face crops (any size) -> predicted age (years), gender and calibrated P(female)."""
        batch = np.stack([np.asarray(Image.fromarray(c).resize((self.size, self.size), Image.BILINEAR)) for c in crops])
        image = batch.transpose(0, 3, 1, 2).astype(np.float32) / 255.0
        logits, ages = self.session.run(None, {self.session.get_inputs()[0].name: image})
        scaled = logits / self.temperature
        probabilities = np.exp(scaled - scaled.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        return [
            {"predicted_age": round(float(age), 1), "predicted_gender": self.classes[int(p.argmax())], "probability_female": round(float(p[1]), 4)}
            for age, p in zip(ages, probabilities)
        ]

    def predict_file(self, path: Path) -> dict:
        row = {"image_id": path.name, "predicted_age": None, "predicted_gender": None, "probability_female": None, "problem": ""}
        try:
            crop = find_face(decode_image(path).rgb, source=str(path), detector=self.detector)
        except (ImageDecodeError, FaceRegionError) as error:
            return {**row, "problem": str(error)}
        return {**row, **self.predict_crops([crop])[0]}

    def predict_folder(self, folder: str | Path) -> list[dict]:
        folder = Path(folder)
        return [self.predict_file(p) for p in ([folder] if folder.is_file() else list_images(folder))]
