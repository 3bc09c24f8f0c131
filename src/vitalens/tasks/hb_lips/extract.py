"""`vitalens extract` (the lips task's own command, declared in its `commands`): the lips seed's tables
from a folder of photos.

Writes, into the output folder:
- `labels.csv`: image_id, hgb (g/dL), person, ethnicity, for photos whose file names carry a label;
- `meta.csv`: the seed's camera/capture columns (`vitalens.tasks.hb_lips.camera.META_COLUMNS`) for every readable photo;
- `combined_data.csv`: labels joined with meta on image_id (labelled photos only);
- `problems.csv`: every file that was skipped or left unlabelled, and why.
Nothing is invented: what a photo does not tell is `unknown`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vitalens import DISCLAIMER
from vitalens.data.samples import Problem
from vitalens.imaging import ImageDecodeError, decode_image, list_images
from vitalens.tasks.hb_lips.camera import META_COLUMNS, meta_row
from vitalens.tasks.hb_lips.data import parse_lip_filename
from vitalens.tasks.hb_lips.regions import find_lips

LABEL_COLUMNS = ("image_id", "hgb", "person", "ethnicity")


@dataclass
class ExtractReport:
    out_dir: Path
    images: int
    labels: list[dict[str, str]] = field(default_factory=list)
    meta: list[dict[str, str]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def files(self) -> list[Path]:
        return [self.out_dir / name for name in ("labels.csv", "meta.csv", "combined_data.csv", "problems.csv")]


def extract_folder(folder: str | Path, out_dir: str | Path) -> ExtractReport:
    folder, out_dir = Path(folder), Path(out_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a folder; pass the folder that holds the photos.")
    paths = list_images(folder)
    report = ExtractReport(out_dir, images=len(paths))
    for path in paths:
        try:
            decoded = decode_image(path)
        except ImageDecodeError as error:
            report.problems.append(Problem(str(path), str(error)))
            continue
        region = find_lips(decoded.rgb).region
        report.meta.append(meta_row(path.stem, decoded.metadata, decoded.rgb, region))
        label = parse_lip_filename(path)
        if isinstance(label, Problem):
            report.problems.append(Problem(label.source, f"unlabelled (meta.csv only): {label.reason}"))
        else:
            report.labels.append(
                {"image_id": label.image_id, "hgb": f"{label.hb_g_dl:g}", "person": label.person, "ethnicity": label.ethnicity}
            )
    _write_tables(report)
    return report


def _write_tables(report: ExtractReport) -> None:
    report.out_dir.mkdir(parents=True, exist_ok=True)
    meta_by_id = {row["image_id"]: row for row in report.meta}
    combined = [{**label, **meta_by_id[label["image_id"]]} for label in report.labels]
    labels_path, meta_path, combined_path, problems_path = report.files
    _write_csv(labels_path, LABEL_COLUMNS, report.labels)
    _write_csv(meta_path, META_COLUMNS, report.meta)
    _write_csv(combined_path, LABEL_COLUMNS + META_COLUMNS[1:], combined)
    _write_csv(problems_path, ("source", "reason"), [{"source": p.source, "reason": p.reason} for p in report.problems])


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows({c: row[c] for c in columns} for row in rows)


def extract(
    data: Path = typer.Option(..., "--data", help="Folder of lip photos (labels are read from file names)."),
    out: Path = typer.Option(..., "--out", help="Folder to write labels.csv, meta.csv, combined_data.csv, problems.csv."),
) -> None:
    """Lip photos: labels.csv, meta.csv and combined_data.csv from file names and EXIF/HEIC metadata."""
    console = Console()
    try:
        report = extract_folder(data, out)
    except FileNotFoundError as error:
        console.print(str(error), style="red", markup=False)
        raise typer.Exit(code=2) from None
    console.print(_summary_table(data, report))
    for problem in report.problems:  # file names are the user's text: never read as rich markup
        console.print(Text.assemble((problem.source, "yellow"), f": {problem.reason}"))
    console.print("wrote " + ", ".join(str(p) for p in report.files), markup=False)
    console.print(DISCLAIMER, style="dim", markup=False)


def _summary_table(data: Path, report: ExtractReport) -> Table:
    labels = {row["image_id"]: row for row in report.labels}
    table = Table(title=Text(f"{data}: {report.images} images, {len(report.labels)} labelled, {len(report.problems)} problems"))
    for column in ("image_id", "hgb", "person", "ethnicity", "device", "camera", "iso", "light", "skin tone"):
        table.add_column(column)
    for meta in report.meta:
        label = labels.get(meta["image_id"], {})
        device = meta["device_model"] if meta["device_model"] != "unknown" else meta["device_brand"]
        cells = (meta["image_id"], label.get("hgb", "-"), label.get("person", "-"), label.get("ethnicity", "-"),
                 device, meta["camera_type"], meta["iso_bucket"], meta["ambient_light"], meta["skin_tone_proxy"])  # fmt: skip
        table.add_row(*(Text(cell) for cell in cells))
    return table
