"""From a `vitalens train --task hb-lips` run to a bundle: model.onnx + bundle.json + MODEL_CARD.md,
written by the one bundle writer (`vitalens.bundle.write_bundle`).

Lip finding and colour features are numpy (`vitalens.tasks.hb_lips.lip_colour.measure_lips`, shared with training),
so the ONNX graph holds only the linear head: Hb = features · weights + bias, the scaler folded into
the weights. It is written with onnx.helper: the graph is one MatMul and one Add, and skl2onnx (the
converter for scikit-learn pipelines) is not a vitalens dependency for the sake of two nodes.

A train run keeps exactly those numbers, as JSON (`MODEL_FILE`, written by `saved_lip_model`): the
feature names, the folded weights and bias, the configuration and the interval. Nothing in a run folder
is ever unpickled: a run folder may come from someone else, and unpickling can run their code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.pipeline import Pipeline

from vitalens import __version__
from vitalens.bundle import write_bundle
from vitalens.heads import linear_parameters
from vitalens.runs import refuse_foreign_model
from vitalens.tasks.hb_lips import TASK
from vitalens.tasks.hb_lips import regions as lip_rules
from vitalens.tasks.hb_lips.card import render_lip_model_card
from vitalens.tasks.hb_lips.lip_check import CHECK_FILE
from vitalens.tasks.hb_lips.lip_colour import MIN_PIXELS
from vitalens.tasks.hb_lips.training import FEATURES_NAME, MODEL_FILE, RIDGE_ALPHA
from vitalens.tasks._haemoglobin.card import add_interval_scale

OPSET = 17
ONNX_FILE = "model.onnx"
SAVED_KEYS = {"features", "weights", "bias", "config", "interval_half_width"}
INTERVAL_NOTE = (
    "Very rough: calibrated on the leave-one-person-out residuals of {n} photos from {groups} people. Photos of "
    "one person share their errors, so the residuals are not exchangeable and the coverage guarantee does not "
    "strictly hold; treat the interval as an order of magnitude."
)


IR_VERSION = 10  # onnxruntime-web 1.30 (the browser's runtime) reads IR <= 13; onnx writes its newest (14) by default


def linear_head_onnx(weights: np.ndarray, bias: float, path: Path) -> Path:
    """features [photos, n] float32 -> hb [photos] = features @ weights + bias."""
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["features", "weights"], ["weighted"]), helper.make_node("Add", ["weighted", "bias"], ["hb"])],
        "vitalens_hb_lips_linear_head",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["photos", len(weights)])],
        [helper.make_tensor_value_info("hb", TensorProto.FLOAT, ["photos"])],
        initializer=[
            numpy_helper.from_array(np.asarray(weights, np.float32), "weights"),
            numpy_helper.from_array(np.asarray(bias, np.float32), "bias"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="vitalens", producer_version=__version__)
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def saved_lip_model(pipeline: Pipeline, features: list[str], config: dict[str, Any], interval_half_width: float) -> dict[str, Any]:
    """What `train` writes to MODEL_FILE: the fitted pipeline as the linear head export folds into ONNX."""
    weights, bias = linear_parameters(pipeline)
    return {"features": list(features), "weights": weights.tolist(), "bias": bias, "config": config, "interval_half_width": interval_half_width}


def read_saved_lip_model(run_dir: Path) -> dict[str, Any]:
    """MODEL_FILE of a train run folder, refused in one line when absent or not written by this vitalens."""
    model_file = run_dir / MODEL_FILE
    if not model_file.is_file():
        refuse_foreign_model(run_dir, MODEL_FILE)
        raise FileNotFoundError(f"{model_file}: missing; export a folder written by `vitalens train` (evaluate fits no final model).")
    try:
        saved = json.loads(model_file.read_text())
    except (ValueError, UnicodeDecodeError):
        saved = None
    if not isinstance(saved, dict) or not SAVED_KEYS <= set(saved) or not isinstance(saved["weights"], list) \
            or not isinstance(saved["features"], list) or len(saved["weights"]) != len(saved["features"]):
        raise ValueError(f"{model_file}: not a model file written by this vitalens; re-train with this vitalens (`vitalens train`).")
    return saved


def export_lip_bundle(run_dir: Path, out_dir: Path, lip_check: Path | None = None) -> Path:
    """The bundle of a train run folder (its model.json and report.json) into `out_dir`, with the mouth check
    of a `vitalens train-lip-check` folder as a stage when `lip_check` is given."""
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    saved = read_saved_lip_model(run_dir)
    report = json.loads((run_dir / "report.json").read_text())
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = linear_head_onnx(np.asarray(saved["weights"], dtype=np.float64), saved["bias"], out_dir / ONNX_FILE)
    model = {"features": FEATURES_NAME, "head": f"ridge (alpha {RIDGE_ALPHA:g}, scaler folded in)", "fit_on": "photo"}
    stages = {"model": (onnx_path, model)}
    if lip_check is not None:
        if not (lip_check / CHECK_FILE).is_file():
            raise FileNotFoundError(f"{lip_check}: no {CHECK_FILE} here; fit one with `vitalens train-lip-check`.")
        stages["lip_check"] = (lip_check / CHECK_FILE, json.loads((lip_check / "lip_check.json").read_text()))
    return add_interval_scale(write_bundle(out_dir, TASK.name, stages, lip_bundle_fields(saved, report), lambda manifest: render_lip_model_card(manifest, report)))


def lip_bundle_fields(saved: dict[str, Any], report: dict[str, Any]) -> dict[str, Any]:
    """bundle.json beyond its header and the model stage: inputs, region rules, interval, decision, data, validation."""
    config, features, data, conformal = saved["config"], saved["features"], report["data"], report["conformal"]
    return {
        "inputs": {
            "features": {
                "shape": ["photos", len(features)],
                "dtype": "float32",
                "names": features,
                "computed_by": "vitalens.tasks.hb_lips.lip_colour.measure_lips (find_lips, then lip_colour_features), then these names in this order",
                "meaning": "median CIELAB L*, a*, b* and log median linear R, G, B of the redder half of the usable pixels in the lip box",
            }
        },
        "outputs": {"hb": {"shape": ["photos"], "unit": "g/dL", "meaning": "haemoglobin estimate per photo"}},
        "region": {
            "finder": "lip-colour",
            "function": "vitalens.tasks.hb_lips.regions.find_lips",
            "score": "CIELAB a* - b*, lips redder and less yellow than skin; lips cut out onto black are taken whole",
            "work_side": lip_rules.WORK_SIDE,
            "threshold_percentiles": list(lip_rules.THRESHOLD_PERCENTILES),
            "min_quality": lip_rules.MIN_QUALITY,
            "min_lip_pixels": MIN_PIXELS,
            "refuse_when": "no lip region is found, or the lip box has too few usable (not dark, not blown out, not grey) pixels",
        },
        "uncertainty": {
            "method": "split-conformal on leave-one-person-out residuals",
            "coverage": conformal["target_coverage"],
            "half_width": saved["interval_half_width"],
            "empirical_coverage_lopo": conformal["empirical_coverage"],
            "note": INTERVAL_NOTE.format(n=data["images"], groups=data["groups"]),
        },
        "decision": {"anaemia_threshold_g_dl": config["anaemia_threshold"], "interpretation": TASK.interpretation},
        "training_data": {key: data[key] for key in ("images", "groups", "group_by", "lip_regions", "skipped")} | {"source": report.get("citation", "")},
        "validation": {
            "scheme": report["validation"],
            "model": report["model"],
            "mean_predictor": report["mean_predictor"],
            "permutation_test": report["permutation_test"],
            "anaemia_detection": report["anaemia_detection"]["model"],
            "model_choice": report["model_choice"],
        },
    }
