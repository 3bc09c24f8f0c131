"""`vitalens train | evaluate | export --task hb-conjunctiva` on the spine's run-folder contract.

evaluate: nested leave-one-hospital-out validation (`training.nested_cross_validation`) beside the mean
predictor, anaemia detection at each child's WHO cut-off, a paired bootstrap CI of the MAE difference
(model minus mean predictor, whole hospitals resampled) and the conformal interval, in the run folder.
train: the same, then the candidate the inner CV picks on every hospital, fitted on every photo and kept
as plain numbers in `model.json` (never a pickle). export: that run folder to a bundle (`export`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from vitalens.data import load_dataset
from vitalens.evaluation.metrics import paired_difference
from vitalens.evaluation.report import regression_report, write_run
from vitalens.heads import linear_parameters
from vitalens.runs import Job
from vitalens.tasks._haemoglobin.config import RunConfig
from vitalens.tasks.hb_conjunctiva import TASK
from vitalens.tasks.hb_conjunctiva.detection import who_age_detection
from vitalens.tasks.hb_conjunctiva.export import export_bundle
from vitalens.tasks.hb_conjunctiva.training import AUDIT_BY, CANDIDATES, MODEL_FILE, choose, feature_table, nested_cross_validation
from vitalens.uncertainty import outer_fold_coverage

MIN_GROUPS = 3
CHILD_CUTOFF = 11.0  # the WHO cut-off of children 6-59 months: the pooled detection table of the spine's report
CITATION = ("CP-AnemiC, Appiahene P. et al. (2023), Mendeley Data doi:10.17632/3799k7478j.1 (no licence stated in ../shared/data/README.md); "
            "used for research, not redistributed with vitalens.")  # fmt: skip


def evaluate(job: Job) -> dict[str, Any]:
    return _run(job, fit_final=False)


def train(job: Job) -> dict[str, Any]:
    return _run(job, fit_final=True)


def export(job: Job) -> Path:
    return export_bundle(Path(job.data), job.out)


def headline(report: dict[str, Any]) -> list[dict[str, Any]]:
    model, base, who = report["model"], report["mean_predictor"], report["anaemia_who_age"]
    rows = [{"metric": name, "model": model[name], "baseline": base[name], "baseline_name": "mean predictor"} for name in ("mae", "rmse", "r2")]
    rows.append({"metric": "mae difference (model - mean), 95% CI low", "model": report["paired_mae_difference"]["ci"][0], "baseline": 0.0, "baseline_name": "no difference"})
    rows.append({"metric": "mae difference (model - mean), 95% CI high", "model": report["paired_mae_difference"]["ci"][1], "baseline": 0.0, "baseline_name": "no difference"})
    rows += [{"metric": f"anaemia {k} (WHO cut-off for age)", "model": who["model"][k], "baseline": who["majority"][k], "baseline_name": "majority class"}
             for k in ("roc_auc", "sensitivity", "specificity")]  # fmt: skip
    return rows


def _run(job: Job, fit_final: bool) -> dict[str, Any]:
    started = time.perf_counter()
    config = RunConfig(**job.options, data=str(job.data), anaemia_threshold=CHILD_CUTOFF, audit_attributes=list(AUDIT_BY))
    dataset = load_dataset(job.data, TASK, own_layout=True)
    table, problems = feature_table(dataset)
    problems = dataset.problems + problems
    n_groups = table["group"].nunique() if len(table) else 0
    if n_groups < MIN_GROUPS:
        raise ValueError(f"{job.data}: {len(table)} usable photos from {n_groups} hospitals; nested leave-one-hospital-out needs at least {MIN_GROUPS}.")
    predictions, folds, candidates = nested_cross_validation(table, map_folds=job.map)
    y, pred, base = predictions["hb_true"].to_numpy(), predictions["hb_pred"].to_numpy(), predictions["hb_mean_predictor"].to_numpy()
    outer = [(np.flatnonzero(predictions["fold"] != f), np.flatnonzero(predictions["fold"] == f)) for f in sorted(predictions["fold"].unique())]
    conformal = outer_fold_coverage(y, pred, outer, config.interval_coverage)
    paired = paired_difference(np.abs(pred - y), np.abs(base - y), clusters=predictions["group"], n_boot=config.n_boot, seed=config.seed)
    report = regression_report(predictions, config, list(AUDIT_BY))
    duplicates = [p for p in problems if "duplicate" in p.reason]
    report.update(
        task=TASK.name,
        validation=f"nested leave-one-{TASK.group_by}-out ({n_groups} hospitals, {len(table)} photos; inner leave-one-hospital-out chooses among {len(CANDIDATES)} candidates)",
        candidates=candidates,
        paired_mae_difference={**paired, "clusters": "hospital", "excludes_zero": bool(paired["ci"][1] < 0 or paired["ci"][0] > 0)},
        anaemia_who_age=who_age_detection(predictions),
        conformal=conformal,
        data={"images": len(table), "groups": n_groups, "group_by": TASK.group_by, "skipped": len(problems), "duplicates_dropped": len(duplicates),
              "skipped_files": [f"{p.source}: {p.reason}" for p in problems],
              "photos_per_hospital": table["group"].value_counts().to_dict()},  # fmt: skip
        citation=CITATION,
        timings={"total_s": time.perf_counter() - started},
    )
    report["headline"] = headline(report)
    write_run(job.out, report, predictions, folds)
    if fit_final:
        best, scores = choose(table)
        weights, bias = linear_parameters(best.make().fit(table[best.columns()].to_numpy(), y))
        saved = {"features": best.columns(), "candidate": best.name, "inner_mae_all_hospitals": scores[best.name], "weights": weights.tolist(),
                 "bias": bias, "interval_half_width": conformal["half_width_all"], "config": config.to_dict()}  # fmt: skip
        (job.out / MODEL_FILE).write_text(json.dumps(saved, indent=2, allow_nan=False))
    return json.loads((job.out / "report.json").read_text())
