"""Batch prediction over a folder, an image or a dataset with a bundle (serving world: no torch)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vitalens.data import Problem, load_dataset
from vitalens.imaging import ImageDecodeError, decode_image
from vitalens.runtime import load_predictor


@dataclass
class PredictionRun:
    rows: list[dict]  # one per photo, refusals included with their reason: the lines of predictions.csv
    problems: list[Problem]  # files that could not be read, skipped and counted
    caveat: str  # how the model compared with the trivial baseline in validation
    display_columns: dict[str, str]  # column -> short heading, the ones worth showing on a terminal


def predict_dataset(data: Path, model: Path | None, task: str, **population: Any) -> PredictionRun:
    """Run a bundle (the one shipped for `task` unless `model` is given) over a folder, an image or a
    dataset; a dataset with boxes uses its boxes."""
    predictor = load_predictor(model, task)
    dataset = load_dataset(data)
    rows, problems = [], list(dataset.problems)
    for sample in dataset.samples:
        try:
            rgb = decode_image(sample.image_path).rgb
        except ImageDecodeError as error:
            problems.append(Problem(str(sample.image_path), str(error)))
            continue
        rows.append(predictor.predict_sample(sample, rgb, **population))
    return PredictionRun(rows, problems, predictor.caveat, predictor.display_columns)
