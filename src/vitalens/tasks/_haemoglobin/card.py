"""What the Hb tasks' model cards share: the Hugging Face YAML header of a haemoglobin bundle, the table
that sets the model beside the mean predictor (the baseline every Hb score is read against), and the
picture of what an answer looks like (`add_interval_scale`, the browser's WHO-band scale)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCALE_FILE = "interval_scale.svg"
SCALE_SECTION = "What an answer looks like"


def hb_front_matter(manifest: dict[str, Any], dataset_id: str, dataset_name: str, dataset_type: str, tags: list[str]) -> dict[str, Any]:
    """The Hugging Face card's YAML header for a haemoglobin bundle: licence, tags, dataset, validated metrics."""
    validation = manifest["validation"]
    return {
        "license": "cc-by-4.0",
        "library_name": "onnxruntime",
        "tags": ["vitalens", manifest["task"], "haemoglobin", "anaemia-screening", "research-only", "onnx", *tags],
        "datasets": [dataset_id],
        "metrics": ["mae", "rmse", "r2"],
        "model-index": [
            {
                "name": f"vitalens-{manifest['task']}",
                "results": [
                    {
                        "task": {"type": "regression", "name": "haemoglobin estimation (g/dL)"},
                        "dataset": {"name": dataset_name, "type": dataset_type},
                        "metrics": [{"type": k, "value": round(validation["model"][k], 3), "name": f"{k} ({validation['scheme']})"} for k in ("mae", "rmse", "r2")],
                    }
                ],
            }
        ],
    }


def model_vs_mean_table(model: dict, base: dict) -> list[str]:
    """Markdown rows: the model beside the mean predictor on the validation metrics."""
    return [
        "| metric | model | mean predictor |",
        "|---|---|---|",
        _row("MAE (g/dL)", model, base, "mae"),
        _row("RMSE (g/dL)", model, base, "rmse"),
        _row("R²", model, base, "r2"),
        _row("bias (g/dL)", model, base, "bias"),
        f"| 95 % limits of agreement | {model['loa_low']:.2f} to {model['loa_high']:.2f} | {base['loa_low']:.2f} to {base['loa_high']:.2f} |",
    ]


def _row(name: str, model: dict, base: dict, key: str) -> str:
    return f"| {name} | {model[key]:.2f} | {base[key]:.2f} |"


def add_interval_scale(bundle_dir: str | Path) -> Path:
    """Draw three example estimates with the bundle's own interval rule on the WHO-band scale (the browser's
    picture, `evaluation.hb_scale`) as `interval_scale.svg` beside MODEL_CARD.md, and show it in the card."""
    from vitalens.bundle.writer import update_bundle
    from vitalens.evaluation.hb_scale import EXAMPLES_G_DL, interval_scale_figure
    from vitalens.model_card import with_section

    bundle_dir = Path(bundle_dir)
    uncertainty = json.loads((bundle_dir / "bundle.json").read_text())["uncertainty"]
    interval_scale_figure(uncertainty, bundle_dir / SCALE_FILE)
    lines = [f"![three example estimates with their 90 % intervals on the WHO 2024 bands]({SCALE_FILE})", "",
             f"Estimates of {', '.join(f'{hb:g}' for hb in EXAMPLES_G_DL)} g/dL with this bundle's 90 % interval, on the WHO 2024 "
             "bands for a non-pregnant woman of 30 (the app draws the same scale for each answer, with the person's own cut-offs). "
             "An interval that spans several bands is reported as such, never as one band."]  # fmt: skip
    return update_bundle(bundle_dir, {}, {}, lambda card, _: with_section(card, SCALE_SECTION, lines))
