"""The face-age-gender routes of `vitalens train`, `export` and `evaluate`, so cli.py only dispatches.

Training and export import torch (lazily, inside the functions); evaluation runs the ONNX bundle
through the serving runtime and never imports torch.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from vitalens import DISCLAIMER

FACE_TASK = "face-age-gender"
DEFAULT_EVALUATION_DIR = Path("experiments") / "face-bundle-eval"


def is_face_run(run_dir: Path) -> bool:
    """A folder written by `vitalens train --task face-age-gender` (model.pt + training.json naming a backbone)."""
    info = run_dir / "training.json"
    return (run_dir / "model.pt").is_file() and info.is_file() and "backbone" in json.loads(info.read_text())


def train_face(data: Path, out: Path, backbone: str, epochs: int | None, limit: int | None, console: Console,
               cache_dir: Path | None = None) -> dict:  # fmt: skip
    """Train one backbone on the UTKFace training split, early-stopped on validation; then evaluate it on
    the held-out split and export its ONNX graphs into `out` (make a bundle with `vitalens export`).
    A backbone named "NAME:mirror" trains NAME into out/member and makes `out` the mirror-averaged model."""
    from vitalens.tasks.face_age_gender.model import MIRROR_SUFFIX
    from vitalens.tasks.face_age_gender.training import finish_face_run, run_face_ensemble, run_face_training
    from vitalens.tasks.face_age_gender.trainer import recommended_config

    base = backbone.removesuffix(MIRROR_SUFFIX)
    if "+" in base:
        raise ValueError(f"--backbone {backbone}: ensembles are not trained as one; train each member, "
                         "then combine the runs with vitalens.tasks.face_age_gender.training.run_face_ensemble.")  # fmt: skip
    mirror = base != backbone
    trained = run_face_training(data, base, out / "member" if mirror else out, recommended_config(base, epochs=epochs), limit=limit, cache_dir=cache_dir)
    if mirror:
        run_face_ensemble([trained], data, out, mirror=True, limit=limit, cache_dir=cache_dir)
    report = finish_face_run(out, data)
    print_face_report(report, console, f"{backbone} run {out}")
    console.print(f"make a bundle with `vitalens export --run {out} --out BUNDLE_DIR`")
    return report


def export_face_run(run_dir: Path, out: Path, int8: bool = False, detector: Path | None = None) -> Path:
    """bundle.json, model.onnx and MODEL_CARD.md from a face run and its held-out report."""
    if int8 or detector is not None:
        raise ValueError(f"{run_dir}: a face run exports float32 with no detector stage; drop --int8 / --detector.")
    from vitalens.tasks.face_age_gender.model import load_face_model
    from vitalens.tasks.face_age_gender.export import write_face_bundle

    report_path = run_dir / "report.json"
    if not report_path.is_file():
        raise FileNotFoundError(f"{report_path}: missing; evaluate the run first (vitalens.tasks.face_age_gender.training.finish_face_run).")
    model, backbone = load_face_model(run_dir / "model.pt")
    return write_face_bundle(model, backbone, json.loads(report_path.read_text()), out)


def evaluate_face(data: Path, model: Path | None, out: Path, console: Console, limit: int | None = None, card: bool = False) -> dict:
    """The shipped (or given) bundle on every held-out UTKFace image; with `card`, rewrite its MODEL_CARD.md."""
    from vitalens.tasks.face_age_gender.evaluation import evaluate_face_bundle
    from vitalens.tasks.face_age_gender.card import write_face_model_card

    if card and limit:
        raise ValueError("--card with --limit would put a smoke run's numbers in the model card; drop one of them.")
    report = evaluate_face_bundle(model, data, out, limit=limit)
    print_face_report(report, console, f"{report['model']['backbone']} bundle, held-out UTKFace")
    console.print(f"report, predictions, audit tables and figures in [bold]{out}[/]")
    if card:
        console.print(f"model card written to [bold]{write_face_model_card(report['model']['bundle'], report)}[/]")
    return report


def print_face_report(report: dict, console: Console, title: str) -> None:
    gender, age, baselines = report["gender"], report["age"], report["baselines"]
    table = Table("metric", "model", "baseline", title=f"{title} (n = {report['n_test']})")
    table.add_row("gender accuracy", f"{gender['accuracy']:.3f}", f"{baselines['majority_gender_accuracy']:.3f} (always {baselines['majority_gender']})")
    table.add_row("age MAE (years)", f"{age['mae']:.2f}", f"{baselines['mean_age_mae']:.2f} (always {baselines['train_mean_age']:.1f})")
    table.add_row("age median error (years)", f"{age['median_ae']:.2f}", "")
    table.add_row("gender ECE after temperature", f"{report['calibration']['ece_after']:.3f}", "")
    console.print(table)
    for attribute, groups in report["audit"].items():
        worst = next(group for group, row in groups.items() if row["worst_age_mae"])
        console.print(f"worst {attribute} for age: {worst} (MAE {groups[worst]['age_mae']:.2f}, n = {groups[worst]['n']})")
    console.print(f"[italic]{report['limitation']}[/]")
    console.print(f"[bold red]{DISCLAIMER}[/]")
