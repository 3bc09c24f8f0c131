"""What a task is: a small declaration over the shared spine.

A task names its body site, how its region of interest is found, its targets (one head each), the
column that groups photos for validation, the attributes it is audited by and how its outputs are
interpreted. Adding a task means adding a declaration here (and, where needed, a region finder or a
loader), not reshaping the spine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

TargetKind = Literal["regression", "classification"]


@dataclass(frozen=True)
class Target:
    name: str
    kind: TargetKind
    unit: str = ""
    classes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Task:
    name: str
    body_site: str
    region_finder: str
    targets: tuple[Target, ...]
    group_by: str
    audit_attributes: tuple[str, ...] = ()
    interpretation: str | None = None
    description: str = ""
    default_loader: str = "manifest"
    metrics: tuple[str, ...] = field(default=())

    @property
    def primary_target(self) -> Target:
        return self.targets[0]

    def target(self, name: str) -> Target:
        for candidate in self.targets:
            if candidate.name == name:
                return candidate
        raise KeyError(f"task {self.name!r} has no target {name!r}; it has {[t.name for t in self.targets]}")


HB_NAILS = Task(
    name="hb-nails",
    body_site="fingernail",
    region_finder="nail-boxes",
    targets=(Target("hb", "regression", unit="g/dL"),),
    group_by="session",
    audit_attributes=("skin_tone_ita", "sex", "age_band", "device", "session"),
    interpretation="who-2024-anaemia",
    description="Haemoglobin (g/dL) from the nail beds of a smartphone photo of fingers on a white card.",
    default_loader="yakimov",
    metrics=("mae", "rmse", "r2", "bland_altman", "anaemia_detection"),
)

HB_LIPS = Task(
    name="hb-lips",
    body_site="lips",
    region_finder="lip-colour",
    targets=(Target("hb", "regression", unit="g/dL"),),
    group_by="person",
    audit_attributes=("device_brand", "ethnicity", "skin_tone_group"),
    interpretation="who-2024-anaemia",
    description="Haemoglobin (g/dL) from the lips in a smartphone face photo, with camera metadata.",
    default_loader="lips-filenames",
    metrics=("mae", "rmse", "r2", "bland_altman"),
)

FACE_AGE_GENDER = Task(
    name="face-age-gender",
    body_site="face",
    region_finder="face-crop",
    targets=(
        Target("age", "regression", unit="years"),
        Target("gender", "classification", classes=("male", "female")),
    ),
    # UTKFace has no person id, so the only honest group is the image: near-duplicates of one person
    # can fall on both sides of the fixed held-out split, which makes its scores optimistic.
    group_by="image",
    audit_attributes=("race", "gender", "age_band"),
    description=(
        "Age (years) and gender from a face crop; one shared network with two heads. Validation groups are "
        "images, not people: UTKFace has no person id, so one person may be in both training and held-out data."
    ),
    default_loader="utkface",
    metrics=("mae", "accuracy", "ece"),
)

SKIN_CONDITION = Task(
    name="skin-condition",
    body_site="skin",
    region_finder="centre-crop",
    targets=(
        Target("condition", "classification"),  # 21 Fitzpatrick17k-AJL conditions; classes come from the data
        Target("three_partition", "classification", classes=("benign", "malignant", "non-neoplastic")),  # a view of condition
        Target("lighting", "classification", classes=("good", "poor")),  # labels derived by vitalens.skin.lighting
    ),
    group_by="near_duplicate",  # perceptual-hash groups (vitalens.skin.duplicates): near-identical photos never straddle splits
    audit_attributes=("fitzpatrick_group", "ita_group"),  # I-II / III-IV / V-VI annotated; ITA° measured (vitalens.skin.tone)
    description="Skin condition (top-3 of 21) plus a lighting-quality verdict and Grad-CAM heat maps from a clinical skin photo.",
    default_loader="fitzpatrick17k",
    metrics=("top1", "top3", "macro_recall", "macro_f1", "three_partition_accuracy", "ece", "lighting_auc"),
)

TASKS: dict[str, Task] = {task.name: task for task in (HB_NAILS, HB_LIPS, FACE_AGE_GENDER, SKIN_CONDITION)}


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}") from None
