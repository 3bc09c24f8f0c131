"""Photos of every body site in ../shared/data, split once into a tuning half and a test half, for the
input gates: a gate's threshold is chosen on `tune` photos only and its answered rates are reported
on `test` photos (benchmarks/wrong_photos.py). The split is by the site's group (session, person,
hospital, image), by a hash, so it never moves and one group is never on both sides.

Also the synthetic images every model must refuse: blanks, noise, gradients and a rendered document.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw

from vitalens.data.shared import find_shared_dataset

PARTS = ("tune", "test")


@dataclass(frozen=True)
class SitePhoto:
    path: Path
    group: str


def _yakimov(root: Path) -> list[SitePhoto]:
    with (root / "metadata.csv").open(newline="") as handle:
        return [SitePhoto(root / "photo" / f"{row['PATIENT_ID']}.jpg", row["MEASUREMENT_DATE"]) for row in csv.DictReader(handle)]


def _utkface(root: Path) -> list[SitePhoto]:
    return [SitePhoto(path, path.name) for path in sorted(root.glob("*.jpg"))]


def _fitzpatrick(root: Path) -> list[SitePhoto]:
    return [SitePhoto(path, path.stem) for path in sorted((root / "images").glob("*.jpg"))]


def _lips(root: Path) -> list[SitePhoto]:
    person = re.compile(r"In(?:d|v)ividual(\d+)", re.I)  # one file spells it "Invividual": the same person (shared/data/README.md)
    return [SitePhoto(p, (f"individual{m.group(1)}" if (m := person.search(p.name)) else p.stem)) for p in sorted(root.glob("*.jpg"))]


def _cp_anemic(root: Path) -> list[SitePhoto]:
    with (root / "Anemia_Data_Collection_Sheet.csv").open(newline="", encoding="utf-8-sig") as handle:
        hospital = {row["IMAGE_ID"].strip(): row["HOSPITAL"].strip() for row in csv.DictReader(handle)}
    paths = sorted((root / "Anemic").glob("*.png")) + sorted((root / "Non-anemic").glob("*.png"))
    return [SitePhoto(p, hospital.get(p.stem, p.stem)) for p in paths]


# keyed by body site, the words tasks use in Task.body_site
SITES: dict[str, tuple[str, Callable[[Path], list[SitePhoto]]]] = {
    "fingernail": ("yakimov2024", _yakimov),
    "face": ("utkface/images", _utkface),
    "skin": ("fitzpatrick17k-ajl", _fitzpatrick),
    "lips": ("lips-starter/images", _lips),
    "conjunctiva": ("cp-anemic", _cp_anemic),
}


def part_of(group: str) -> str:
    return PARTS[int(hashlib.sha1(group.encode()).hexdigest()[:8], 16) % 2]


def site_photos(site: str, part: str | None = None, limit: int | None = None) -> list[Path]:
    """The site's photos (in `part`, when given), spread evenly when `limit` asks for fewer; [] without ../shared."""
    folder, lister = SITES[site]
    root = find_shared_dataset(folder)
    if root is None:
        return []
    photos = [p.path for p in lister(root) if part is None or part_of(p.group) == part]
    if limit is not None and len(photos) > limit:
        photos = [photos[int(i)] for i in np.linspace(0, len(photos) - 1, limit)]
    return photos


def site_groups(site: str) -> dict[Path, str]:
    """Photo -> its group, for grouped cross-validation of a gate's threshold within the tuning half."""
    folder, lister = SITES[site]
    root = find_shared_dataset(folder)
    return {p.path: p.group for p in lister(root)} if root is not None else {}


def synthetic_images(size: tuple[int, int] = (480, 640), seed: int = 0) -> dict[str, np.ndarray]:
    """Images no model should answer: uniform fields, noise, gradients and a rendered text page."""
    rng = np.random.default_rng(seed)
    height, width = size
    ramp = np.linspace(0, 255, width, dtype=np.float32)[None, :].repeat(height, 0)
    images = {
        "black": np.zeros((height, width, 3), np.uint8),
        "white": np.full((height, width, 3), 255, np.uint8),
        "grey": np.full((height, width, 3), 128, np.uint8),
        "skin-coloured": np.broadcast_to(np.array([224, 172, 150], np.uint8), (height, width, 3)).copy(),
        "noise": rng.integers(0, 256, (height, width, 3), dtype=np.uint8),
        "grey-noise": np.repeat(rng.integers(0, 256, (height, width, 1), dtype=np.uint8), 3, axis=2),
        "gradient": np.stack([ramp, ramp[:, ::-1], np.full_like(ramp, 128)], axis=2).astype(np.uint8),
        "radial": _radial(height, width),
        "grey-square": np.full((200, 200, 3), 128, np.uint8),
        "red-square": np.broadcast_to(np.array([200, 40, 50], np.uint8), (200, 200, 3)).copy(),
    }
    images["document"] = _document(height, width)
    images["document-photo"] = np.clip(_document(height, width).astype(np.int16) + rng.normal(0, 12, (height, width, 3)), 0, 255).astype(np.uint8)
    return images


def _radial(height: int, width: int) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    distance = np.hypot(y - height / 2, x - width / 2) / np.hypot(height / 2, width / 2)
    return np.repeat((255 * (1 - distance))[..., None], 3, axis=2).clip(0, 255).astype(np.uint8)


def _document(height: int, width: int) -> np.ndarray:
    page = Image.new("RGB", (width, height), (250, 250, 245))
    draw = ImageDraw.Draw(page)
    for line in range(0, height - 40, 22):
        draw.text((30, 20 + line), "Haemoglobin report - laboratory results page, not a photo of a person " * 2, fill=(20, 20, 20))
    return np.asarray(page)
