"""Loader for the Yakimov et al. (2024) fingernail layout: `metadata.csv` + `photo/<PATIENT_ID>.jpg`.

Hb is stored in g/L and converted to g/dL; the session (MEASUREMENT_DATE hash) is the validation
group, so no session ever sits on both sides of a split.
"""

from __future__ import annotations

import csv
from pathlib import Path

from vitalens.data.samples import Dataset, Problem, Sample, parse_boxes

METADATA = "metadata.csv"


def is_yakimov_layout(root: Path) -> bool:
    return (root / METADATA).is_file() and (root / "photo").is_dir()


def load_yakimov(root: str | Path) -> Dataset:
    root = Path(root)
    table = root / METADATA
    if not table.is_file():
        raise FileNotFoundError(f"{table}: not found; a Yakimov-layout folder holds metadata.csv and photo/.")
    samples: list[Sample] = []
    problems: list[Problem] = []
    with table.open(newline="") as handle:
        for line_number, row in enumerate(csv.DictReader(handle), start=2):
            where = f"{table}:{line_number}"
            try:
                samples.append(_sample_from_row(root, row))
            except (KeyError, ValueError) as error:
                problems.append(Problem(where, f"bad row ({error}); fix or remove it"))
    present = []
    for sample in samples:
        if sample.image_path.is_file():
            present.append(sample)
        else:
            problems.append(Problem(str(sample.image_path), "listed in metadata.csv but the photo is missing"))
    return Dataset("yakimov2024", root, present, problems)


def _sample_from_row(root: Path, row: dict[str, str]) -> Sample:
    patient = row["PATIENT_ID"].strip()
    hb_g_per_l = float(row["HB_LEVEL_GperL"])
    if not 20 <= hb_g_per_l <= 250:
        raise ValueError(f"HB_LEVEL_GperL={hb_g_per_l} is outside 20-250 g/L")
    return Sample(
        image_path=root / "photo" / f"{patient}.jpg",
        image_id=patient,
        group=row["MEASUREMENT_DATE"].strip(),
        targets={"hb": hb_g_per_l / 10.0},
        boxes={"nail": parse_boxes(row["NAIL_BOUNDING_BOXES"]), "skin": parse_boxes(row["SKIN_BOUNDING_BOXES"])},
        attributes={"session": row["MEASUREMENT_DATE"].strip(), "person": patient},
    )


CITATION = (
    "Yakimov B., Buiankin K., Denisenko G., Bardadin I., Shitova Y., Shirshin E. (2024). Dataset of human "
    "skin and fingernails images for non-invasive haemoglobin level assessment. Scientific Data 11:1070, "
    "doi:10.1038/s41597-024-03895-9 (CC BY 4.0)."
)
