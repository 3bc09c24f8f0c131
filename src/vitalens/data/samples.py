"""The unit of data: one photo with its targets, its validation group, its regions and attributes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# A box is (ymin, xmin, ymax, xmax) in pixels of the upright image, the Yakimov convention.
Box = tuple[int, int, int, int]


def parse_boxes(text: str) -> list[Box]:
    """`[[ymin, xmin, ymax, xmax], ...]` as JSON; degenerate boxes are an error, not a silent skip."""
    boxes = json.loads(text) if text and text.strip() else []
    parsed: list[Box] = []
    for box in boxes:
        if len(box) != 4:
            raise ValueError(f"box {box} must have 4 numbers [ymin, xmin, ymax, xmax]")
        ymin, xmin, ymax, xmax = (int(round(float(v))) for v in box)
        if ymax <= ymin or xmax <= xmin:
            raise ValueError(f"box {box} has no area (need ymax > ymin and xmax > xmin)")
        parsed.append((ymin, xmin, ymax, xmax))
    return parsed


@dataclass
class Sample:
    image_path: Path
    image_id: str
    group: str
    targets: dict[str, Any] = field(default_factory=dict)
    boxes: dict[str, list[Box]] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Problem:
    """A file or row that was skipped, and why: counted in every report, never silently dropped."""

    source: str
    reason: str


@dataclass
class Dataset:
    name: str
    root: Path
    samples: list[Sample]
    problems: list[Problem] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.samples)

    def groups(self) -> list[str]:
        return [s.group for s in self.samples]

    def target(self, name: str) -> list[Any]:
        return [s.targets.get(name) for s in self.samples]

    def subset(self, indices: list[int]) -> "Dataset":
        return Dataset(self.name, self.root, [self.samples[i] for i in indices], list(self.problems))

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "root": str(self.root),
            "images": len(self.samples),
            "groups": len(set(self.groups())),
            "skipped": len(self.problems),
            "skipped_examples": [f"{p.source}: {p.reason}" for p in self.problems[:20]],
        }
