"""The fingernail task's verbs (training world, imported only when a verb runs).

evaluate: load → prepare (decode, find regions once) → grouped CV → report, into the run folder.
train: the same, then the final model fitted on every photo, saved beside the report as plain JSON
(model.json: `vitalens.tasks.hb_nails.export.saved_model`).
export: the saved model as a bundle (`vitalens.tasks.hb_nails.export`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from vitalens.data import load_dataset
from vitalens.evaluation.report import regression_report, write_run
from vitalens.runs import Job
from vitalens.tasks._haemoglobin.config import RunConfig
from vitalens.tasks.hb_nails import TASK
from vitalens.tasks.hb_nails.data import CITATION as YAKIMOV_CITATION, is_yakimov_layout
from vitalens.tasks.hb_nails.export import MODEL_FILE, export_bundle, saved_model
from vitalens.tasks.hb_nails.training import CrossValidation, PreparedData, cross_validate, fit_final, prepare_nail_data

HEADLINE_METRICS = ("mae", "rmse", "r2")
BASELINE_NAME = "mean predictor (training folds' mean Hb)"


def run_config(job: Job) -> RunConfig:
    """The Hb run configuration of a job: its (already parsed and defaulted) options, this task, its data."""
    return RunConfig(**job.options, task=TASK.name, data=str(job.data))


def prepare(config: RunConfig, show_progress: bool = True) -> PreparedData:
    """The labelled photos of `config.data`, decoded with their nail regions found, bad photos counted."""
    dataset = load_dataset(config.data, TASK)
    data = prepare_nail_data(dataset, config.crop_size, show_progress)
    if len(data.samples) < 2:
        raise ValueError(f"{config.data}: only {len(data.samples)} usable labelled photos; skipped: {[p.reason for p in data.problems[:5]]}")
    return data


def evaluate(job: Job) -> dict[str, Any]:
    """Grouped cross-validation only: every run file, no model."""
    config = run_config(job)
    return _validated_run(config, prepare(config, job.show_progress), job)[0]


def train(job: Job) -> dict[str, Any]:
    """Grouped CV for the report and the conformal interval, then the final model on all the data.

    The model is kept as numbers in JSON (model.json) for `export`, which turns it into ONNX; a run
    folder never holds a pickle, so exporting one that someone hands you cannot run their code."""
    config = run_config(job)
    data = prepare(config, job.show_progress)
    report, _ = _validated_run(config, data, job)
    saved = saved_model(fit_final(data, config), config.to_dict(), report["conformal"]["half_width_all"])
    (job.out / MODEL_FILE).write_text(json.dumps(saved, indent=2, allow_nan=False))
    return report


def export(job: Job) -> Path:
    """The run folder `job.data` as a bundle in `job.out`, with the nail detector as a first stage when
    the `detector` option names a `train-detector` folder (or its detector.onnx)."""
    detector = job.options.get("detector")
    return export_bundle(Path(job.data), Path(job.out), quantize=bool(job.options.get("int8")), detector=Path(detector) if detector else None)


def _validated_run(config: RunConfig, data: PreparedData, job: Job) -> tuple[dict[str, Any], CrossValidation]:
    started = time.perf_counter()
    cv = cross_validate(data, config, job.show_progress)
    report = regression_report(cv.predictions, config, config.audit_attributes)
    report.update(
        task=TASK.name,
        validation=_validation_label(config, data),
        headline=_headline(report),
        conformal=cv.conformal,
        data={"images": len(data.samples), "groups": int(len(set(data.groups))), "skipped": len(data.problems),
              "skipped_files": [f"{p.source}: {p.reason}" for p in data.problems]},  # fmt: skip
        timings={**cv.timings, "total_s": time.perf_counter() - started},
        citation=YAKIMOV_CITATION if is_yakimov_layout(Path(config.data)) else "",
    )
    write_run(job.out, report, cv.predictions, cv.folds)
    return report, cv


def _headline(report: dict[str, Any]) -> list[dict[str, Any]]:
    model, baseline = report["model"], report["mean_predictor"]
    return [{"metric": name, "model": model[name], "baseline": baseline[name], "baseline_name": BASELINE_NAME} for name in HEADLINE_METRICS]


def _validation_label(config: RunConfig, data: PreparedData) -> str:
    n_groups = len(set(data.groups))
    if config.scheme == "loso":
        return f"leave-one-{TASK.group_by}-out ({n_groups} groups)"
    return f"grouped {config.n_splits}-fold by {TASK.group_by} ({n_groups} groups, seed {config.seed})"
