"""ONNX exports of a trained face model: the bundle's own graph and the seed-compatible graph.

Both take RGB pixels scaled to [0, 1] as float32 NCHW [B, 3, 112, 112] (resize the aligned face crop
to 112x112, divide by 255); the backbone's normalisation is inside the graph, so consumers never
need to know it.
- bundle: input `image` -> `gender_logits` [B, 2] (male, female) and `age_years` [B].
- compat (the seed's contract): input `input` -> `output` [B, 3] = female logit, male logit, age / 100
  (the seed card's client reads `"Male" if argmax(output[0][:2]) == 1`). `compat_from_bundle_onnx` builds
  it from a shipped model.onnx by graph edits alone, so the compat stage is the shipped model, not a retrain.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from vitalens.backbones import count_parameters
from vitalens.bundle import load_bundle, shipped_bundle_path, write_bundle
from vitalens.tasks.face_age_gender import TASK
from vitalens.tasks.face_age_gender.card import bundle_metrics, render_face_model_card
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
        female_first = gender_logits[:, [GENDERS.index("female"), GENDERS.index("male")]]
        return torch.cat([female_first, age_scaled.unsqueeze(1)], dim=1)


def compat_from_bundle_onnx(model_onnx: str | Path, path: str | Path) -> Path:
    """The seed-contract graph around a bundle graph: rename `image` to `input`, reorder the logits to
    (female, male), divide the age by AGE_SCALE, concatenate into `output` [B, 3]. The weights are untouched."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(str(model_onnx))
    graph = model.graph
    for node in graph.node:
        node.input[:] = [COMPAT_INPUT if name == BUNDLE_INPUT else name for name in node.input]
    graph.input[0].name = COMPAT_INPUT
    logits, age = BUNDLE_OUTPUTS
    order = [GENDERS.index("female"), GENDERS.index("male")]
    graph.initializer.extend([
        helper.make_tensor("compat_order", TensorProto.INT64, [2], order),
        helper.make_tensor("compat_age_scale", TensorProto.FLOAT, [], [float(AGE_SCALE)]),
        helper.make_tensor("compat_axis", TensorProto.INT64, [1], [1]),
    ])  # fmt: skip
    graph.node.extend([
        helper.make_node("Gather", [logits, "compat_order"], ["compat_logits"], axis=1),
        helper.make_node("Div", [age, "compat_age_scale"], ["compat_age"]),
        helper.make_node("Unsqueeze", ["compat_age", "compat_axis"], ["compat_age_column"]),
        helper.make_node("Concat", ["compat_logits", "compat_age_column"], [COMPAT_OUTPUT], axis=1),
    ])  # fmt: skip
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info(COMPAT_OUTPUT, TensorProto.FLOAT, ["batch", 3]))
    onnx.checker.check_model(model)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return Path(path)


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
    compat = compat_from_bundle_onnx(onnx_path, Path(bundle_dir) / "model_compat.onnx")
    detector_stages, detector_fields = shipped_detector()
    fields = {
        "inputs": {
            BUNDLE_INPUT: {"shape": ["batch", 3, INPUT_SIZE, INPUT_SIZE], "range": [0, 1], "colour": "sRGB", "layout": "NCHW",
                           "preprocessing": "the face found by the bundled detector, aligned to `alignment` (vitalens.tasks.face_age_gender.regions.find_face), resized to 112x112 bilinear, x / 255",
                           "normalisation_inside_graph": model.prep.as_dict()},
        },
        "outputs": {
            "gender_logits": {"shape": ["batch", 2], "classes": list(GENDERS), "unit": "logit", "calibration": "divide by temperature, then softmax"},
            "age_years": {"shape": ["batch"], "unit": "years"},
        },
        "temperature": report["calibration"]["temperature"],
        "metrics": bundle_metrics(report),
        "training_data": "UTKFace (Zhang, Song & Qi, CVPR 2017), non-commercial research use only; the weights inherit that restriction",
        "limitations": [report["limitation"], LIMITATION],
        **detector_fields,
    }  # fmt: skip
    stages = {"model": (onnx_path, stage), **detector_stages, "compat": (compat, {"description": COMPAT_DESCRIPTION, "browser": False})}
    return write_bundle(bundle_dir, TASK.name, stages, fields, lambda manifest: render_face_model_card(manifest, report))


COMPAT_DESCRIPTION = (f"the seed's contract: input `{COMPAT_INPUT}` [B,3,112,112] RGB / 255, output `{COMPAT_OUTPUT}` [B,3] = "
                      "[female logit, male logit, age / 100]; model.onnx's graph with its outputs reordered")  # fmt: skip
DETECTOR_FIELDS = ("alignment", "face_limits")
LIMITATION = "every photo, crops included, goes through the detector and alignment first; a crop it refuses gets no estimate (the evaluation counts them as not answered; benchmarks/face_photos.py measures photo-sized scenes)"


def shipped_detector() -> tuple[dict[str, tuple[Path, dict]], dict]:
    """The shipped face bundle's detector stages and alignment fields: the detector does not depend on the
    face model, so every exported bundle carries the same one (put there by detector_export)."""
    shipped = load_bundle(shipped_bundle_path(TASK.name))
    stages = {name: (shipped.path / shipped.manifest[name]["file"], {k: v for k, v in shipped.manifest[name].items() if k not in ("file", "sha256")})
              for name in shipped.stages() if name.startswith("detector_")}  # fmt: skip
    return stages, {key: shipped.manifest[key] for key in DETECTOR_FIELDS}
