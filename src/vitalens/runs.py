"""The run folder every `train` and `evaluate` writes, whatever the task, and the job a verb receives.

    experiments/<task>-<verb>-<YYYYmmdd-HHMMSS>/   (or --out)
      config.yaml     the resolved options, the task, the data, the vitalens version
      report.json     everything measured, the baseline beside every score
      report.md       the same for people
      metrics.csv     one row per fold (or per split of a fixed held-out protocol)
      predictions.csv one row per photo (out-of-fold or held-out)
      figures/

The spine checks the folder after the task's verb returns, so a task cannot quietly skip a file.

A task's lifecycle module (`Task.lifecycle`) has `train(job) -> report`, `evaluate(job) -> report`
and `export(job) -> bundle folder` (for export, `job.data` is the run folder and `job.out` the bundle
folder). The spine has already written config.yaml when train or evaluate start. A report is the dict
written to report.json; its `headline` is a list of {"metric", "model", "baseline", "baseline_name"}
rows, the numbers the CLI prints, and its `validation` says how they were measured.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from vitalens import __version__

RUN_FILES = ("config.yaml", "report.json", "report.md", "metrics.csv", "predictions.csv")
RUN_FOLDERS = ("figures",)
CONFIG_FILE = "config.yaml"


@dataclass
class Job:
    """What a verb of a task is asked to do: the spine resolves it, the task's lifecycle carries it out."""

    task: str
    verb: str
    data: Path | None
    out: Path
    options: dict[str, Any] = field(default_factory=dict)
    show_progress: bool = True
    engine: str = "local"  # "ray": independent pieces (cross-validation folds) run as Ray tasks (vitalens.scale.map_tasks)
    workers: int = 2
    address: str | None = None
    mapped: int = 0  # pieces sent through `map`: 0 after a verb means the engine had nothing to run

    def map(self, function: Any, arguments: list[tuple]) -> list:
        """function(*args) for each tuple, in order, on this job's engine (the results do not depend on it)."""
        from vitalens.scale import map_tasks

        self.mapped += len(arguments)
        return map_tasks(function, arguments, self.engine, self.workers, self.address)

    def config(self) -> dict[str, Any]:
        """The resolved configuration, as config.yaml records it."""
        return {"task": self.task, "verb": self.verb, "data": str(self.data) if self.data else None,
                "vitalens_version": __version__, "options": dict(self.options)}


def default_run_dir(task: str, verb: str, root: Path = Path("experiments")) -> Path:
    """A fresh, timestamped folder name: no run ever overwrites another by default."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate = root / f"{task}-{verb}-{stamp}"
    suffix = 1
    while candidate.exists():
        suffix += 1
        candidate = root / f"{task}-{verb}-{stamp}-{suffix}"
    return candidate


def write_config(job: Job) -> Path:
    job.out.mkdir(parents=True, exist_ok=True)
    (job.out / "figures").mkdir(exist_ok=True)
    path = job.out / CONFIG_FILE
    path.write_text(yaml.safe_dump(job.config(), sort_keys=False))
    return path


def read_config(run_dir: Path) -> dict[str, Any]:
    """A run folder's config.yaml (which task made it, with which options)."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; pass a folder written by `vitalens train` or `vitalens evaluate`.")
    loaded = yaml.safe_load(path.read_text()) or {}
    if not isinstance(loaded, dict) or "task" not in loaded:
        raise ValueError(f"{path}: not a vitalens run configuration (no 'task'); pass a folder written by `vitalens train`.")
    return loaded


def missing_run_files(run_dir: Path) -> list[str]:
    run_dir = Path(run_dir)
    return [name for name in RUN_FILES if not (run_dir / name).is_file()] + [
        name + "/" for name in RUN_FOLDERS if not (run_dir / name).is_dir()]  # fmt: skip


def check_run_folder(run_dir: Path) -> Path:
    missing = missing_run_files(run_dir)
    if missing:
        raise RuntimeError(f"{run_dir}: the run did not write {', '.join(missing)}; this is a bug in the task's lifecycle.")
    return run_dir


def refuse_foreign_model(run_dir: Path, reads: str, known: tuple[str, ...] = ()) -> None:
    """A run folder holding a model file vitalens did not write (model.joblib, model.pkl, ...) is refused in
    one line: vitalens never unpickles, since unpickling a file someone hands you can run their code."""
    foreign = sorted(p.name for p in Path(run_dir).glob("model.*") if p.name not in known)
    if foreign:
        raise ValueError(f"{Path(run_dir) / foreign[0]}: not a model file this vitalens reads (it reads {reads} and never unpickles, "
                         "which could run code); re-train with this vitalens (`vitalens train`).")  # fmt: skip
