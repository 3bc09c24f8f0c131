"""Batch prediction over a folder, an image or a dataset with a bundle (serving world: no torch).

`iter_predictions` yields one `Prediction` per listed photo, in order, a file that cannot be read
included (status `unreadable`, with its reason), so a bad file is a counted row, never a lost batch.
Photos are decoded by a thread pool one batch ahead of the model (decoding releases the GIL), and each
batch goes through `runtime.predict_many` (one model call per batch for tasks with a batch hook); at
most two batches of pixels are held at once, so memory stays flat in the number of photos.
`PredictionWriter` writes them as CSV, JSON, JSONL or Parquet, a row at a time, into `<out>.partial`, which
replaces `out` only when the run finished (so an interrupted run never leaves a file that looks
complete), and then writes the completion record `<out>.done.json`. Re-running with the same `out`
resumes: the rows already in `<out>.partial` (or else in `out`) are kept, a torn last line is dropped,
and only the photos not yet scored are run (CSV, JSONL and Parquet; `restart=True` starts over).
Parquet output is a folder of shards (`vitalens.parquet_shards`), the layout Spark, DuckDB and Ray read.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from vitalens.data import Dataset
from vitalens.data.samples import Sample
from vitalens.imaging import ImageDecodeError, decode_image
from vitalens.parquet_shards import ShardWriter, read_shards
from vitalens.results import CONTRACT_COLUMNS, Prediction, image_id_for, unreadable
from vitalens.runtime import predict_many

FORMATS = ("csv", "json", "jsonl", "parquet")


BATCH_WITH_HOOK, THREADS_WITH_HOOK = 16, 2  # measured on 2 cores (benchmarks/scale.py): skin 2.0x, face 1.2x photo by photo


def default_pipeline(predictor: Any) -> tuple[int, int]:
    """(batch size, decoding threads): (16, 2) for a task whose predictor runs its model on a batch
    (`predict_batch`), else (1, 1): without one, bigger batches and more threads only compete with the
    model for the cores (hb-nails 11.3 photos/s with two decoding threads against 12.9 with one)."""
    return (BATCH_WITH_HOOK, THREADS_WITH_HOOK) if hasattr(predictor, "predict_batch") else (1, 1)


def pending(dataset: Dataset, skip: frozenset[str] = frozenset()) -> list[tuple[Sample, str]]:
    """(sample, image_id) of every listed photo not yet scored, in listing order."""
    listed = ((sample, image_id_for(sample.image_path, dataset.root)) for sample in dataset.samples)
    return [(sample, image_id) for sample, image_id in listed if image_id not in skip]


def photo_progress(rows: Iterator[Prediction], total: int, console: Any) -> Iterator[Prediction]:
    """`rows` with a progress bar on `console`: photos done, photos per second and the time left."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    speed = TextColumn("{task.fields[rate]}")
    with Progress(TextColumn("scoring"), BarColumn(), MofNCompleteColumn(), speed, TimeRemainingColumn(), console=console, transient=True) as bar:
        task = bar.add_task("scoring", total=total, rate="")
        for prediction in rows:
            bar.update(task, advance=1, rate=f"{bar.tasks[0].speed or 0:.1f} photos/s")
            yield prediction


def problem_rows(dataset: Dataset, skip: frozenset[str] = frozenset()) -> Iterator[Prediction]:
    """An `unreadable` row for every file the listing itself could not use."""
    for problem in dataset.problems:
        image_id = image_id_for(Path(problem.source), dataset.root)
        if image_id not in skip:
            yield unreadable(image_id, f"{problem.source}: {problem.reason}")


def decode_or_error(sample: Sample) -> Any:
    try:
        return decode_image(sample.image_path).rgb
    except ImageDecodeError as error:
        return error


def score_batch(predictor: Any, batch: list[tuple[Sample, str]], decoded: list[Any], population: dict[str, Any]) -> list[Prediction]:
    """One batch's predictions in order: a photo that did not decode is an `unreadable` row."""
    items = [(rgb, image_id, sample) for (sample, image_id), rgb in zip(batch, decoded) if not isinstance(rgb, ImageDecodeError)]
    answers = iter(predict_many(predictor, items, **population))
    return [unreadable(image_id, str(rgb)) if isinstance(rgb, ImageDecodeError) else next(answers) for (_, image_id), rgb in zip(batch, decoded)]


