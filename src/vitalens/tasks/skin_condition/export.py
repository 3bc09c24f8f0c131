"""The skin bundle: one ONNX graph (any colour layer or orientation views, normalisation, network,
temperature, Grad-CAM inside), bundle.json and MODEL_CARD.md.

ONNX contract (shared with the browser app): input `image` float32 [B, 3, S, S], RGB in [0, 1] after
the square centre crop (0.8 of the short side) resized to S; outputs `diagnosis_probs` [B, C]
(temperature-scaled softmax), `lighting_good` [B] (P(lighting is good)) and `cam` [B, C, h, w]
(class activation maps, each scaled to [0, 1]).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import torch
from torch import nn

from vitalens.backbones import LITE_MEAN, LITE_STD, count_parameters
from vitalens.bundle import write_bundle
from vitalens.onnx_weights import store_weights_as_float16
from vitalens.regions.centre_crop import CROP_FRACTION
from vitalens.results import jsonable
from vitalens.tasks.skin_condition import TASK
from vitalens.tasks.skin_condition.data import CITATION
from vitalens.tasks.skin_condition.network import SkinNet
from vitalens.tasks.skin_condition.probe import SkinProbe
from vitalens.tasks.skin_condition.typicality import REFERENCE_PERCENTILE

MODEL_FILE = "model.onnx"  # the name the browser app and the bundle index expect
INPUT, OUTPUTS = "image", ("diagnosis_probs", "lighting_good", "cam", "typicality")
TYPICALITY_THRESHOLD = 1.0  # the score is already divided by its reference percentile


class SkinGraph(nn.Module):
    """Either skin model (SkinNet or SkinProbe: both have `explain`) with the temperature and the sigmoid inside."""

    def __init__(self, model: SkinNet | SkinProbe, temperature: float):
        super().__init__()
        if not model.typicality.fitted:
            raise ValueError("the model's typicality check is not fitted: call vitalens.tasks.skin_condition.typicality.fit_typicality on its training features first")
        self.model = model.eval()
        self.register_buffer("temperature", torch.tensor(float(temperature)))

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        logits, lighting, cam, typicality = self.model.explain(image)
        return torch.softmax(logits / self.temperature, dim=1), torch.sigmoid(lighting), cam, typicality


def export_skin_onnx(model: SkinNet | SkinProbe, temperature: float, path: str | Path, float16_weights: bool = True) -> Path:
    """The graph, its large weights stored as float16 unless told otherwise (see `store_weights_as_float16`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    example = torch.rand(2, 3, model.input_size, model.input_size)
    torch.onnx.export(
        SkinGraph(model, temperature), (example,), str(path), input_names=[INPUT], output_names=list(OUTPUTS),
        dynamic_axes={INPUT: {0: "batch"}, **{name: {0: "batch"} for name in OUTPUTS}}, opset_version=17, dynamo=False,
    )  # fmt: skip
    if float16_weights:
        store_weights_as_float16(path)
    return path


def onnx_torch_gap(model: SkinNet | SkinProbe, temperature: float, path: str | Path, batch: int = 2, seed: int = 0) -> dict[str, float]:
    """ONNX Runtime vs torch on random images: the largest absolute difference of each output (relative
    for the typicality score, which is large on random images), and the mean one of the heat maps (a map
    whose largest value is near zero is scaled up to 1, so float16 weights can move single cells of such
    a map a long way while the probabilities move by ~1e-3)."""
    import onnxruntime as ort

    images = torch.rand(batch, 3, model.input_size, model.input_size, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        expected = [e.numpy() for e in SkinGraph(model, temperature)(images)]
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {INPUT: images.numpy()})
    gaps = {name: float(np.abs(e - g).max() / (np.abs(e).max() if name == "typicality" else 1.0)) for name, e, g in zip(OUTPUTS, expected, got)}
    return gaps | {"cam_mean": float(np.abs(expected[2] - got[2]).mean())}


def _weight_storage(path: Path) -> str:
    import onnx

    stored = onnx.load(str(path)).graph.initializer
    return "float16, cast to float32 inside the graph" if any(w.data_type == onnx.TensorProto.FLOAT16 for w in stored) else "float32"


def write_skin_bundle(model: SkinNet | SkinProbe, exported: Path, classes: list[str], partitions: dict[str, str], temperature: float,
                      lighting_threshold: float, report: dict, bundle_dir: str | Path) -> Path:  # fmt: skip
    """The bundle from `model`'s graph already exported by `export_skin_onnx` to `exported`, through the one
    bundle writer (vitalens.bundle.write_bundle)."""
    from vitalens.tasks.skin_condition.card import render_skin_model_card

    bundle_dir = Path(bundle_dir)
    bundle_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = bundle_dir / MODEL_FILE
    if Path(exported).resolve() != onnx_path.resolve():
        shutil.copyfile(exported, onnx_path)
    size = model.input_size
    cam_side = model.cam_side
    shipped = next(name for name in report["comparison"] if name.startswith("shipped"))
    metrics = {name: {m: v["value"] for m, v in values.items()} | {f"{m}_ci": v["ci"] for m, v in values.items()} for name, values in report["comparison"].items()}
    model_fields = {**model.describe(), "parameters": count_parameters(model), "input_size": size, "weights_stored_as": _weight_storage(onnx_path)}
    fields = {
        "inputs": {INPUT: {
            "shape": ["batch", 3, size, size], "range": [0, 1], "colour": "sRGB", "layout": "NCHW", "dtype": "float32",
            "preprocessing": f"square centre crop of side round({CROP_FRACTION} * min(H, W)) at top-left ((H - side) // 2, (W - side) // 2), "
                             f"resized to {size}x{size} bilinear (Pillow, antialiased), x / 255 (vitalens.regions.centre_crop.centre_crop_resized)",
            "crop_fraction": CROP_FRACTION, "size": size, "resize": "bilinear",
            "normalisation_inside_graph": {"colour_calibration": model.describe().get("colour_calibration", "none"), "mean": LITE_MEAN, "std": LITE_STD},
        }},
        "outputs": {
            "diagnosis_probs": {"shape": ["batch", len(classes)], "classes": classes, "calibration": f"softmax(logits / {temperature:.4f}) inside the graph"},
            "lighting_good": {"shape": ["batch"], "meaning": "probability that the lighting is good", "threshold": lighting_threshold},
            "cam": {"shape": ["batch", len(classes), cam_side, cam_side], "range": [0, 1],
                    "meaning": f"{model.HEAT_MAP}; each map scaled to its maximum; upsample bilinearly onto the input crop"},
            "typicality": {"shape": ["batch"], "threshold": TYPICALITY_THRESHOLD,
                           "meaning": f"how unlike the training photos this photo is: the squared residual of its standardised pooled features outside their first "
                                      f"{model.typicality.components.shape[0]} principal components (training photos), divided by its {REFERENCE_PERCENTILE:g}th "
                                      f"percentile on the validation photos; above {TYPICALITY_THRESHOLD:g} the photo is less typical than "
                                      f"{REFERENCE_PERCENTILE:g} % of real clinical photos and its conditions are unreliable (vitalens.tasks.skin_condition.typicality)"},
        },
        "labels": classes,
        "three_partition": partitions,
        "temperature": temperature,
        "lighting": {"threshold": lighting_threshold, "labels_from": "vitalens.tasks.skin_condition.lighting.assess_lighting (documented thresholds)",
                     "tips_from": "vitalens.tasks.skin_condition.lighting.assess_lighting on the same crop when the head says poor"},
        "metrics": {"split": report["split"], "n": report["n_test"], "shipped": shipped, "models": metrics,
                    "ece_before_temperature": report["calibration"]["ece_before"], "ece_after_temperature": report["calibration"]["ece_after"],
                    "lighting": {k: report["lighting"][k] for k in ("accuracy", "balanced_accuracy", "auc", "average_precision_poor", "majority_accuracy")},
                    "by_fitzpatrick_group": {g: {"n": r["n"], "top1": r["top1"], "top1_ci": [r["top1_ci_low"], r["top1_ci_high"]]} for g, r in report["audit"]["fitzpatrick_group"].items()},
                    "by_ita_group": {g: {"n": r["n"], "top1": r["top1"], "top1_ci": [r["top1_ci_low"], r["top1_ci_high"]]} for g, r in report["audit"]["ita_group"].items()}},
        "training_data": {"name": "Fitzpatrick17k, AJL 2025 challenge subset (development part)", "photos": report["data"]["photos"],
                          "skipped": report["data"]["skipped"], "near_duplicate_groups": report["data"]["near_duplicate_groups"],
                          "split_sizes": report["data"]["split_sizes"], "citation": CITATION,
                          "license": "CC BY-NC-SA 3.0: non-commercial research only; the weights inherit that restriction"},
        "limitations": [
            "clinical atlas photos (DermaAmin, Atlas Dermatologico), not phone photos taken by the public",
            "21 conditions only: a photo of anything else still gets one of these labels",
            "Fitzpatrick V-VI photos are few; their per-group numbers have wide intervals",
            "the lighting head learned rules on image statistics plus synthetic degradations, not human lighting ratings",
        ],
    }  # fmt: skip
    # jsonable: numpy scalars (a temperature, a threshold) become plain numbers; the writer's json.dumps takes no others
    return write_bundle(bundle_dir, TASK.name, {"model": (onnx_path, jsonable(model_fields))}, jsonable(fields),
                        lambda manifest: render_skin_model_card(manifest, report))
