"""From a trained run to a portable bundle: model.onnx (+ detector.onnx) + bundle.json + MODEL_CARD.md
(training world), written by the one bundle writer, `vitalens.bundle.write_bundle`.

The ONNX graph is end to end from region pixels: the same torch feature extractor used in training,
followed by the linear head folded into one matrix product, so no runtime re-implements a feature.

A train run keeps its model as plain JSON (`MODEL_FILE`): the regressor's parameters, the folded linear
head's weights and bias, the run configuration and the interval. The extractor is fixed (colour physics
or frozen ImageNet weights), so those numbers rebuild the exported graph exactly. Nothing in a run folder
is ever unpickled: a run folder may come from someone else, and unpickling can run their code.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from vitalens.bundle import write_bundle
from vitalens.heads import linear_parameters
from vitalens.runs import refuse_foreign_model
from vitalens.tasks._haemoglobin.card import add_interval_scale
from vitalens.tasks.hb_nails import TASK
from vitalens.tasks.hb_nails import regions as nail_rules
from vitalens.tasks.hb_nails.card import render_model_card
from vitalens.tasks.hb_nails.model import NailHbRegressor
from vitalens.tasks.hb_nails.detection import (
    DETECTOR_CLASSES,
    DETECTOR_FILE,
    DETECTOR_INPUT_SIZE,
    DETECTOR_IOU_THRESHOLD,
    DETECTOR_MAX_NAILS,
    DETECTOR_SCORE_THRESHOLD,
    DETECTOR_SUMMARY_FILE,
    PAD_VALUE,
)

OPSET = 17
MODEL_FILE = "model.json"  # what `train` saves in the run folder for export (see `saved_model`)
SAVED_KEYS = {"model", "config", "interval"}
INTERVAL_KEYS = ("bin_edges", "bin_half_widths", "bin_below", "bin_above", "lower_share", "rule")


class NailHbGraph(nn.Module):
    """(nails, skins, white[, red]) → Hb per nail, in g/dL; the inputs are the extractor's `inputs`."""

    def __init__(self, extractor: nn.Module, weights: np.ndarray, bias: float):
        super().__init__()
        self.extractor = extractor
        self.inputs = tuple(extractor.inputs)
        self.register_buffer("weights", torch.tensor(weights, dtype=torch.float32))
        self.register_buffer("bias", torch.tensor(bias, dtype=torch.float32))

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.extractor(*inputs) @ self.weights + self.bias


def graph_for(model: NailHbRegressor) -> NailHbGraph:
    """The graph of a fitted regressor."""
    return linear_graph(model, *linear_parameters(model.head_))


def linear_graph(model: NailHbRegressor, weights: np.ndarray, bias: float) -> NailHbGraph:
    """The graph of `model`'s extractor followed by a linear head (weights and bias in raw feature space)."""
    return NailHbGraph(model.extractor(), np.asarray(weights, dtype=np.float64), float(bias)).eval()


def saved_model(model: NailHbRegressor, config: dict[str, Any], conformal: dict[str, Any]) -> dict[str, Any]:
    """What `train` writes to MODEL_FILE: plain numbers only (the interval rule: one half-width, and per
    Mondrian bin of the estimate how far the interval reaches below and above it). A head that is not linear (catboost) keeps the reason instead of weights,
    so export refuses it in one line rather than half-way through."""
    interval = {"half_width": conformal["half_width_all"], **{key: conformal[key] for key in INTERVAL_KEYS if key in conformal}}
    if "rule_selection" in conformal:
        interval["rule_how"] = conformal["rule_selection"]["how"]
    saved = {"model": model.get_params(), "config": config, "interval": interval}
    try:
        weights, bias = linear_parameters(model.head_)
    except TypeError as error:
        return saved | {"not_exportable": str(error)}
    return saved | {"weights": weights.tolist(), "bias": bias}


