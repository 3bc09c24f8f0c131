"""Where the development datasets live: `$VITALENS_SHARED_DATA/<name>`, else `../shared/data/<name>` beside
the working directory or beside the vitalens checkout. Benchmarks and tests find them here and skip or
stop with this message when they are absent; loaders themselves take any path a user gives."""

from __future__ import annotations

import os
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[3]  # src/vitalens/data/shared.py → the repository root of a checkout


def find_shared_dataset(name: str) -> Path | None:
    """The folder of development dataset `name` (e.g. "fitzpatrick17k-ajl", "utkface/images"), or None."""
    roots = [os.environ.get("VITALENS_SHARED_DATA"), Path.cwd().parent / "shared" / "data", CHECKOUT.parent / "shared" / "data"]
    return next((Path(root) / name for root in roots if root and (Path(root) / name).exists()), None)


def missing_dataset_message(name: str) -> str:
    return f"dataset ../shared/data/{name} not found: set VITALENS_SHARED_DATA to the folder that holds it, or pass its path"
