"""Loader for the CP-AnemiC layout: `Anemic/` and `Non-anemic/` PNGs of segmented palpebral conjunctiva
and `Anemia_Data_Collection_Sheet.csv` (IMAGE_ID, HB_LEVEL g/dL, Age(Months), GENDER, HOSPITAL, ...).

Some photos are byte-for-byte copies of others (by the sha256 of the file). They are resolved *before* any
split, since a copy on both sides of a split would grade the model on its own training photo: when every
copy's sheet row gives the same Hb and hospital the first in name order is kept; when the rows disagree
(in the published set most do) no copy is kept, since which label belongs to the photo is unknown. Every
dropped photo is a Problem naming why, so the report counts them.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

from vitalens.data.samples import Dataset, Problem, Sample

SHEET = "Anemia_Data_Collection_Sheet.csv"
FOLDERS = ("Anemic", "Non-anemic")
HB_RANGE_G_DL = (2.0, 25.0)
DUPLICATE = "exact duplicate of {first} (same sha256) with the same label; dropped before any split"
CONFLICT = "exact duplicate of {first} (same sha256) whose sheet rows disagree ({labels}); every copy dropped"


def recognises(path: str | Path) -> bool:
    """A CP-AnemiC folder: the collection sheet beside at least one of the two photo folders."""
    root = Path(path)
    return (root / SHEET).is_file() and any((root / folder).is_dir() for folder in FOLDERS)


def _sheet(root: Path) -> dict[str, dict[str, str]]:
    with (root / SHEET).open(newline="", encoding="utf-8-sig") as handle:
        return {row["IMAGE_ID"].strip(): {k.strip(): (v or "").strip() for k, v in row.items() if k} for row in csv.DictReader(handle)}


def _label(row: dict[str, str] | None) -> tuple[float, float, str, str] | str:
    """(hb, age in months, sex, hospital) of a sheet row, or why the row cannot be used."""
    if row is None:
        return f"not in {SHEET}"
    try:
        hb, months = float(row["HB_LEVEL"]), float(row["Age(Months)"])
    except (KeyError, ValueError):
        return f"HB_LEVEL {row.get('HB_LEVEL')!r} or Age(Months) {row.get('Age(Months)')!r} is not a number"
    if not HB_RANGE_G_DL[0] <= hb <= HB_RANGE_G_DL[1]:
        return f"HB_LEVEL {hb:g} g/dL is outside the plausible {HB_RANGE_G_DL[0]:g}-{HB_RANGE_G_DL[1]:g} g/dL"
    if not row.get("HOSPITAL"):
        return "no HOSPITAL (the validation group)"
    return hb, months, row.get("GENDER", "").lower() or "unknown", row["HOSPITAL"]


def load_cp_anemic(folder: str | Path) -> Dataset:
    """Every labelled, distinct photo; group = hospital; age (months) and sex as audit attributes."""
    root = Path(folder)
    if not recognises(root):
        raise FileNotFoundError(f"{root}: not a CP-AnemiC folder (needs {SHEET} and {' or '.join(FOLDERS)}/).")
    sheet = _sheet(root)
    samples: list[Sample] = []
    problems: list[Problem] = []
    copies: dict[str, list[Path]] = {}
    for path in sorted(p for folder_name in FOLDERS for p in (root / folder_name).glob("*.png")):
        copies.setdefault(hashlib.sha256(path.read_bytes()).hexdigest(), []).append(path)
    for paths in copies.values():
        labels = [_label(sheet.get(path.stem)) for path in paths]
        if isinstance(labels[0], str):
            problems.append(Problem(str(paths[0]), labels[0]))
        agree = len({label[0::3] if not isinstance(label, str) else label for label in labels}) == 1
        for path in paths[1:]:
            reason = DUPLICATE if agree else CONFLICT
            shown = ", ".join(f"{p.stem}: {l if isinstance(l, str) else f'{l[0]:g} g/dL, {l[3]}'}" for p, l in zip(paths, labels))
            problems.append(Problem(str(path), reason.format(first=paths[0].name, labels=shown)))
        if not agree or isinstance(labels[0], str):
            if not agree and not isinstance(labels[0], str):
                problems.append(Problem(str(paths[0]), CONFLICT.format(first=paths[1].name, labels="see its copies")))
            continue
        hb, months, sex, hospital = labels[0]
        path = paths[0]
        attributes = {"hospital": hospital, "age_months": months, "sex": sex, "remark": path.parent.name}
        samples.append(Sample(path, path.stem, hospital, {"hb": hb}, {}, attributes))
    return Dataset(root.name, root, samples, problems)
