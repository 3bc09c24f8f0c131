"""The fingernail task's own commands, beyond train/evaluate/export: the nail detector's training and
session-grouped validation (`vitalens train-detector`, `vitalens evaluate-detector`).

Typer callables; the CLI names each after its function (underscores as hyphens). Importing this module
imports no torch: the detector's training world is imported when a command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from vitalens.tasks.hb_nails import TASK


def _detector_photos(data: Path, limit: Optional[int]) -> list[Any]:
    """The boxed photos of `data` (the Yakimov layout or a manifest), the first `limit` of them if given."""
    from vitalens.data import load_dataset
    from vitalens.tasks.hb_nails.detector_training import load_detector_photos

    dataset = load_dataset(data, TASK)
    for problem in dataset.problems:
        typer.echo(f"skipped {problem.source}: {problem.reason}")
    return load_detector_photos(dataset.subset(list(range(min(limit, len(dataset.samples))))) if limit else dataset)


def evaluate_detector(
    data: Path = typer.Option(..., help="photos with nail/skin boxes (Yakimov folder or manifest CSV)"),
    folds: int = typer.Option(3, help="session-grouped folds"),
    epochs: int = typer.Option(20),
    out: Path = typer.Option(Path("experiments/nail-detector-cv"), help="run folder for the report, per-fold metrics and out-of-fold detections"),
    limit: Optional[int] = typer.Option(None, help="use only the first N photos (smoke runs)"),
) -> None:
    """Session-grouped CV of the nail/skin detector: mAP50, mAP50-95, precision, recall per class."""
    from vitalens.tasks.hb_nails.detector_training import DetectorTrainingConfig
    from vitalens.tasks.hb_nails.detector_validation import evaluate_detector_run

    evaluate_detector_run(_detector_photos(data, limit), DetectorTrainingConfig(epochs=epochs), out, folds)
    typer.echo(f"report, per-fold metrics and out-of-fold detections in {out}")


def train_detector(
    data: Path = typer.Option(..., help="photos with nail/skin boxes (Yakimov folder or manifest CSV)"),
    out: Path = typer.Option(Path("experiments/nail-detector"), help="run folder for detector.onnx and detector.json"),
    epochs: int = typer.Option(20),
    cv: bool = typer.Option(False, "--cv", help="first measure it with session-grouped 3-fold CV (3x the time)"),
    limit: Optional[int] = typer.Option(None, help="use only the first N photos (smoke runs)"),
) -> None:
    """Train the nail/skin detector on every photo; add it to a bundle with `vitalens export -o detector=FOLDER`."""
    from vitalens.tasks.hb_nails.detector_training import DetectorTrainingConfig
    from vitalens.tasks.hb_nails.detector_validation import evaluate_detector_run, train_detector_run

    photos, config = _detector_photos(data, limit), DetectorTrainingConfig(epochs=epochs)
    validation = evaluate_detector_run(photos, config, out / "cv") if cv else None
    onnx_path = train_detector_run(photos, config, out, validation)
    typer.echo(f"detector written to {onnx_path}; add it with `vitalens export --run RUN --out BUNDLE -o detector={out}`")
