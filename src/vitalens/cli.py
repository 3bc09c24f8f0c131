"""The `vitalens` command line: one shape for every task.

Training commands import the training world lazily, so `vitalens predict` and `vitalens serve` run
with numpy, Pillow and onnxruntime alone (no torch import; asserted in the tests).
"""

from __future__ import annotations

import csv
import json
import os
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
    from vitalens.tasks._haemoglobin.config import load_config

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
    model: Optional[Path] = typer.Option(None, help="face-age-gender: bundle to evaluate (default: the shipped one)"),
    limit: Optional[int] = typer.Option(None, help="face-age-gender: only the first N held-out images (smoke runs)"),
    card: bool = typer.Option(False, "--card", help="face-age-gender: rewrite the bundle's MODEL_CARD.md from this evaluation"),
) -> None:
    """Grouped cross-validation; writes experiments/<run_name>/ with report, metrics, predictions, figures.
    For face-age-gender: the bundle on UTKFace's fixed held-out split (no torch)."""
    if task == "face-age-gender":
        from vitalens.tasks.face_age_gender.lifecycle import DEFAULT_EVALUATION_DIR, evaluate_face

        evaluate_face(data, model, Path("experiments") / run_name if run_name else DEFAULT_EVALUATION_DIR, console, limit, card)
        return
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
    backbone: str = typer.Option("seed-mtl", help="face-age-gender: seed-mtl, lite0 or lite0-ft (the shipped kind); append :mirror to also average over the mirrored face"),
    epochs: Optional[int] = typer.Option(None, help="face-age-gender: most epochs (early stopping on validation); skin-condition: phase-C epochs"),
    limit: Optional[int] = typer.Option(None, help="face-age-gender: use only N images, spread over the folder (smoke runs)"),
    cache_dir: Optional[Path] = typer.Option(None, help="face-age-gender: decoded-crop cache (default /tmp/vitalens-face-cache)"),
) -> None:
    """Grouped CV for the report and the interval, then the final model on all the data.
    For face-age-gender and skin-condition: train on the dataset's training split, then evaluate on its held-out split."""
    if task == "face-age-gender":
        from vitalens.tasks.face_age_gender.lifecycle import train_face

        train_face(data, out or Path("experiments") / f"face-{backbone}", backbone, epochs, limit, console, cache_dir)
        return
    if task == "skin-condition":
        _train_skin(data, out or Path("experiments") / "skin-condition", epochs)
        return
    from vitalens import runs

    cfg = _config(task, data, config, features=features, head=head, run_name=out.name if out else None)
    run_dir, report = runs.train(cfg, out)
    _print_report(report, run_dir)
    console.print(f"model saved in [bold]{run_dir}[/]; make a bundle with `vitalens export --run {run_dir} --out BUNDLE_DIR`")


def _train_skin(data: Path, out: Path, epochs: Optional[int]) -> None:
    """Both candidates (phased fine-tune, depth probe), the better on validation shipped, the distilled student,
    then the held-out evaluation and a bundle in OUT/bundle (about 30 min here)."""
    from vitalens.tasks.skin_condition.training import finish_skin_run, run_skin_training
    from vitalens.tasks.skin_condition.phases import SkinTrainingConfig

    run_skin_training(data, out, SkinTrainingConfig() if epochs is None else SkinTrainingConfig(epochs=epochs))
    report = finish_skin_run(out, data, bundle_dir=out / "bundle")
    table = Table("model", "top-1", "top-3", "macro-F1", "three-partition", title=f"skin-condition — {out} (held-out split)")
    for name, scores in report["comparison"].items():
        table.add_row(name, *(f"{scores[k]['value']:.3f}" for k in ("top1", "top3", "macro_f1", "three_partition_accuracy")))
    console.print(table)
    console.print(f"bundle written to [bold]{out / 'bundle'}[/]; report and Grad-CAM gallery in [bold]{out}[/]")
    console.print(f"[bold red]{DISCLAIMER}[/]")


def _detector_photos(data: Path, limit: Optional[int]):
    from vitalens.data import load_dataset
    from vitalens.tasks.hb_nails.detector_training import load_detector_photos

    dataset = load_dataset(data)
    for problem in dataset.problems:
        console.print(f"[yellow]skipped[/] {problem.source}: {problem.reason}")
    return load_detector_photos(dataset.subset(list(range(min(limit, len(dataset.samples))))) if limit else dataset)


@app.command("evaluate-detector")
def evaluate_detector(
    data: Path = typer.Option(..., help="photos with nail/skin boxes (Yakimov folder or manifest CSV)"),
    folds: int = typer.Option(3, help="session-grouped folds"),
    epochs: int = typer.Option(20),
    run_name: str = typer.Option("nail-detector-cv", help="writes experiments/<run_name>/"),
    limit: Optional[int] = typer.Option(None, help="use only the first N photos (smoke runs)"),
) -> None:
    """Session-grouped CV of the nail/skin detector: mAP50, mAP50-95, precision, recall per class."""
    from vitalens.tasks.hb_nails.detector_training import DetectorTrainingConfig, evaluate_detector_run

    run_dir = Path("experiments") / run_name
    evaluate_detector_run(_detector_photos(data, limit), DetectorTrainingConfig(epochs=epochs), run_dir, folds)
    console.print(f"report, per-fold metrics and out-of-fold detections in [bold]{run_dir}[/]")


