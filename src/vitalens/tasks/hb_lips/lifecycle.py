"""`vitalens train | evaluate | export --task hb-lips`: the lips' verbs on the spine's run-folder contract.

evaluate: leave-one-person-out validation of the one lip model (`vitalens.tasks.hb_lips.training`)
beside the mean predictor, a label-permutation test and the conformal interval, written to the run
folder (`vitalens.runs.RUN_FILES`, figures/ with a contact sheet of the lip boxes).
train: the same, then the model fitted on every usable photo, as `model.json` in the run folder.
export: that run folder to a bundle (`vitalens.tasks.hb_lips.export`).

`model.json` is not one of the run files: it is what export reads, the linear head's weights and bias
as plain numbers (`vitalens.tasks.hb_lips.export.saved_lip_model`), never a pickle.
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
from vitalens.tasks.hb_lips import TASK
from vitalens.tasks.hb_lips.contact_sheet import contact_sheet
from vitalens.tasks.hb_lips.export import export_lip_bundle, saved_lip_model
from vitalens.tasks.hb_lips.training import (AUDIT_BY, LIP_MODEL_FEATURES, MODEL_CHOICE, MODEL_FILE, cross_validate_lips, fit_lip_model,
                                             lip_feature_table, lips_config, make_lip_model, permutation_p_value)  # fmt: skip

MIN_GROUPS = 3
HEADLINE_METRICS = ("mae", "rmse", "median_ae", "r2")
BASELINE = "mean predictor"
CONTACT_SHEET = "lip_boxes_contact_sheet.png"
DATA_NOTE = (
    "Lips starter set of a student haemoglobin-from-lips case competition, as published in public "
    "repositories; no licence stated, used for research only and not redistributed with vitalens."
)


def evaluate(job: Job) -> dict[str, Any]:
    """Leave-one-person-out validation only."""
    return _lopo_run(job, fit_final=False)


def train(job: Job) -> dict[str, Any]:
    """Leave-one-person-out validation for the report and the interval, then the final fit."""
    return _lopo_run(job, fit_final=True)


def export(job: Job) -> Path:
    """`job.data` is a train run folder, `job.out` the bundle folder (with the mouth check when `lip_check` names one)."""
    lip_check = job.options.get("lip_check")
    return export_lip_bundle(Path(job.data), job.out, Path(lip_check) if lip_check else None)


def run_config(job: Job) -> RunConfig:
    """The run's RunConfig: the job's options (all but `permutations`, which is not a RunConfig field)."""
    options = {name: value for name, value in job.options.items() if name not in ("permutations", "lip_check")}
    return lips_config(RunConfig(**options, data=str(job.data)))


def headline(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The numbers the CLI prints: the model's leave-one-person-out errors beside the mean predictor's."""
    model, baseline = report["model"], report["mean_predictor"]
    return [{"metric": name, "model": model[name], "baseline": baseline[name], "baseline_name": BASELINE} for name in HEADLINE_METRICS]


def _lopo_run(job: Job, fit_final: bool) -> dict[str, Any]:
    started = time.perf_counter()
    config = run_config(job)
    dataset = load_dataset(job.data, TASK, own_layout=True)
    table, problems = lip_feature_table(dataset)
    n_groups = table["group"].nunique() if len(table) else 0
    if n_groups < MIN_GROUPS:
        skipped = [f"{p.source}: {p.reason}" for p in problems[:5]]
        raise ValueError(f"{job.data}: {len(table)} usable lip photos from {n_groups} people; "
                         f"leave-one-person-out needs at least {MIN_GROUPS} people. Skipped: {skipped}")  # fmt: skip
    predictions, folds, conformal = cross_validate_lips(table, config)
    permutations = job.options["permutations"]
    p_value = permutation_p_value(table, LIP_MODEL_FEATURES, make_lip_model, permutations, config.seed) if permutations else None
    report = regression_report(predictions, config, list(AUDIT_BY))
    report.update(
        task=TASK.name,
        validation=f"leave-one-{TASK.group_by}-out ({n_groups} {TASK.group_by}s, {len(table)} photos)",
        model_choice=MODEL_CHOICE,
        features=list(LIP_MODEL_FEATURES),
        conformal=conformal,
        permutation_test={"permutations": permutations, "p_value": p_value},
        persons_per_group={column: table.groupby(column)["group"].nunique().to_dict() for column in AUDIT_BY},
        data={"images": len(table), "groups": n_groups, "group_by": TASK.group_by, "lip_regions": table["region"].value_counts().to_dict(),
              "skipped": len(problems), "skipped_files": [f"{p.source}: {p.reason}" for p in problems]},  # fmt: skip
        citation=DATA_NOTE if "lips-starter" in str(job.data) else "",
        timings={"total_s": time.perf_counter() - started},
    )
    report["headline"] = headline(report)
    write_run(job.out, report, predictions, folds)
    # the lip finder's boxes on every photo, for a person to judge (it shows faces: keep run folders private)
    contact_sheet(dataset, job.out / "figures" / CONTACT_SHEET)
    if fit_final:
        saved = saved_lip_model(fit_lip_model(table), LIP_MODEL_FEATURES, config.to_dict(), conformal["half_width_all"])
        (job.out / MODEL_FILE).write_text(json.dumps(saved, indent=2, allow_nan=False))
    return json.loads((job.out / "report.json").read_text())