def read_saved_model(run_dir: Path) -> dict[str, Any]:
    """MODEL_FILE of a train run folder, refused in one line when absent, foreign or not exportable."""
    model_file = run_dir / MODEL_FILE
    if not model_file.is_file():
        refuse_foreign_model(run_dir, MODEL_FILE)
        raise FileNotFoundError(f"{model_file}: no trained model here; export a folder written by `vitalens train`, not `vitalens evaluate`.")
    not_ours = ValueError(f"{model_file}: not a model file written by this vitalens; re-train with this vitalens (`vitalens train`).")
    try:
        saved = json.loads(model_file.read_text())
    except (ValueError, UnicodeDecodeError):
        raise not_ours from None
    if not isinstance(saved, dict) or not SAVED_KEYS <= set(saved) or not isinstance(saved["model"], dict) \
            or set(saved["model"]) != set(NailHbRegressor().get_params()):
        raise not_ours
    if "not_exportable" in saved:
        raise ValueError(f"{model_file}: the {saved['model'].get('head')} head cannot be exported to ONNX ({saved['not_exportable']}); "
                         "re-train with head=ridge or head=median.")  # fmt: skip
    if "weights" not in saved or "bias" not in saved:
        raise not_ours
    return saved


def export_onnx(graph: NailHbGraph, path: Path, crop_size: int) -> Path:
    examples = {
        "nails": torch.rand(3, 3, crop_size, crop_size),
        "skins": torch.rand(3, 3, crop_size, crop_size),
        "white": torch.full((3, 3), 0.9),
        "red": torch.tensor([[0.85, 0.29, 0.27]] * 3),
    }
    torch.onnx.export(
        graph,
        tuple(examples[name] for name in graph.inputs),
        str(path),
        input_names=list(graph.inputs),
        output_names=["hb"],
        dynamic_axes={name: {0: "regions"} for name in (*graph.inputs, "hb")},
        opset_version=OPSET,
        dynamo=False,
    )
    return path


def export_bundle(run_dir: Path, out_dir: Path, quantize: bool = False, detector: Path | None = None) -> Path:
    """Write a bundle folder from a `vitalens train` run folder, with the nail detector as a first stage
    when `detector` (a `vitalens train-detector` run folder or its detector.onnx) is given."""
    saved = read_saved_model(run_dir)
    report = json.loads((run_dir / "report.json").read_text())
    model = NailHbRegressor(**saved["model"])
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = export_onnx(linear_graph(model, saved["weights"], saved["bias"]), out_dir / "model.onnx", model.crop_size)
    if quantize:
        onnx_path = quantize_int8(onnx_path)
    fields = bundle_fields(saved, report)
    stages = {"model": (onnx_path, {"features": model.features, "head": model.head, "fit_on": model.fit_on})}
    if detector is not None:
        stages["detector"] = detector_stage(detector)
        fields["region"]["finder"] = "nail-detector, or the photo's annotated nail boxes when given"
    return add_interval_scale(write_bundle(out_dir, TASK.name, stages, fields, lambda manifest: render_model_card(manifest, report)))


def detector_stage(detector: Path) -> tuple[Path, dict[str, Any]]:
    """The detector's ONNX file and how every runtime must feed and decode it (its bundle.json entry)."""
    source = detector / DETECTOR_FILE if detector.is_dir() else detector
    if not source.is_file():
        raise FileNotFoundError(f"{source}: no detector ONNX here; train one with `vitalens train-detector`.")
    summary = source.with_name(DETECTOR_SUMMARY_FILE)
    return source, {
        "input": {"size": DETECTOR_INPUT_SIZE, "layout": "NCHW", "letterbox_pad": PAD_VALUE, "normalisation": "(pixel - 127) / 128"},
        "classes": list(DETECTOR_CLASSES),
        "score_threshold": DETECTOR_SCORE_THRESHOLD,
        "iou_threshold": DETECTOR_IOU_THRESHOLD,
        "max_nails": DETECTOR_MAX_NAILS,
        "decoding": "3x3 peak picking on the heatmap, box = (centre_y, centre_x, height, width) maps, class-wise NMS, letterbox undone",
        "skin_pairing": "each nail takes the nearest unused detected skin box by centre distance, else its adjacent skin box",
        **(json.loads(summary.read_text()) if summary.is_file() else {}),
    }


