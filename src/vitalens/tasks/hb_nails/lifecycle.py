"""A run from start to finish: load → prepare → grouped CV → report → (final fit) → experiments/<run_name>/."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import joblib

from vitalens.tasks._haemoglobin.config import RunConfig
from vitalens.data import load_dataset
from vitalens.tasks.hb_nails.data import CITATION as YAKIMOV_CITATION
from vitalens.evaluation.report import regression_report, write_run
from vitalens.tasks import get_task
from vitalens.tasks.hb_nails.training import PreparedData, cross_validate, fit_final, prepare_nail_data

MODEL_FILE = "model.joblib"


def run_dir_for(config: RunConfig) -> Path:
    name = config.run_name or f"{config.task}-{config.features}-{config.head}-{config.scheme}-{datetime.now():%Y%m%d-%H%M%S}"
    return Path(config.experiments_dir) / name


def prepare(config: RunConfig, show_progress: bool = True) -> PreparedData:
    task = get_task(config.task)
    if task.name != "hb-nails":
        raise NotImplementedError(f"task {task.name!r} has no training pipeline in this release; hb-nails does")
    dataset = load_dataset(config.data, task.default_loader, tuple(t.name for t in task.targets))
    data = prepare_nail_data(dataset, config.crop_size, show_progress)
    if len(data.samples) < 2:
        raise ValueError(f"{config.data}: only {len(data.samples)} usable labelled photos; skipped: {[p.reason for p in data.problems[:5]]}")
    return data


def evaluate(config: RunConfig, run_dir: Path | None = None, show_progress: bool = True) -> tuple[Path, dict]:
    """Grouped CV only; writes the run folder and returns (folder, report)."""
    if config.task == "hb-lips":
        return _lips_run(config, run_dir, fit_final=False)
    started = time.perf_counter()
    data = prepare(config, show_progress)
    cv = cross_validate(data, config, show_progress)
    report = regression_report(cv.predictions, config, config.audit_attributes)
    report.update(
        task=config.task,
        validation=_validation_label(config, data),
        conformal=cv.conformal,
        data={"images": len(data.samples), "groups": int(len(set(data.groups))), "skipped": len(data.problems), "skipped_files": [f"{p.source}: {p.reason}" for p in data.problems]},
        timings={**cv.timings, "total_s": time.perf_counter() - started},
        citation=YAKIMOV_CITATION if "yakimov" in str(config.data).lower() else "",
    )
    run_dir = run_dir or run_dir_for(config)
    write_run(run_dir, config, report, cv.predictions, cv.folds)
    return run_dir, report


def train(config: RunConfig, run_dir: Path | None = None, show_progress: bool = True) -> tuple[Path, dict]:
    """Grouped CV for the report and the conformal interval, then the final model on all the data."""
    if config.task == "hb-lips":
        return _lips_run(config, run_dir, fit_final=True)
    run_dir, report = evaluate(config, run_dir or run_dir_for(config), show_progress)
    data = prepare(config, show_progress=False)
    model = fit_final(data, config)
    joblib.dump({"model": model, "config": config.to_dict(), "interval_half_width": report["conformal"]["half_width_all"]}, run_dir / MODEL_FILE)
    return run_dir, report


def _lips_run(config: RunConfig, run_dir: Path | None, fit_final: bool) -> tuple[Path, dict]:
    """Lips have their own small pipeline (one fixed colour model, leave-one-person-out): `vitalens.tasks.hb_lips.training`."""
    from vitalens.tasks.hb_lips.training import lips_config, train_lips

    config = lips_config(config)
    return train_lips(config, run_dir or run_dir_for(config), fit_final=fit_final)


def _validation_label(config: RunConfig, data: PreparedData) -> str:
    n_groups = len(set(data.groups))
    if config.scheme == "loso":
        return f"leave-one-{get_task(config.task).group_by}-out ({n_groups} groups)"
    return f"grouped {config.n_splits}-fold by {get_task(config.task).group_by} ({n_groups} groups, seed {config.seed})"
