"""From a `vitalens train --task hb-conjunctiva` run to a bundle through the one writer
(`vitalens.bundle.write_bundle`): the features are numpy (`features.conjunctiva_features`), so the ONNX
graph is the linear head only (the lips task's writer of that graph, the scaler folded into the weights)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from vitalens.bundle import write_bundle
from vitalens.runs import refuse_foreign_model
from vitalens.tasks.hb_conjunctiva import TASK
from vitalens.tasks.hb_conjunctiva import features as rules
from vitalens.tasks.hb_conjunctiva.card import render_card_for
from vitalens.tasks.hb_conjunctiva.training import MODEL_FILE
from vitalens.tasks.hb_lips.export import linear_head_onnx
from vitalens.tasks._haemoglobin.card import add_interval_scale

SAVED_KEYS = {"features", "candidate", "weights", "bias", "interval_half_width", "config"}
INTERVAL_NOTE = ("Calibrated on nested leave-one-hospital-out residuals of {n} photos from {groups} hospitals; children of one hospital "
                 "share light and camera, so the coverage is a rough guide, not a guarantee.")  # fmt: skip


def read_saved(run_dir: Path) -> dict[str, Any]:
    path = run_dir / MODEL_FILE
    if not path.is_file():
        refuse_foreign_model(run_dir, MODEL_FILE)
        raise FileNotFoundError(f"{path}: missing; export a folder written by `vitalens train` (evaluate fits no final model).")
    saved = json.loads(path.read_text())
    if not isinstance(saved, dict) or not SAVED_KEYS <= set(saved) or len(saved["weights"]) != len(saved["features"]):
        raise ValueError(f"{path}: not a model file written by this vitalens; re-train with `vitalens train`.")
    return saved


def export_bundle(run_dir: Path, out_dir: Path) -> Path:
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    saved = read_saved(run_dir)
    report = json.loads((run_dir / "report.json").read_text())
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = linear_head_onnx(np.asarray(saved["weights"], np.float64), saved["bias"], out_dir / "model.onnx")  # IR 10, for the browser
    model = {"features": saved["candidate"].split(" + ")[0], "head": saved["candidate"].split(" + ")[1] + ", scaler folded in", "fit_on": "photo"}
    return add_interval_scale(write_bundle(out_dir, TASK.name, {"model": (onnx_path, model)}, bundle_fields(saved, report), lambda manifest: render_card_for(manifest, report)))


def bundle_fields(saved: dict[str, Any], report: dict[str, Any]) -> dict[str, Any]:
    data, conformal, paired = report["data"], report["conformal"], report["paired_mae_difference"]
    return {
        "inputs": {"features": {"shape": ["photos", len(saved["features"])], "dtype": "float32", "names": saved["features"],
                                "computed_by": "vitalens.tasks.hb_conjunctiva.features.conjunctiva_features, then these names in this order"}},  # fmt: skip
        "outputs": {"hb": {"shape": ["photos"], "unit": "g/dL", "meaning": "haemoglobin estimate per photo"}},
        "region": {"tissue": f"not near-black (max <= {rules.TISSUE_MIN}) and not near-white (min >= {rules.BACKGROUND_WHITE})",
                   "rim_min_filter_px": rules.RIM_PX, "work_side": rules.WORK_SIDE, "min_tissue_pixels": rules.MIN_TISSUE_PIXELS},  # fmt: skip
        "uncertainty": {"method": "split-conformal on nested leave-one-hospital-out residuals", "coverage": conformal["target_coverage"],
                        "half_width": saved["interval_half_width"], "empirical_coverage_lopo": conformal["empirical_coverage"],
                        "note": INTERVAL_NOTE.format(n=data["images"], groups=data["groups"])},  # fmt: skip
        "decision": {"anaemia_threshold": "WHO 2024 cut-off for the child's age", "interpretation": TASK.interpretation},
        "training_data": {k: data[k] for k in ("images", "groups", "group_by", "skipped", "duplicates_dropped")} | {"source": report["citation"]},
        "validation": {"scheme": report["validation"], "model": report["model"], "mean_predictor": report["mean_predictor"],
                       "paired_mae_difference": paired, "anaemia_who_age": report["anaemia_who_age"],
                       "candidates": report["candidates"], "final_choice": saved["candidate"]},  # fmt: skip
        "demonstration": not paired["excludes_zero"] or paired["difference"] >= 0,
    }
