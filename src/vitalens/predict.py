"""Batch prediction over a folder, an image or a dataset with a bundle (serving world: no torch).

`iter_predictions` yields one `Prediction` per listed photo, in order, a file that cannot be read
included (status `unreadable`, with its reason), so a bad file is a counted row, never a lost batch.
`PredictionWriter` writes them as CSV, JSON or JSONL, a row at a time, into `<out>.partial`, which
replaces `out` only when the run finished (so an interrupted run never leaves a file that looks
complete), and then writes the completion record `<out>.done.json`. Re-running with the same `out`
resumes: the rows already in `<out>.partial` (or else in `out`) are kept, a torn last line is dropped,
and only the photos not yet scored are run (CSV and JSONL; `restart=True` starts over).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from vitalens.data import Dataset
from vitalens.imaging import ImageDecodeError, decode_image
from vitalens.results import CONTRACT_COLUMNS, Prediction, image_id_for, unreadable
from vitalens.runtime import predict_one

FORMATS = ("csv", "json", "jsonl")


def iter_predictions(dataset: Dataset, predictor: Any, skip: frozenset[str] = frozenset(), **population: Any) -> Iterator[Prediction]:
    """Every listed photo's prediction, then every file the listing could not use, as `unreadable` rows;
    photos whose image_id is in `skip` (already scored) are not decoded again."""
    for sample in dataset.samples:
        image_id = image_id_for(sample.image_path, dataset.root)
        if image_id in skip:
            continue
        try:
            rgb = decode_image(sample.image_path).rgb
        except ImageDecodeError as error:
            yield unreadable(image_id, str(error))
            continue
        yield predict_one(predictor, rgb, image_id, sample, **population)
    for problem in dataset.problems:
        image_id = image_id_for(Path(problem.source), dataset.root)
        if image_id not in skip:
            yield unreadable(image_id, f"{problem.source}: {problem.reason}")


class PredictionWriter:
    """Writes predictions as they come; `close()` moves the finished file into place atomically."""

    def __init__(self, out: Path, columns: tuple[str, ...], fmt: str = "csv", restart: bool = False):
        if fmt not in FORMATS:
            raise ValueError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
        self.out, self.fmt, self.columns = Path(out), fmt, tuple(columns)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.partial = self.out.with_name(self.out.name + ".partial")
        self.counts: Counter[str] = Counter()
        self.fieldnames = [*CONTRACT_COLUMNS, *self.columns]
        kept = [] if restart else self._rows_to_keep()
        self.done_ids = frozenset(row["image_id"] for row in kept)
        self.kept = kept[:64]  # the first rows kept from an earlier run, for the terminal
        self.handle = self.partial.open("w", newline="")
        self._csv = csv.DictWriter(self.handle, fieldnames=self.fieldnames) if fmt == "csv" else None
        if self._csv:
            self._csv.writeheader()
        elif fmt == "json":
            self.handle.write("[\n")
        for row in kept:
            self._write_row(row)
            self.counts[row["status"]] += 1

    def _rows_to_keep(self) -> list[dict]:
        """The complete rows of an earlier run into the same `out` (its .partial first), in order."""
        source = next((p for p in (self.partial, self.out) if p.is_file()), None)
        if source is None:
            return []
        if self.fmt == "json":
            raise ValueError(f"{source}: a JSON array cannot be resumed; write csv or jsonl to resume, or pass --restart")
        text = source.read_text()
        text = text[: text.rfind("\n") + 1]  # a line the earlier run was killed in the middle of is dropped
        if self.fmt == "jsonl":
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        reader = csv.DictReader(io.StringIO(text))
        if reader.fieldnames != self.fieldnames:
            raise ValueError(f"{source}: written with other columns (another task or bundle); pass --restart or another --out")
        return list(reader)

    def _write_row(self, row: dict) -> None:
        if self._csv:
            self._csv.writerow(row)
        else:
            separator = ",\n" if self.fmt == "json" and sum(self.counts.values()) else ""
            self.handle.write(separator + json.dumps(row) + ("\n" if self.fmt == "jsonl" else ""))
        self.handle.flush()  # a crash loses at most the row being written, and resume drops it

    def write(self, prediction: Prediction) -> None:
        self._write_row(prediction.row(self.columns) if self._csv else prediction.to_json())
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
