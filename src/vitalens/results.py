"""One result type for every task: what a predictor returns for one photo, and how it is written.

Every row of predictions.csv and every entry of the API's `results` starts with the same four fields:
`image_id`, `status` (ok, refused or unreadable), `reasons` and `message`, then the task's own columns
(flat values, written to CSV) and, in JSON only, its details (boxes, per-region estimates, heat maps).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, Iterable

import numpy as np

from vitalens import DISCLAIMER

OK, REFUSED, UNREADABLE = "ok", "refused", "unreadable"
STATUSES = (OK, REFUSED, UNREADABLE)
CONTRACT_COLUMNS = ("image_id", "status", "reasons", "message")
CSV_DECIMALS = 4  # CSV cells are rounded for reading; the JSON keeps every digit


@dataclass
class Prediction:
    image_id: str
    status: str
    reasons: list[str] = field(default_factory=list)  # short machine-readable codes or sentences, why it was refused
    message: str = ""  # what a person should read: the reason and a tip for the next photo
    columns: dict[str, Any] = field(default_factory=dict)  # the task's own flat columns (CSV and JSON)
    details: dict[str, Any] = field(default_factory=dict)  # JSON-only detail: boxes, per-region values, maps

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r}; must be one of {STATUSES}")

    @property
    def ok(self) -> bool:
        return self.status == OK

    def row(self, task_columns: Iterable[str] = ()) -> dict[str, Any]:
        """One line of predictions.csv: the contract columns, then `task_columns` (blank when absent)."""
        names = tuple(task_columns) or tuple(self.columns)
        return {"image_id": self.image_id, "status": self.status, "reasons": ";".join(self.reasons), "message": self.message,
                **{name: _cell(self.columns.get(name)) for name in names}}  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        """The API's entry for this photo: JSON-safe (arrays as lists, NaN as null)."""
        body = {"image_id": self.image_id, "status": self.status, "reasons": list(self.reasons), "message": self.message,
                **self.columns, **self.details, "disclaimer": DISCLAIMER}  # fmt: skip
        return jsonable(body)


def refused(image_id: str, reasons: list[str], tips: Iterable[str] = (), **details: Any) -> Prediction:
    message = "; ".join([*reasons, *tips])
    return Prediction(image_id, REFUSED, list(reasons), message, details={"tips": list(tips), **details})


def unreadable(image_id: str, reason: str) -> Prediction:
    return Prediction(image_id, UNREADABLE, [reason], reason)


MIN_SIDE = 16  # pixels: no body site a model here reads fits in less; a thinner image is refused by every task
TIP_TOO_SMALL = "the image is too small to show anything: send the original photo, not a thumbnail or a strip"


def too_small(rgb: np.ndarray, image_id: str) -> Prediction | None:
    """The refusal every task gives an image under MIN_SIDE on a side (1x1, 1x20000, 20000x1), before any region finder runs."""
    height, width = rgb.shape[:2]
    if min(height, width) >= MIN_SIDE:
        return None
    return refused(image_id, [f"too small ({width}x{height} pixels; at least {MIN_SIDE} on each side)"], [TIP_TOO_SMALL])


def image_id_for(path: Path, root: Path | None = None) -> str:
    """The one rule for every task: the photo's path relative to the folder or manifest it was listed in,
    with its suffix, so x.jpg and x.png beside each other are two ids and nested folders stay apart."""
    path = Path(path)
    if root is not None:
        try:
            # abspath, not resolve: a link is named as listed, not by its target
            return PurePath(os.path.abspath(path)).relative_to(os.path.abspath(root)).as_posix()
        except ValueError:
            pass
    return path.name


def unique_ids(names: Iterable[str]) -> list[str]:
    """Upload names made unique within one request ("a.jpg", "a.jpg" -> "a.jpg", "a.jpg#2")."""
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return unique


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, (float, np.floating)):
        return round(float(value), CSV_DECIMALS)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(_cell(v)) for v in value) + "]"
    return value


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
