"""The lips task's own command beyond the verbs: fitting its mouth check (`vitalens train-lip-check`).

A Typer callable; importing this module imports no torch (the fitting is imported when the command runs).
"""

from __future__ import annotations

from pathlib import Path

import typer


def train_lip_check(out: Path = typer.Option(Path("experiments/lip-check"), help="folder for lip_check.onnx and lip_check.json")) -> None:
    """Fit the mouth check on the tuning half of every body site in ../shared/data; add it with
    `vitalens export --run RUN --out BUNDLE -o lip_check=FOLDER`."""
    from vitalens.tasks.hb_lips.lip_check_fit import fit_lip_check

    path = fit_lip_check(out)
    typer.echo(f"mouth check written to {path}; add it with `vitalens export --run RUN --out BUNDLE -o lip_check={out}`")
