"""Loader for the Fitzpatrick17k layout (`labels.csv` + `images/<md5hash>.jpg`), as in the AJL subset.

Labels: the condition (`label`), its three-way view (`three_partition_label`), and the annotated
Fitzpatrick skin type, grouped I–II / III–IV / V–VI for audits: `fitzpatrick_scale` first, the
`fitzpatrick_centaur` annotation when the scale is unknown (-1), `unknown` when both are. Rows the
dataset's own quality control marks as wrongly labelled, unreadable rows and missing photos become
`Problem`s (counted in every report). Each image starts as its own group; near-duplicate grouping
(`vitalens.tasks.skin_condition.duplicates`) needs the pixels and is applied before splitting.
"""

from __future__ import annotations

from pathlib import Path

from vitalens.data.loaders import csv_rows
from vitalens.data.samples import Dataset, Problem, Sample

LABELS_FILE = "labels.csv"
REQUIRED_COLUMNS = ("md5hash", "label", "fitzpatrick_scale", "fitzpatrick_centaur", "three_partition_label")
FITZPATRICK_GROUPS = ("I-II", "III-IV", "V-VI")
UNKNOWN = "unknown"
_WRONG_LABEL_QC = "3"  # Fitzpatrick17k qc code "3 Wrongly labelled"
CITATION = (
    "Groh M. et al. (2021). Evaluating Deep Neural Networks Trained on Clinical Images in Dermatology with the "
    "Fitzpatrick 17k Dataset. CVPR Workshops. Images from DermaAmin and Atlas Dermatologico; CC BY-NC-SA 3.0."
)


def fitzpatrick_type(scale: str, centaur: str) -> int | None:
    """The annotated type 1-6: the scale, else the centaur annotation, else None."""
    for value in (scale, centaur):
        number = int(float(value)) if str(value).strip() not in ("", "nan") else -1
        if 1 <= number <= 6:
            return number
    return None


def fitzpatrick_group(skin_type: int | None) -> str:
    return UNKNOWN if skin_type is None else FITZPATRICK_GROUPS[(skin_type - 1) // 2]


def is_fitzpatrick17k_layout(root: Path) -> bool:
    """labels.csv beside images/: the layout `vitalens predict --task skin-condition` lists by its labels."""
    return (Path(root) / LABELS_FILE).is_file() and (Path(root) / "images").is_dir()


def load_fitzpatrick17k(root: str | Path) -> Dataset:
    root = Path(root)
    table = root / LABELS_FILE
    if not table.is_file():
        raise FileNotFoundError(f"{table}: not found; a Fitzpatrick17k-layout folder holds labels.csv and images/.")
    images_dir = root / "images" if (root / "images").is_dir() else root
    samples: list[Sample] = []
    problems: list[Problem] = []
    for where, row in csv_rows(table, REQUIRED_COLUMNS):
        try:
            sample = _sample_from_row(images_dir, row)
        except ValueError as error:
            problems.append(Problem(where, f"bad row ({error}); fix or remove it"))
            continue
        if (row.get("qc") or "").strip().startswith(_WRONG_LABEL_QC):
            problems.append(Problem(where, f"{sample.image_id}: the dataset's quality control marks it wrongly labelled"))
        elif not sample.image_path.is_file():
            problems.append(Problem(str(sample.image_path), "listed in labels.csv but the photo is missing"))
        else:
            samples.append(sample)
    return Dataset("fitzpatrick17k", root, samples, problems)


def _sample_from_row(images_dir: Path, row: dict[str, str]) -> Sample:
    image_id = (row["md5hash"] or "").strip()
    label = (row["label"] or "").strip()
    partition = (row["three_partition_label"] or "").strip()
    if not image_id or not label or not partition:
        raise ValueError("md5hash, label and three_partition_label must be filled")
    try:
        skin_type = fitzpatrick_type(row["fitzpatrick_scale"], row["fitzpatrick_centaur"])
    except ValueError:
        raise ValueError(f"fitzpatrick_scale={row['fitzpatrick_scale']!r} / fitzpatrick_centaur={row['fitzpatrick_centaur']!r} are not numbers") from None
    return Sample(
        image_path=images_dir / f"{image_id}.jpg",
        image_id=image_id,
        group=image_id,
        targets={"condition": label, "three_partition": partition},
        attributes={
            "fitzpatrick": skin_type or -1,
            "fitzpatrick_group": fitzpatrick_group(skin_type),
            "nine_partition": (row.get("nine_partition_label") or "").strip(),
        },
    )

