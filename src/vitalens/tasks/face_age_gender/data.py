"""Loader for UTKFace aligned crops: labels live in the file name `AGE_GENDER_RACE_DATETIME.jpg.chip.jpg`.

UTKFace has no person id, so each image is its own validation group: the same person may appear on
both sides of a split, which makes held-out scores optimistic for unseen people. The held-out test
split is fixed by a hash of the file name, so no tuning run can move an image into or out of it.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from vitalens.data.samples import Dataset, Problem, Sample
from vitalens.imaging import list_images

GENDERS = ("male", "female")
RACES = ("White", "Black", "Asian", "Indian", "Others")
AGE_BANDS = ((0, 17, "0-17"), (18, 29, "18-29"), (30, 49, "30-49"), (50, 69, "50-69"), (70, 200, "70+"))
TEST_FRACTION = 0.15
VALIDATION_FRACTION = 0.15

# Tolerates a stray space before ".jpg" but requires all of age, gender and race.
_NAME = re.compile(r"^(?P<age>\d+)_(?P<gender>\d+)_(?P<race>\d+)_(?P<stamp>\d+)\s*\.jpg(\.chip\.jpg)?$", re.IGNORECASE)


def age_band(age: float) -> str:
    for low, high, label in AGE_BANDS:
        if low <= age <= high:
            return label
    raise ValueError(f"age {age} is outside 0-200 years")


def parse_utkface_name(name: str) -> dict | Problem:
    """Labels from a UTKFace file name, or a Problem saying why the name cannot be used."""
    match = _NAME.match(name)
    if not match:
        return Problem(name, "name is not AGE_GENDER_RACE_DATETIME.jpg.chip.jpg (a field is missing); rename or remove it")
    age, gender, race = int(match["age"]), int(match["gender"]), int(match["race"])
    if not 0 <= age <= 116:
        return Problem(name, f"age {age} is outside 0-116, the range UTKFace documents")
    if gender not in (0, 1):
        return Problem(name, f"gender code {gender} is not 0 (male) or 1 (female)")
    if not 0 <= race < len(RACES):
        return Problem(name, f"race code {race} is not 0-4 (White, Black, Asian, Indian, Others)")
    return {"age": float(age), "gender": GENDERS[gender], "race": RACES[race], "age_band": age_band(age)}


def split_of(image_id: str) -> str:
    """'test', 'validation' or 'train', fixed by the file name's hash (stable across machines and runs)."""
    fraction = int(hashlib.sha1(image_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    if fraction < TEST_FRACTION:
        return "test"
    if fraction < TEST_FRACTION + VALIDATION_FRACTION:
        return "validation"
    return "train"


def load_utkface(folder: str | Path) -> Dataset:
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a folder; pass the folder of UTKFace crops (e.g. utkface/images).")
    images_dir = folder / "images" if (folder / "images").is_dir() else folder
    samples: list[Sample] = []
    problems: list[Problem] = []
    for path in list_images(images_dir):
        labels = parse_utkface_name(path.name)
        if isinstance(labels, Problem):
            problems.append(Problem(str(path), labels.reason))
            continue
        image_id = path.name
        samples.append(
            Sample(
                image_path=path,
                image_id=image_id,
                group=image_id,
                targets={"age": labels["age"], "gender": labels["gender"]},
                attributes={"race": labels["race"], "gender": labels["gender"], "age_band": labels["age_band"], "split": split_of(image_id)},
            )
        )
    return Dataset("utkface", images_dir, samples, problems)

