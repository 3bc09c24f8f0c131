"""Loader for lip photos labelled in their file names (the lips starter set of the Hb-from-lips case).

Names look like `HgB_12.0gdl_Individual02_1.jpg`, `HgB_8.9gdl_Invividual02_01.jpg` (a misspelling of
the same person), `Random_7.8gdl_ChineseOrigin.jpg` or `Random_HgB_4.1gdl.jpg`. The parts are
separated by `_` and may come in any order:

- `<number>gdl`: haemoglobin in g/dL (required, exactly once, within `HB_RANGE_G_DL`);
- `Individual<NN>` (or a near-miss spelling): the person; every photo of one person is one group;
- `Random`: a one-off photo; the photo is its own person;
- `<Something>Origin`: an ethnicity cue (`ChineseOrigin` -> `Chinese`, `MiddleEasternOrigin` ->
  `Middle Eastern`); `EthnicityUnknown` or no cue -> `unknown`;
- `HgB`: a marker; a bare number after the person: the photo's index.

A name that gives no Hb, an implausible Hb, no person, or a part it does not understand becomes a
`Problem` naming the file and the fix; it is never guessed.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from vitalens.data.samples import Dataset, Problem, Sample
from vitalens.imaging import ImageDecodeError, list_images
from vitalens.tasks.hb_lips.camera import read_camera_metadata

HB_RANGE_G_DL = (2.0, 25.0)
UNKNOWN = "unknown"

_HB = re.compile(r"^(\d+(?:\.\d+)?)\s*g\s*d\s*l$", re.IGNORECASE)
_PERSON = re.compile(r"^([A-Za-z]+?)(\d+)$")
_ORIGIN = re.compile(r"^([A-Za-z]+)Origin$")
_CAMEL_WORD = re.compile(r"[A-Z][a-z]*|[a-z]+")
_MARKERS = {"hgb", "hb"}
_RANDOM = "random"
_INDIVIDUAL = "individual"
_UNKNOWN_ETHNICITY = {"ethnicityunknown", "unknownethnicity", "unknownorigin"}
NAME_HELP = "name it like HgB_12.0gdl_Individual02_1.jpg or Random_HgB_7.8gdl_ChineseOrigin.jpg"


@dataclass(frozen=True)
class LipLabel:
    image_id: str
    hb_g_dl: float
    person: str
    ethnicity: str
    photo_index: int | None


def parse_lip_filename(path: str | Path) -> LipLabel | Problem:
    """The labels a lip photo's file name carries, or a Problem saying why it has none."""
    path = Path(path)
    hb_values: list[float] = []
    person = ethnicity = None
    is_random = False
    index = None
    not_understood = []
    for part in (p for p in path.stem.split("_") if p):
        lowered = part.lower()
        hb, origin = _HB.match(part), _ORIGIN.match(part)
        if hb:
            hb_values.append(float(hb.group(1)))
        elif lowered in _MARKERS:
            continue
        elif lowered == _RANDOM:
            is_random = True
        elif lowered in _UNKNOWN_ETHNICITY:
            ethnicity = UNKNOWN
        elif origin:
            ethnicity = " ".join(_CAMEL_WORD.findall(origin.group(1)))
        elif part.isdigit() and person is not None:
            index = int(part)
        elif _person_token(part):
            person = _person_token(part)
        else:
            not_understood.append(part)
    problem = _label_problem(hb_values, not_understood, person is not None or is_random)
    if problem:
        return Problem(str(path), problem)
    return LipLabel(path.stem, hb_values[0], person or path.stem, ethnicity or UNKNOWN, index)


def _label_problem(hb_values: list[float], not_understood: list[str], has_person: bool) -> str | None:
    low, high = HB_RANGE_G_DL
    if not hb_values:
        return f"no haemoglobin value like '12.0gdl' in the file name; {NAME_HELP}"
    if len(hb_values) > 1:
        return f"several haemoglobin values {hb_values} in the file name; keep one"
    if not low <= hb_values[0] <= high:
        return f"haemoglobin {hb_values[0]:g} g/dL is outside the plausible {low:g}-{high:g} g/dL; fix the name"
    if not_understood:
        return f"file name parts {not_understood} are not understood; {NAME_HELP}"
    if not has_person:
        return f"no person in the file name (IndividualNN, or Random_ for a one-off photo); {NAME_HELP}"
    return None


def _person_token(part: str) -> str | None:
    """`Individual02`, and near-miss spellings such as `Invividual02`, as the canonical `Individual02`."""
    match = _PERSON.match(part)
    if not match:
        return None
    word, number = match.groups()
    # A typo in the word must not split one person into two groups, so near misses count as the word.
    if not difflib.get_close_matches(word.lower(), [_INDIVIDUAL], n=1, cutoff=0.8):
        return None
    return f"Individual{int(number):02d}"


def load_lips(folder: str | Path) -> Dataset:
    """Every image in `folder` whose name carries a label; group = person; EXIF camera fields as attributes."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: not a folder; pass the folder that holds the lip photos.")
    samples: list[Sample] = []
    problems: list[Problem] = []
    for path in list_images(root):
        label = parse_lip_filename(path)
        if isinstance(label, Problem):
            problems.append(label)
            continue
        try:
            camera = read_camera_metadata(path)
        except ImageDecodeError as error:
            problems.append(Problem(str(path), str(error)))
            continue
        attributes = {"person": label.person, "ethnicity": label.ethnicity, **camera}
        samples.append(Sample(path, label.image_id, label.person, {"hb": label.hb_g_dl}, {}, attributes))
    return Dataset(root.name, root, samples, problems)

