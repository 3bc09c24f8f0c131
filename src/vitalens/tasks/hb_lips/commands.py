"""The lips task's own command beyond the verbs: fitting its mouth check (`vitalens train-lip-check`).

A Typer callable; importing this module imports no torch (the fitting is imported when the command runs).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer


def train_lip_check(out: Path = typer.Option(Path("experiments/lip-check"), help="folder for lip_check.onnx and lip_check.json"),
                    bundle: Path | None = typer.Option(None, help="an exported hb-lips bundle to put the check into (its card's Input gate section too)"),
                    fitted: bool = typer.Option(False, help="do not fit: put the check already in --out into --bundle")) -> None:  # fmt: skip
    """Fit the mouth check on the tuning half of every body site in ../shared/data; add it with
    `vitalens export --run RUN --out BUNDLE -o lip_check=FOLDER`, or into an exported bundle with --bundle."""
    from vitalens.tasks.hb_lips.lip_check import CHECK_FILE

    if not fitted:
        from vitalens.tasks.hb_lips.lip_check_fit import fit_lip_check

        fit_lip_check(out)
    typer.echo(f"mouth check in {out / CHECK_FILE}; add it with `vitalens export --run RUN --out BUNDLE -o lip_check={out}` or --bundle")
    if bundle is not None:
        from vitalens.bundle.writer import update_bundle
        from vitalens.tasks.hb_lips.card import with_input_gate

        update_bundle(bundle, {"lip_check": (out / CHECK_FILE, json.loads((out / "lip_check.json").read_text()))}, {}, with_input_gate)
        typer.echo(f"written to {bundle}")
