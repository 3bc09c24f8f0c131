"""Choosing a loader, the generic manifest CSV, and plain image folders."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vitalens.data.samples import Dataset, Problem, Sample, parse_boxes
from vitalens.imaging import IMAGE_SUFFIXES

MANIFEST_COLUMNS = ("image", "group")
_BOX_COLUMNS = {"nail_boxes": "nail", "skin_boxes": "skin"}


MANIFEST_SUFFIXES = (".csv", ".parquet")


def load_dataset(path: str | Path, task: Any = None, own_layout: bool = False) -> Dataset:
    """A manifest CSV or Parquet file (or a folder holding manifest.csv); else the task's own layout when the task
    recognises the folder (or `own_layout` says it is one); else a plain folder of images."""
    from vitalens.tasks.spec import resolve  # the spine reads a task only through its declaration
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder; pass a dataset folder, a manifest CSV or images.")
    target_names = tuple(t.name for t in task.targets) if task is not None else ()
    if path.is_file() and path.suffix.lower() in MANIFEST_SUFFIXES:
        return load_manifest(path, target_names)
    if path.is_dir() and (path / "manifest.csv").is_file():
        return load_manifest(path / "manifest.csv", target_names)
    if task is not None and task.loader and path.is_dir():
        if own_layout or (task.recognises and resolve(task.recognises)(path)):
            return resolve(task.loader)(path)
    return load_image_folder(path)


def csv_rows(csv_path: Path, required: tuple[str, ...]) -> Iterator[tuple[str, dict[str, str]]]:
    """The rows of a labels CSV, each with its `file:line` for problem reports; missing columns are one clear error."""
    with csv_path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{csv_path}: needs columns {missing}; found {reader.fieldnames}.")
        for line_number, row in enumerate(reader, start=2):
            yield f"{csv_path}:{line_number}", row


def parquet_rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[str, dict[str, str]]]:
    """The rows of a Parquet listing (an archive's paths on shared storage) as text, like a CSV's."""
    import pyarrow.parquet as pq  # only for a Parquet listing (the `scale` extra)

    table = pq.read_table(path)
    missing = [c for c in required if c not in table.column_names]
    if missing:
        raise ValueError(f"{path}: needs columns {missing}; found {table.column_names}.")
    for number, row in enumerate(table.to_pylist(), start=1):
        yield f"{path}:row {number}", {k: "" if v is None else str(v) for k, v in row.items()}


def load_manifest(csv_path: str | Path, target_names: tuple[str, ...] = ()) -> Dataset:
    """A user's own data: `image,group[,<target>...][,nail_boxes,skin_boxes][,<attribute>...]`, as CSV
    or as Parquet (the same columns).

    Image paths are relative to the listing. Columns named like a task target become targets; box
    columns hold `[[ymin, xmin, ymax, xmax], ...]`; every other column is an audit attribute.
    """
    csv_path = Path(csv_path)
    samples: list[Sample] = []
    problems: list[Problem] = []
    rows = parquet_rows if csv_path.suffix.lower() == ".parquet" else csv_rows
    for where, row in rows(csv_path, MANIFEST_COLUMNS):
        try:
            samples.append(_manifest_sample(csv_path.parent, row, target_names))
        except (ValueError, KeyError) as error:
            problems.append(Problem(where, str(error)))
    present = [s for s in samples if s.image_path.is_file()]
    problems += [Problem(str(s.image_path), "listed in the manifest but missing") for s in samples if not s.image_path.is_file()]
    return Dataset(csv_path.stem, csv_path.parent, present, problems)


def _manifest_sample(root: Path, row: dict[str, str], target_names: tuple[str, ...]) -> Sample:
    image = (row.get("image") or "").strip()
    if not image:
        raise ValueError("empty 'image' field")
    image_path = (root / image).resolve()
    targets = {}
    for name in target_names:
        value = (row.get(name) or "").strip()
        if value:
            targets[name] = _number_or_text(value)
    boxes = {kind: parse_boxes(row[column]) for column, kind in _BOX_COLUMNS.items() if (row.get(column) or "").strip()}
    reserved = set(MANIFEST_COLUMNS) | set(target_names) | set(_BOX_COLUMNS)
    attributes = {k: v for k, v in row.items() if k not in reserved and v not in (None, "")}
    group = (row.get("group") or "").strip() or image_path.stem
    return Sample(image_path, image_path.stem, group, targets, boxes, attributes)


def _number_or_text(value: str) -> float | str:
    try:
        return float(value)
    except ValueError:
        return value


def load_image_folder(path: str | Path) -> Dataset:
    """Unlabelled images (a folder or one file) for prediction; each image is its own group. Everything
    else in the folder (other suffixes, sub-folders, broken links) is listed as a problem, so it is
    counted and reported, never silently passed over. Hidden files (".*") are left alone."""
    path = Path(path)
    if path.is_file():
        if path.suffix.lower() in IMAGE_SUFFIXES:
            return Dataset(path.name, path.parent, [Sample(path, path.stem, path.stem)])
        return Dataset(path.name, path.parent, [], [Problem(str(path), f"suffix {path.suffix!r} is not an image type vitalens reads")])
    samples, problems = [], []
    for entry in sorted(path.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix.lower() in IMAGE_SUFFIXES:
            samples.append(Sample(entry, entry.stem, entry.stem))
        else:
            problems.append(Problem(str(entry), _not_an_image(entry)))
    return Dataset(path.name, path, samples, problems)


def _not_an_image(entry: Path) -> str:
    if entry.is_symlink() and not entry.exists():
        return "a broken link: its target is missing"
    if entry.is_dir():
        return "a folder: vitalens does not look inside sub-folders; pass it on its own"
    return f"suffix {entry.suffix!r} is not an image type vitalens reads ({', '.join(IMAGE_SUFFIXES)})"
