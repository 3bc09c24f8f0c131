"""The `vitalens` command line: one shape for every task.

Training commands import the training world lazily, so `vitalens predict` and `vitalens serve` run
with numpy, Pillow and onnxruntime alone (no torch import; asserted in the tests).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from vitalens import DISCLAIMER

app = typer.Typer(add_completion=False, no_args_is_help=True, help=f"vitalens: screening estimates from smartphone photos. {DISCLAIMER}")
console = Console()

TaskOption = typer.Option("hb-nails", "--task", help="task name (see `vitalens tasks`)")


def _config(task: str, data: Path, config: Optional[Path], **overrides):
    from vitalens.config import load_config

    return load_config(config, task=task, data=str(data), **overrides)


@app.command()
def tasks() -> None:
    """List the tasks vitalens knows."""
    from vitalens.tasks import TASKS

    table = Table("task", "body site", "targets", "validation groups")
    for task in TASKS.values():
        table.add_row(task.name, task.body_site, ", ".join(f"{t.name} ({t.kind})" for t in task.targets), task.group_by)
    console.print(table)


@app.command()
def evaluate(
    task: str = TaskOption,
    data: Path = typer.Option(..., help="dataset folder or manifest CSV"),
    config: Optional[Path] = typer.Option(None, help="YAML config (defaults in code)"),
    scheme: Optional[str] = typer.Option(None, help="loso or kfold"),
    n_splits: Optional[int] = typer.Option(None, help="folds for kfold"),
    features: Optional[str] = typer.Option(None, help="colour, colour_red, cnn or hybrid"),
    head: Optional[str] = typer.Option(None, help="median, ridge or catboost"),
    run_name: Optional[str] = typer.Option(None),
) -> None:
    """Grouped cross-validation; writes experiments/<run_name>/ with report, metrics, predictions, figures."""
    from vitalens import runs

    cfg = _config(task, data, config, scheme=scheme, n_splits=n_splits, features=features, head=head, run_name=run_name)
    run_dir, report = runs.evaluate(cfg)
    _print_report(report, run_dir)


@app.command()
def train(
    task: str = TaskOption,
    data: Path = typer.Option(..., help="dataset folder or manifest CSV"),
    out: Optional[Path] = typer.Option(None, help="run folder (default experiments/<run_name>)"),
    config: Optional[Path] = typer.Option(None, help="YAML config (defaults in code)"),
    features: Optional[str] = typer.Option(None),
    head: Optional[str] = typer.Option(None),
) -> None:
    """Grouped CV for the report and the interval, then the final model on all the data."""
    from vitalens import runs

    cfg = _config(task, data, config, features=features, head=head, run_name=out.name if out else None)
    run_dir, report = runs.train(cfg, out)
    _print_report(report, run_dir)
    console.print(f"model saved in [bold]{run_dir}[/]; make a bundle with `vitalens export --run {run_dir} --out BUNDLE_DIR`")


@app.command()
def export(
    run: Path = typer.Option(..., help="a run folder made by `vitalens train`"),
    out: Path = typer.Option(..., help="bundle folder to write"),
    int8: bool = typer.Option(False, help="quantise weights to int8"),
) -> None:
    """Export a trained run to a bundle (model.onnx, bundle.json, MODEL_CARD.md)."""
    from vitalens.export import export_bundle

    bundle = export_bundle(run, out, quantize=int8)
    console.print(f"bundle written to [bold]{bundle}[/]")


@app.command()
def predict(
    data: Path = typer.Option(..., help="an image, a folder of images, or a dataset folder / manifest with boxes"),
    out: Path = typer.Option(Path("predictions.csv"), help="CSV to write: one row per photo"),
    model: Optional[Path] = typer.Option(None, help="bundle folder or .zip (default: the bundle shipped for --task)"),
    task: str = TaskOption,
    age: Optional[float] = typer.Option(None, help="age in years, for the WHO band"),
    sex: Optional[str] = typer.Option(None, help="female or male, for the WHO band"),
) -> None:
    """Estimates with intervals and WHO severity bands; bad files are skipped and counted."""
    from vitalens.predict import predict_dataset

    rows, problems, caveat = predict_dataset(data, model, task, age_years=age, sex=sex)
    _write_rows(out, rows)
    table = Table("image", "Hb g/dL", "90 % interval", "WHO band", "nails", "status")
    for row in rows:
        interval = f"{row['interval_low']:.1f}–{row['interval_high']:.1f}" if row["status"] == "ok" else "–"
        hb = f"{row['predicted_hgb']:.1f}" if row["status"] == "ok" else "–"
        table.add_row(row["image_id"], hb, interval, row["who_severity"], str(row["n_nails"]), row["status"] if row["status"] == "ok" else row["message"])
    console.print(table)
    for problem in problems:
        console.print(f"[yellow]skipped[/] {problem.source}: {problem.reason}")
    console.print(f"{len(rows)} photos estimated or refused, {len(problems)} skipped; written to [bold]{out}[/]")
    console.print(f"[italic]{caveat}[/]")
    console.print(f"[bold red]{DISCLAIMER}[/]")


@app.command()
def interpret(
    hb: float = typer.Argument(..., help="haemoglobin in g/dL"),
    age: Optional[float] = typer.Option(None),
    sex: Optional[str] = typer.Option(None),
    trimester: Optional[int] = typer.Option(None),
    altitude: Optional[float] = typer.Option(None, help="metres above sea level"),
    smoking: Optional[str] = typer.Option(None, help="smoker or non-smoker"),
    cigarettes: Optional[float] = typer.Option(None, help="cigarettes per day"),
) -> None:
    """WHO 2024 anaemia interpretation of a haemoglobin value."""
    from vitalens.interpretation import interpret_hb

    result = interpret_hb(hb, age_years=age, sex=sex, pregnancy_trimester=trimester, altitude_m=altitude, smoking=smoking, cigarettes_per_day=cigarettes)
    console.print_json(json.dumps(result.to_dict()))


def _write_rows(out: Path, rows: list[dict]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    columns = list(rows[0]) if rows else ["image_id", "predicted_hgb"]
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def _print_report(report: dict, run_dir: Path) -> None:
    table = Table("metric", "model", "mean predictor", title=f"{report['task']} — {report['validation']}")
    for key in ("mae", "rmse", "r2", "bias", "within_1", "within_2"):
        table.add_row(key, f"{report['model'][key]:.3f}", f"{report['mean_predictor'][key]:.3f}")
    console.print(table)
    conformal = report["conformal"]
    console.print(f"90 % conformal interval: coverage {conformal['empirical_coverage']:.1%}, mean width {conformal['mean_width']:.2f} g/dL")
    console.print(f"skipped files: {report['data']['skipped']}; report: [bold]{run_dir / 'report.md'}[/]")
    console.print(f"[bold red]{DISCLAIMER}[/]")


def _register_task_commands() -> None:
    from vitalens.extract import extract_command

    app.command("extract", help="Lip photos: labels.csv, meta.csv and combined_data.csv from file names and EXIF/HEIC metadata.")(extract_command)


_register_task_commands()

if __name__ == "__main__":
    app()