def iter_predictions(dataset: Dataset, predictor: Any, skip: frozenset[str] = frozenset(), batch_size: int = 1, threads: int = 1,
                     **population: Any) -> Iterator[Prediction]:  # fmt: skip
    """Every listed photo's prediction, then every file the listing could not use, as `unreadable` rows;
    photos whose image_id is in `skip` (already scored) are not decoded again. The rows are the same for
    any `batch_size` and `threads` (up to float noise in the model's outputs)."""
    todo, size = pending(dataset, skip), max(1, batch_size)
    with ThreadPoolExecutor(max(1, threads)) as pool:
        queued: deque[tuple[list, list[Future]]] = deque()
        for start in range(0, len(todo), size):
            batch = todo[start : start + size]
            queued.append((batch, [pool.submit(decode_or_error, sample) for sample, _ in batch]))
            if len(queued) == 2:  # the next batch decodes while this one runs
                batch, futures = queued.popleft()
                yield from score_batch(predictor, batch, [f.result() for f in futures], population)
        while queued:
            batch, futures = queued.popleft()
            yield from score_batch(predictor, batch, [f.result() for f in futures], population)
    yield from problem_rows(dataset, skip)


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
        if restart and fmt == "parquet":
            shutil.rmtree(self.partial, ignore_errors=True)
        kept = [] if restart else self._rows_to_keep()
        self.done_ids = frozenset(row["image_id"] for row in kept)
        self.kept = kept[:64]  # the first rows kept from an earlier run, for the terminal
        self.counts.update(row["status"] for row in kept)
        self.handle, self._csv, self._shards = None, None, None
        if fmt == "parquet":  # the kept shards stay as they are; new rows go into new shards
            if not self.partial.exists() and self.out.is_dir():
                os.replace(self.out, self.partial)
            self._shards = ShardWriter(self.partial, self.fieldnames)
            return
        self.handle = self.partial.open("w", newline="")
        self._csv = csv.DictWriter(self.handle, fieldnames=self.fieldnames) if fmt == "csv" else None
        if self._csv:
            self._csv.writeheader()
        elif fmt == "json":
            self.handle.write("[\n")
        for written, row in enumerate(kept):
            self._write_row(row, first=written == 0)

    def _rows_to_keep(self) -> list[dict]:
        """The complete rows of an earlier run into the same `out` (its .partial first), in order."""
        source = next((p for p in (self.partial, self.out) if p.exists()), None)
        if source is None:
            return []
        if self.fmt == "parquet" or source.is_dir():
            if not source.is_dir() or self.fmt != "parquet":
                raise ValueError(f"{source}: written in another format than {self.fmt}; pass --restart or another --out")
            rows = read_shards(source)
            if rows and list(rows[0]) != self.fieldnames:
                raise ValueError(f"{source}: written with other columns (another task or bundle); pass --restart or another --out")
            return rows
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

    def _write_row(self, row: dict, first: bool) -> None:
        if self._shards:
            self._shards.write(row)
            return
        if self._csv:
            self._csv.writerow(row)
        else:
            separator = ",\n" if self.fmt == "json" and not first else ""
            self.handle.write(separator + json.dumps(row) + ("\n" if self.fmt == "jsonl" else ""))
        self.handle.flush()  # a crash loses at most the row being written, and resume drops it

    def write(self, prediction: Prediction) -> None:
        tabular = self._csv is not None or self._shards is not None
        self._write_row(prediction.row(self.columns) if tabular else prediction.to_json(), first=not sum(self.counts.values()))
        self.counts[prediction.status] += 1

    def close(self, **record: object) -> Path:
        """Move the finished file into place, then write its completion record (with `record`'s fields)."""
        if self._shards:
            self._shards.flush()
            shutil.rmtree(self.out, ignore_errors=True)  # only a finished run's folder (an unfinished one was moved to .partial)
        else:
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
        if self._shards:
            self._shards.flush()  # the buffered rows are complete: keep them for the resumed run
        else:
            self.handle.close()
