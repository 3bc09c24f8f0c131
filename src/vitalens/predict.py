"""Batch prediction over a folder or dataset with a bundle (serving world: no torch)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vitalens.data import Problem, load_dataset
from vitalens.imaging import ImageDecodeError, decode_image
from vitalens.runtime.bundle import load_bundle, shipped_bundle_path
from vitalens.runtime.hb_nails import HbResult, NailHbPredictor


def predict_dataset(data: Path, model: Path | None, task: str, **population: Any) -> tuple[list[dict], list[Problem], str]:
    """Rows for predictions.csv (`image_id,predicted_hgb,...`), the skipped files, and the baseline caveat."""
    bundle = load_bundle(model or shipped_bundle_path(task))
    predictor = NailHbPredictor(bundle)
    dataset = load_dataset(data)
    rows, problems = [], list(dataset.problems)
    for sample in dataset.samples:
        try:
            rgb = decode_image(sample.image_path).rgb
        except ImageDecodeError as error:
            problems.append(Problem(str(sample.image_path), str(error)))
            continue
        result = predictor.predict(rgb, sample.boxes.get("nail"), sample.boxes.get("skin"), sample.image_id, **population)
        rows.append(result_row(result))
    return rows, problems, predictor.caveat


def result_row(result: HbResult) -> dict[str, Any]:
    ok = result.status == "ok"
    return {
        "image_id": result.image_id,
        "predicted_hgb": round(result.hb, 3) if ok else "",
        "interval_low": round(result.interval[0], 3) if ok else "",
        "interval_high": round(result.interval[1], 3) if ok else "",
        "who_severity": result.interpretation["severity"] if ok else "",
        "n_nails": len(result.nails),
        "per_nail_hgb": ";".join(f"{n.hb:.2f}" for n in result.nails),
        "status": result.status,
        "message": "; ".join(result.reasons + result.tips),
    }