def quantize_int8(onnx_path: Path) -> Path:
    """Dynamic int8 weights via onnxruntime's tools; replaces the float file in the bundle."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantized = onnx_path.with_name("model.int8.onnx")
    quantize_dynamic(str(onnx_path), str(quantized), weight_type=QuantType.QInt8)
    shutil.move(quantized, onnx_path)
    return onnx_path


def bundle_fields(saved: dict[str, Any], report: dict[str, Any]) -> dict[str, Any]:
    """bundle.json beyond its header and stages: the graph's inputs and outputs, the region rules, how
    nails and photos are aggregated, the interval, the decision threshold, the data and the validation."""
    config, model = saved["config"], NailHbRegressor(**saved["model"])
    return {
        "inputs": _graph_inputs(model),
        "outputs": {"hb": {"shape": ["regions"], "unit": "g/dL", "meaning": "haemoglobin estimate per nail"}},
        "region": _region_rules(model),
        "aggregation": {"regions_to_photo": "median", "captures_to_person": {"method": "iqr-then-median", "fence": 1.5}},
        "uncertainty": {
            "method": f"{report['conformal'].get('method', 'split-conformal')} on out-of-fold residuals ({report.get('protocol', 'single')} validation)",
            "coverage": report["conformal"]["target_coverage"],
            **saved["interval"],
            "bins_by": "the estimate (g/dL): below the first edge, between edges, above the last",
            "empirical_coverage_loso": report["conformal"]["empirical_coverage"],
            "coverage_by_who_band": report["conformal"].get("by_stratum", {}),
        },
        "decision": {"anaemia_threshold_g_dl": config["anaemia_threshold"], "interpretation": "who-2024-anaemia"},
        "training_data": report.get("data", {}) | {"citation": report.get("citation", "")},
        "validation": {
            "scheme": report.get("validation"),
            "model": report["model"],
            "mean_predictor": report["mean_predictor"],
            "anaemia_detection": report["anaemia_detection"]["model"],
        },
    }


def _graph_inputs(model: NailHbRegressor) -> dict[str, Any]:
    described = {
        "nails": {"shape": ["regions", 3, model.crop_size, model.crop_size], "range": [0, 1], "colour": "sRGB", "layout": "NCHW"},
        "skins": {"shape": ["regions", 3, model.crop_size, model.crop_size], "range": [0, 1], "colour": "sRGB", "layout": "NCHW"},
        "white": {"shape": ["regions", 3], "range": [0, 1], "meaning": "the photo's reference white, repeated per region"},
        "red": {"shape": ["regions", 3], "range": [0, 1], "meaning": "the card's red mark, repeated per region"},
    }
    return {name: described[name] for name in model.extractor().inputs}


def _region_rules(model: NailHbRegressor) -> dict[str, Any]:
    rules = {
        "finder": "nail-boxes",
        "box_format": "[ymin, xmin, ymax, xmax] pixels of the upright photo",
        "crop_size": model.crop_size,
        "resample": "area (box filter)",
        "white_reference": {
            "stride": nail_rules.WHITE_STRIDE,
            "brightness_percentile": nail_rules.WHITE_BRIGHTNESS_PERCENTILE,
            "max_saturation": nail_rules.WHITE_MAX_SATURATION,
            "statistic": "per-channel median of pixels brighter than the percentile and less saturated than max_saturation",
        },
    }
    if "red" in model.extractor().inputs:
        rules["red_reference"] = red_reference_rules()
    return rules


def red_reference_rules() -> dict[str, Any]:
    """How every runtime finds the card's red mark (`vitalens.tasks.hb_nails.regions.reference_red`)."""
    return {
        "min_red_excess": nail_rules.RED_MIN_EXCESS,
        "max_green_blue_gap": nail_rules.RED_MAX_GREEN_BLUE_GAP,
        "min_area_fraction": nail_rules.RED_MIN_AREA_FRACTION,
        "statistic": "per-channel median of the largest 8-connected blob with red - max(green, blue) > min_red_excess and "
        "|green - blue| < max_green_blue_gap, eroded by a 3x3 square (outside the photo counts as inside); when none covers "
        "min_area_fraction of the photo, white x relative_when_missing",
        "relative_when_missing": list(nail_rules.RED_MARK_RELATIVE),
    }
