"""Skin condition at inference: centre crop → ONNX → top-3 conditions and the coarse benign / malignant /
non-neoplastic view, lighting verdict + tip and heat map; a photo unlike the clinical close-ups the model
learned from (its typicality above the bundle's threshold), or one the skin check on the same pooled
features finds is not a skin close-up (`site_logit` under its threshold: a lip photo, a face, a nail; fitted
by vitalens.tasks.skin_condition.skin_check_fit), is refused with the reason and a tip, no labels, because
the conditions the network names for such a photo are unreliable.

numpy, Pillow and onnxruntime only. The graph applies colour calibration, normalisation and the
temperature itself; this module crops, runs it and words the answer as a `vitalens.results.Prediction`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vitalens import DISCLAIMER
from vitalens.bundle import Bundle
from vitalens.data.samples import Sample
from vitalens.regions.centre_crop import centre_crop_resized
from vitalens.results import OK, Prediction, refused, too_small
from vitalens.tasks.skin_condition import TASK
from vitalens.tasks.skin_condition.lighting import assess_lighting

TOP_K = 3
HEATMAP_DECIMALS = 3
TIP_POOR_LIGHT = "poor lighting: retake in even daylight, without flash, holding the phone steady"
ATYPICAL = "unlike the clinical close-ups this model learned from (photo check {typicality:.2f} > {threshold:.2f})"
TIP_ATYPICAL = "photograph the affected skin close up, filling the frame"
NOT_SKIN = "not a skin close-up like the ones this model learned from (skin check {score:.2f} < {threshold:.2f})"
HEATMAP_OVER = "centre crop (see the bundle's inputs.image.preprocessing)"


class SkinPredictor:
    columns = ("label_1", "prob_1", "label_2", "prob_2", "label_3", "prob_3", "lighting", "lighting_tip")
    display_columns = ("label_1", "prob_1", "label_2", "label_3", "lighting", "lighting_tip")

    def __init__(self, bundle: Bundle):
        if bundle.task != TASK.name:
            raise ValueError(f"{bundle.path}: bundle is for task {bundle.task!r}, not {TASK.name}")
        self.bundle = bundle
        self.labels = list(bundle.manifest["labels"])
        self.size = int(bundle.manifest["inputs"]["image"]["size"])
        self.crop_fraction = float(bundle.manifest["inputs"]["image"]["crop_fraction"])
        self.threshold = float(bundle.manifest["lighting"]["threshold"])
        self.typicality_threshold = float(bundle.manifest["outputs"]["typicality"]["threshold"])
        skin_check = bundle.manifest["outputs"].get("site_logit")  # a graph exported before the skin check has none
        self.skin_check_threshold = float(skin_check["threshold"]) if skin_check else None
        self.partition_of_label = [bundle.manifest["three_partition"][label] for label in self.labels]

    @property
    def caveat(self) -> str:
        metrics = self.bundle.manifest["metrics"]
        models = metrics["models"]
        shipped = models[metrics["shipped"]]
        majority, frozen = models["majority class (train)"], models["frozen Lite0 + logistic"]
        return (
            f"On {metrics['n']} held-out clinical photos the top label was right {shipped['top1']:.1%} of the time and the right one was "
            f"among the three listed {shipped['top3']:.1%} (always the most common condition: {majority['top1']:.1%}; a frozen ImageNet "
            f"network with a logistic head: {frozen['top1']:.1%})."
        )

    def predict_image(self, rgb: np.ndarray, image_id: str, sample: Sample | None = None, **population: Any) -> Prediction:
        """The contract's answer for one photo: top-3 and lighting in columns, the rest in details; a photo
        too small for any task (vitalens.results.too_small, which also covers the centre crop's 2 px) or one the
        photo check finds atypical is refused."""
        rgb = np.asarray(rgb)
        return too_small(rgb, image_id) or self.prediction(image_id, self.predict(rgb, image_id))

    def predict_batch(self, items: list[tuple[np.ndarray, str, Sample | None]], **population: Any) -> list[Prediction]:
        """predict_image for several photos with one run of the graph (vitalens.runtime.predict_many)."""
        results: list[Prediction | None] = [too_small(np.asarray(rgb), image_id) for rgb, image_id, _ in items]
        todo = [k for k, result in enumerate(results) if result is None]
        if todo:
            crops = np.stack([self.crop(np.asarray(items[k][0])) for k in todo])
            for row, (k, outputs) in enumerate(zip(todo, zip(*self.run(crops)))):
                results[k] = self.prediction(items[k][1], self.describe(items[k][1], crops[row], *outputs))
        return results  # type: ignore[return-value]

    def crop(self, rgb: np.ndarray) -> np.ndarray:
        """The network's input for a photo: the bundle's centre crop at its size, [S, S, 3] uint8."""
        return centre_crop_resized(rgb, self.size, self.crop_fraction)

    def run(self, crops: np.ndarray) -> tuple[np.ndarray, ...]:
        """[B, S, S, 3] uint8 crops → (probabilities [B, C], P(good lighting) [B], maps [B, C, h, w], typicality [B]),
        then the skin check's logit [B] when the graph has one."""
        image = np.ascontiguousarray(crops.transpose(0, 3, 1, 2), dtype=np.float32) / 255.0
        return tuple(self.bundle.session().run(None, {"image": image}))

    def predict(self, rgb: np.ndarray, image_id: str = "") -> dict[str, Any]:
        """Everything the graph says about one photo, in words (the heat map as an array)."""
        crop = self.crop(rgb)
        return self.describe(image_id, crop, *(out[0] for out in self.run(crop[None])))

    def describe(self, image_id: str, crop: np.ndarray, probabilities: np.ndarray, lighting: np.ndarray, cam: np.ndarray,
                 typicality: np.ndarray, site_logit: np.ndarray | None = None) -> dict[str, Any]:  # fmt: skip
        """One photo's graph outputs worded: top-3, coarse view, lighting verdict and tip, photo check and its score,
        the skin check's score (None without one), heat map.
        Separate from `predict` so a batch run through the graph (the held-out evaluation) words each photo alike."""
        order = np.argsort(-probabilities)[:TOP_K]
        good = bool(lighting >= self.threshold)
        typical = bool(typicality <= self.typicality_threshold)
        tip = "" if good else (assess_lighting(crop).tip or TIP_POOR_LIGHT)
        return {
            "image_id": image_id,
            "top": [{"label": self.labels[i], "probability": float(probabilities[i])} for i in order],
            "three_partition": self.partition_probabilities(probabilities),
            "lighting": "good" if good else "poor",
            "lighting_probability_good": float(lighting),
            "lighting_tip": tip,
            "photo_check": "typical" if typical else "atypical",
            "typicality": float(typicality),
            "skin_check": None if site_logit is None or self.skin_check_threshold is None else float(site_logit),
            "heatmap": cam[order[0]],  # Grad-CAM of the top label, h x w in [0, 1], over the centre crop
            "disclaimer": DISCLAIMER,
        }

    def prediction(self, image_id: str, result: dict[str, Any]) -> Prediction:
        """`describe`'s answer as the contract's Prediction: flat CSV columns, the rest (heat map rounded) in details;
        a photo the skin check refuses, or an atypical one, is refused with the reason and the retake tip, keeping only
        that check's score (no labels)."""
        score = result.get("skin_check")
        if score is not None and not score >= self.skin_check_threshold:
            reason = NOT_SKIN.format(score=score, threshold=self.skin_check_threshold)
            return refused(image_id, [reason], [TIP_ATYPICAL], skin_check=score)
        if result["photo_check"] == "atypical":
            reason = ATYPICAL.format(typicality=result["typicality"], threshold=self.typicality_threshold)
            return refused(image_id, [reason], [TIP_ATYPICAL], typicality=result["typicality"])
        columns: dict[str, Any] = {}
        for rank, entry in enumerate(result["top"], start=1):
            columns[f"label_{rank}"] = entry["label"]
            columns[f"prob_{rank}"] = round(entry["probability"], 4)
        columns.update({key: result[key] for key in ("lighting", "lighting_tip")})
        heatmap = {"label": result["top"][0]["label"], "over": HEATMAP_OVER,
                   "values": np.round(result["heatmap"].astype(float), HEATMAP_DECIMALS).tolist()}  # fmt: skip
        details = {key: result[key] for key in ("top", "three_partition", "lighting_probability_good", "typicality")}
        if score is not None:
            details["skin_check"] = score
        return Prediction(image_id, OK, columns=columns, details={**details, "heatmap": heatmap})

    def partition_probabilities(self, probabilities: np.ndarray) -> list[dict[str, Any]]:
        """The coarse view (benign / malignant / non-neoplastic): each partition's summed probability, largest first."""
        totals: dict[str, float] = {}
        for partition, probability in zip(self.partition_of_label, probabilities):
            totals[partition] = totals.get(partition, 0.0) + float(probability)
        return [{"partition": name, "probability": total} for name, total in sorted(totals.items(), key=lambda item: (-item[1], item[0]))]
