"""The fingernail task's verbs (training world, imported only when a verb runs).

evaluate: load → prepare (decode, find regions once) → grouped CV → report, into the run folder.
The `protocol` option says which CV: "nested" (`vitalens.tasks.hb_nails.nested`: the candidate is chosen
inside each outer training fold, so the selection is not inside the number) or "single" (one given
configuration, features/head/... as the options say).
train: the same, then the final model fitted on every photo, saved beside the report as plain JSON
(model.json: `vitalens.tasks.hb_nails.export.saved_model`); under "nested" the candidate is the one the
same inner CV chooses on all sessions.
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
from vitalens.tasks.hb_nails.card import learning_curve_markdown
from vitalens.tasks.hb_nails.learning_curve import learning_curve
from vitalens.tasks.hb_nails.nested import FeatureCache, NestedValidation, candidate_config, final_choice, nested_cross_validate, nested_markdown
from vitalens.tasks.hb_nails.training import CrossValidation, PreparedData, cross_validate, fit_final, prepare_nail_data
from vitalens.tasks.spec import TaskError

HEADLINE_METRICS = ("mae", "rmse", "r2")
BASELINE_NAME = "mean predictor (training folds' mean Hb)"
PROTOCOLS = ("nested", "single")
VALIDATION_OPTIONS = ("protocol", "learning_curve")


def run_config(job: Job) -> RunConfig:
    """The Hb run configuration of a job: its (already parsed and defaulted) options but those that say how
    to validate rather than what to fit (VALIDATION_OPTIONS), this task, its data."""
    options = {name: value for name, value in job.options.items() if name not in VALIDATION_OPTIONS}
    return RunConfig(**options, task=TASK.name, data=str(job.data))


def protocol(job: Job) -> str:
    chosen = job.options.get("protocol", "nested")
    if chosen not in PROTOCOLS:
        raise TaskError(f"option protocol: {chosen!r} is not one of {', '.join(PROTOCOLS)}")
    defaults = RunConfig()
    fixed = [name for name in ("features", "head") if job.options.get(name, getattr(defaults, name)) != getattr(defaults, name)]
    if chosen == "nested" and fixed:
        raise TaskError(f"option {' and '.join(fixed)}: nested selection chooses the features and head itself; "
                        "add -o protocol=single to fit the ones you give")  # fmt: skip
    return chosen


def prepare(config: RunConfig, show_progress: bool = True) -> PreparedData:
    """The labelled photos of `config.data`, decoded with their nail regions found, bad photos counted."""
    dataset = load_dataset(config.data, TASK)
    data = prepare_nail_data(dataset, config.crop_size, show_progress)
    if len(data.samples) < 2:
        raise ValueError(f"{config.data}: only {len(data.samples)} usable labelled photos; skipped: {[p.reason for p in data.problems[:5]]}")
    return data


def evaluate(job: Job) -> dict[str, Any]:
    """Grouped cross-validation only (nested or single, as `protocol` says): every run file, no model."""
    config, nested = run_config(job), protocol(job) == "nested"
    data = prepare(config, job.show_progress)
    return _validated_run(config, data, FeatureCache(data, config), job, nested)


def train(job: Job) -> dict[str, Any]:
    """Grouped CV for the report and the conformal interval, then the final model on all the data.

    The model is kept as numbers in JSON (model.json) for `export`, which turns it into ONNX; a run
    folder never holds a pickle, so exporting one that someone hands you cannot run their code."""
    config, nested = run_config(job), protocol(job) == "nested"
    data = prepare(config, job.show_progress)
    cache = FeatureCache(data, config)  # each feature set extracted once for the CV and the final choice
    final = final_choice(cache) if nested else None
    report = _validated_run(config, data, cache, job, nested, final)
    if final:
        config = candidate_config(config, final["chosen"])
    saved = saved_model(fit_final(data, config), config.to_dict(), report["conformal"])
    (job.out / MODEL_FILE).write_text(json.dumps(saved, indent=2, allow_nan=False))
    return report


def export(job: Job) -> Path:
    """The run folder `job.data` as a bundle in `job.out`, with the nail detector as a first stage when
    the `detector` option names a `train-detector` folder (or its detector.onnx)."""
    detector = job.options.get("detector")
    return export_bundle(Path(job.data), Path(job.out), quantize=bool(job.options.get("int8")), detector=Path(detector) if detector else None)


def _validated_run(config: RunConfig, data: PreparedData, cache: FeatureCache, job: Job, nested: bool, final: dict | None = None) -> dict[str, Any]:
    """The CV the protocol asks for, its report and every run file; `final` is train's nested choice."""
    started = time.perf_counter()
    cv: CrossValidation | NestedValidation = nested_cross_validate(data, config, job.show_progress, cache=cache, map_folds=job.map if job.engine != "local" else None) if nested else cross_validate(data, config, job.show_progress)
    report = regression_report(cv.predictions, config, config.audit_attributes)
    label = _validation_label(config, data)
    if isinstance(cv, NestedValidation):
        report.update(protocol="nested", candidates=cv.candidates, optimistic=cv.optimistic, **({"final_choice": final} if final else {}))
        if job.options.get("learning_curve"):
            report["learning_curve"] = learning_curve(cache, config.seed)
        label += f"; nested: a candidate chosen inside each outer training fold by grouped inner CV by {TASK.group_by}"
    else:
        report.update(protocol="single", configuration={"features": config.features, "head": config.head})
    report.update(
        task=TASK.name,
        validation=label,
        headline=_headline(report),
        conformal=cv.conformal,
        data={"images": len(data.samples), "groups": int(len(set(data.groups))), "skipped": len(data.problems),
              "skipped_files": [f"{p.source}: {p.reason}" for p in data.problems]},  # fmt: skip
        timings={**cv.timings, "total_s": time.perf_counter() - started},
        citation=YAKIMOV_CITATION if is_yakimov_layout(Path(config.data)) else "",
    )
    write_run(job.out, report, cv.predictions, cv.folds)
    if isinstance(cv, NestedValidation):
        with open(job.out / "report.md", "a") as handle:
            handle.write(nested_markdown(report) + (learning_curve_markdown(report["learning_curve"]) if "learning_curve" in report else ""))
    return report


def _headline(report: dict[str, Any]) -> list[dict[str, Any]]:
    model, baseline = report["model"], report["mean_predictor"]
    return [{"metric": name, "model": model[name], "baseline": baseline[name], "baseline_name": BASELINE_NAME} for name in HEADLINE_METRICS]


def _validation_label(config: RunConfig, data: PreparedData) -> str:
    n_groups = len(set(data.groups))
    if config.scheme == "loso":
        return f"leave-one-{TASK.group_by}-out ({n_groups} groups)"
    return f"grouped {config.n_splits}-fold by {TASK.group_by} ({n_groups} groups, seed {config.seed})"
