"""What both Hb tasks' model cards share: the Hugging Face YAML header of a haemoglobin bundle and the
table that sets the model beside the mean predictor (the baseline every Hb score is read against)."""

from __future__ import annotations

from typing import Any


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
