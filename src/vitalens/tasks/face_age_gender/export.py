"""ONNX exports of a trained face model: the bundle's own graph and the seed-compatible graph.

Both take RGB pixels scaled to [0, 1] as float32 NCHW [B, 3, 112, 112] (resize the aligned face crop
to 112x112, divide by 255); the backbone's normalisation is inside the graph, so consumers never
need to know it.
- bundle: input `image` -> `gender_logits` [B, 2] (male, female) and `age_years` [B].
- compat (the seed's contract): input `input` -> `output` [B, 3] = male logit, female logit, age / 100.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from vitalens.backbones import count_parameters
from vitalens.bundle import write_bundle
from vitalens.tasks.face_age_gender import TASK
from vitalens.tasks.face_age_gender.card import render_face_model_card
from vitalens.tasks.face_age_gender.data import GENDERS
from vitalens.tasks.face_age_gender.model import AGE_SCALE, INPUT_SIZE, FaceNet, describe_face_model

BUNDLE_INPUT, BUNDLE_OUTPUTS = "image", ("gender_logits", "age_years")
COMPAT_INPUT, COMPAT_OUTPUT = "input", "output"


class _Normalised(nn.Module):
    def __init__(self, model: FaceNet):
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.tensor(model.prep.mean))
        self.register_buffer("std", torch.tensor(model.prep.std))

    def run(self, unit_rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model((unit_rgb - self.mean) / self.std)


class BundleGraph(_Normalised):
    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        gender_logits, age_scaled = self.run(image)
        return gender_logits, age_scaled * AGE_SCALE


class CompatGraph(_Normalised):
    def forward(self, image: torch.Tensor) -> torch.Tensor:
        gender_logits, age_scaled = self.run(image)
        return torch.cat([gender_logits, age_scaled.unsqueeze(1)], dim=1)


def export_face_onnx(model: FaceNet, path: str | Path, compat: bool = False) -> Path:
    """Write the bundle graph (or, with compat=True, the seed-contract graph) with a dynamic batch axis."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    graph = (CompatGraph(model) if compat else BundleGraph(model)).eval()
    input_name = COMPAT_INPUT if compat else BUNDLE_INPUT
    output_names = [COMPAT_OUTPUT] if compat else list(BUNDLE_OUTPUTS)
    example = torch.rand(2, 3, INPUT_SIZE, INPUT_SIZE)
    torch.onnx.export(
        graph, (example,), str(path), input_names=[input_name], output_names=output_names,
        dynamic_axes={input_name: {0: "batch"}, **{name: {0: "batch"} for name in output_names}},
        opset_version=17, dynamo=False,
    )  # fmt: skip
    return path


def onnx_torch_gap(model: FaceNet, path: str | Path, compat: bool = False, batch: int = 3, seed: int = 0) -> float:
    """Largest absolute difference between ONNX Runtime and torch outputs on random [0, 1] images."""
    import onnxruntime as ort

    images = torch.rand(batch, 3, INPUT_SIZE, INPUT_SIZE, generator=torch.Generator().manual_seed(seed))
    graph = (CompatGraph(model) if compat else BundleGraph(model)).eval()
    with torch.no_grad():
        expected = graph(images)
    expected = [expected] if compat else list(expected)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: images.numpy()})
    return float(max(np.abs(e.numpy() - g).max() for e, g in zip(expected, got)))


def write_face_bundle(model: FaceNet, backbone: str, report: dict, bundle_dir: str | Path) -> Path:
    """model.onnx (refused over MAX_BUNDLED_MB), bundle.json and MODEL_CARD.md from the run's held-out report
    (`vitalens.tasks.face_age_gender.evaluation.evaluate_face_run`), through the one bundle writer."""
    onnx_path = export_face_onnx(model, Path(bundle_dir) / "model.onnx")
    stage = {"backbone": backbone, "parameters": count_parameters(model), "description": describe_face_model(backbone)}
    fields = {
        "inputs": {
            BUNDLE_INPUT: {"shape": ["batch", 3, INPUT_SIZE, INPUT_SIZE], "range": [0, 1], "colour": "sRGB", "layout": "NCHW",
                           "preprocessing": "aligned face crop (vitalens.tasks.face_age_gender.regions.find_face), resized to 112x112 bilinear, x / 255",
                           "normalisation_inside_graph": model.prep.as_dict()},
        },
        "outputs": {
            "gender_logits": {"shape": ["batch", 2], "classes": list(GENDERS), "unit": "logit", "calibration": "divide by temperature, then softmax"},
            "age_years": {"shape": ["batch"], "unit": "years"},
        },
        "temperature": report["calibration"]["temperature"],
        "metrics": {
            "split": report["split"], "n": report["n_test"],
            "gender_accuracy": report["gender"]["accuracy"], "age_mae_years": report["age"]["mae"],
            "age_median_ae_years": report["age"]["median_ae"], "ece_after_temperature": report["calibration"]["ece_after"],
            "baselines": report["baselines"],
        },
        "training_data": "UTKFace (Zhang, Song & Qi, CVPR 2017), non-commercial research use only; the weights inherit that restriction",
        "limitations": [report["limitation"], "trained on aligned, cropped faces: photos need a face detector first (vitalens.tasks.face_age_gender.regions)"],
    }  # fmt: skip
    return write_bundle(bundle_dir, TASK.name, {"model": (onnx_path, stage)}, fields, lambda manifest: render_face_model_card(manifest, report))