@app.command("train-detector")
def train_detector(
    data: Path = typer.Option(..., help="photos with nail/skin boxes (Yakimov folder or manifest CSV)"),
    out: Path = typer.Option(Path("experiments/nail-detector"), help="run folder for detector.onnx and detector.json"),
    epochs: int = typer.Option(20),
    cv: bool = typer.Option(False, "--cv", help="first measure it with session-grouped 3-fold CV (3x the time)"),
    limit: Optional[int] = typer.Option(None, help="use only the first N photos (smoke runs)"),
) -> None:
    """Train the nail/skin detector on every photo; add it to a bundle with `vitalens export --detector`."""
    from vitalens.tasks.hb_nails.detector_training import DetectorTrainingConfig, evaluate_detector_run, train_detector_run

    photos, config = _detector_photos(data, limit), DetectorTrainingConfig(epochs=epochs)
    validation = evaluate_detector_run(photos, config, out / "cv") if cv else None
    onnx_path = train_detector_run(photos, config, out, validation)
    console.print(f"detector written to [bold]{onnx_path}[/]; add it with `vitalens export --run RUN --detector {out} --out BUNDLE`")


@app.command()
def export(
    run: Path = typer.Option(..., help="a run folder made by `vitalens train`"),
    out: Path = typer.Option(..., help="bundle folder to write"),
    detector: Optional[Path] = typer.Option(None, help="a `vitalens train-detector` folder (or its detector.onnx): raw photos then need no boxes"),
    int8: bool = typer.Option(False, help="quantise weights to int8"),
) -> None:
    """Export a trained run to a bundle (model.onnx, detector.onnx, bundle.json, MODEL_CARD.md)."""
    from vitalens.tasks.hb_nails.export import export_bundle
    from vitalens.tasks.face_age_gender.lifecycle import export_face_run, is_face_run

    bundle = export_face_run(run, out, int8, detector) if is_face_run(run) else export_bundle(run, out, quantize=int8, detector=detector)
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
    """One row per photo (estimate, interval and WHO band for Hb; refusals with their reason); bad files are skipped and counted."""
    from vitalens.predict import predict_dataset

    run = predict_dataset(data, model, task, age_years=age, sex=sex)
    _write_rows(out, run.rows)
    _print_rows(run.rows, run.display_columns)
    for problem in run.problems:
        console.print(f"[yellow]skipped[/] {problem.source}: {problem.reason}")
    console.print(f"{len(run.rows)} photos estimated or refused, {len(run.problems)} skipped; written to [bold]{out}[/]")
    console.print(f"[italic]{run.caveat}[/]")
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


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="interface to listen on (0.0.0.0 to serve the local network)"),
    port: int = typer.Option(8000),
    max_concurrent: int = typer.Option(2, help="inferences at once; further requests wait"),
    max_upload_mb: float = typer.Option(20.0, help="largest accepted photo, in MB"),
    max_images: int = typer.Option(10, help="most photos in one request"),
    max_megapixels: float = typer.Option(40.0, help="largest accepted photo, in megapixels"),
    bundle: Optional[list[Path]] = typer.Option(None, help="a bundle folder or .zip to serve instead of the shipped one for its task (repeatable)"),
) -> None:
    """The HTTP API (/v1/predict, /v1/models, /healthz, /docs) and the offline browser app at /."""
    import uvicorn

    from vitalens.service import ServiceLimits, create_app

    limits = ServiceLimits(max_upload_bytes=int(max_upload_mb * 1024 * 1024), max_images=max_images,
                           max_pixels=int(max_megapixels * 1_000_000), max_concurrent=max_concurrent)
    console.print(f"vitalens app on [bold]http://{host}:{port}/[/], API docs at http://{host}:{port}/docs")
    console.print(f"[bold red]{DISCLAIMER}[/]")
    uvicorn.run(create_app(limits, bundle or ()), host=host, port=port, log_level="warning")


def _write_rows(out: Path, rows: list[dict]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    columns = list(rows[0]) if rows else ["image_id", "predicted_hgb"]
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def _print_rows(rows: list[dict], columns: dict[str, str]) -> None:
    table = Table(*columns.values())
    for row in rows:
        table.add_row(*(f"{row[c]:.1f}" if isinstance(row[c], float) else str(row[c] if row[c] is not None else "–") for c in columns))
    console.print(table)


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
    from vitalens.tasks.hb_lips.extract import extract_command

    app.command("extract", help="Lip photos: labels.csv, meta.csv and combined_data.csv from file names and EXIF/HEIC metadata.")(extract_command)


_register_task_commands()

def main() -> None:
    """The `vitalens` command: a wrong path, file or value ends in one clear line, not a traceback
    (set VITALENS_DEBUG=1 to see the traceback)."""
    try:
        app()
    except (FileNotFoundError, ValueError) as error:
        if os.environ.get("VITALENS_DEBUG"):
            raise
        console.print(f"[bold red]error:[/] {error}")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
