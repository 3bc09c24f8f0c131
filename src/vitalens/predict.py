"""Batch prediction over a folder, an image or a dataset with a bundle (serving world: no torch).

`iter_predictions` yields one `Prediction` per listed photo, in order, a file that cannot be read
included (status `unreadable`, with its reason), so a bad file is a counted row, never a lost batch.
`PredictionWriter` writes them as CSV, JSON or JSONL into a temporary file that replaces `out` only
when the run finished, so an interrupted run never leaves a file that looks complete, and then writes
the completion record `<out>.done.json` (counts per status, the bundle, when it finished).
"""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from vitalens.data import Dataset, load_dataset
from vitalens.imaging import ImageDecodeError, decode_image
from vitalens.results import CONTRACT_COLUMNS, Prediction, image_id_for, unreadable
from vitalens.runtime import predict_one

FORMATS = ("csv", "json", "jsonl")


def list_inputs(data: Path, task: Any) -> Dataset:
    """The photos to score: a manifest, the task's own dataset layout, a folder of images or one image."""
    return load_dataset(data, task)


def iter_predictions(dataset: Dataset, predictor: Any, **population: Any) -> Iterator[Prediction]:
    """Every listed photo's prediction, then every file the listing could not use, as `unreadable` rows."""
    for sample in dataset.samples:
        image_id = image_id_for(sample.image_path, dataset.root)
        try:
            rgb = decode_image(sample.image_path).rgb
        except ImageDecodeError as error:
            yield unreadable(image_id, str(error))
            continue
        yield predict_one(predictor, rgb, image_id, sample, **population)
    for problem in dataset.problems:
        yield unreadable(image_id_for(Path(problem.source), dataset.root), f"{problem.source}: {problem.reason}")


class PredictionWriter:
    """Writes predictions as they come; `close()` moves the finished file into place atomically."""

    def __init__(self, out: Path, columns: tuple[str, ...], fmt: str = "csv"):
        if fmt not in FORMATS:
            raise ValueError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
        self.out, self.fmt, self.columns = Path(out), fmt, tuple(columns)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.partial = self.out.with_name(self.out.name + ".partial")
        self.handle = self.partial.open("w", newline="")
        self.counts: Counter[str] = Counter()
        self._csv = csv.DictWriter(self.handle, fieldnames=[*CONTRACT_COLUMNS, *self.columns]) if fmt == "csv" else None
        if self._csv:
            self._csv.writeheader()
        elif fmt == "json":
            self.handle.write("[\n")

    def write(self, prediction: Prediction) -> None:
        if self._csv:
            self._csv.writerow(prediction.row(self.columns))
        else:
            separator = ",\n" if self.fmt == "json" and sum(self.counts.values()) else ""
            self.handle.write(separator + json.dumps(prediction.to_json()) + ("\n" if self.fmt == "jsonl" else ""))
        self.counts[prediction.status] += 1

    def close(self, **record: object) -> Path:
        """Move the finished file into place, then write its completion record (with `record`'s fields)."""
        if self.fmt == "json":
            self.handle.write("\n]\n")
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        self.done_record().unlink(missing_ok=True)
        os.replace(self.partial, self.out)
        summary = {"file": self.out.name, "format": self.fmt, "rows": sum(self.counts.values()), "by_status": dict(self.counts),
                   "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"), **record}  # fmt: skip
        self.done_record().write_text(json.dumps(summary, indent=2))
        return self.out

    def done_record(self) -> Path:
        return self.out.with_name(self.out.name + ".done.json")

    def abort(self) -> None:
        """An interrupted run: keep what was written under the .partial name, never under `out`."""
        self.handle.close()
