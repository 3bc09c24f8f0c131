"""The `vitalens` command line: one shape for every task, built from the task registry.

    vitalens train    --task T --data D [--out RUN] [--config YAML] [-o key=value ...]
    vitalens evaluate --task T --data D [--out RUN] [--config YAML] [-o key=value ...]
    vitalens export   --run RUN --out BUNDLE [-o key=value ...]
    vitalens predict  [--task T | --model BUNDLE] --data D [--out FILE] [--format csv|json|jsonl]
    vitalens serve

Training verbs import the training world lazily (through the task's lifecycle), so `predict` and
`serve` run with numpy, Pillow and onnxruntime alone (no torch import; asserted in the tests).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from vitalens import DISCLAIMER, __version__
from vitalens.tasks import TaskError, all_tasks, default_task, get_task
from vitalens.options import AddressOption, Engine, EngineOption, WorkersOption, option_pairs, parse_options
from vitalens.tasks.spec import resolve

app = typer.Typer(add_completion=False, no_args_is_help=True, help=f"vitalens: screening estimates from smartphone photos. {DISCLAIMER}")
console = Console(soft_wrap=True)  # a path or a message is never broken across lines
FULL_TABLE_ROWS = 50  # above this, predict prints a summary instead of every row

TaskOption = typer.Option(None, "--task", help=f"task name (default {default_task()}; see `vitalens tasks`)")
SetOption = typer.Option(None, "--option", "-o", help="a task option as key=value (repeatable; `vitalens tasks --options` lists them)")
ConfigOption = typer.Option(None, "--config", help="YAML mapping of task options (defaults in code; -o overrides it)")


def clean_errors(function):
    """A wrong path, file, option or value ends in one clear line and exit 2, not a traceback
    (set VITALENS_DEBUG=1 to see the traceback)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except (FileNotFoundError, ValueError, TaskError) as error:
            if os.environ.get("VITALENS_DEBUG"):
                raise
            console.print(f"[bold red]error:[/] {escape(str(error))}")
            raise typer.Exit(2) from None

    return wrapper


def command(name: str | None = None):
    """app.command with clean_errors: every command of the CLI, the tasks' own included."""
    return lambda function: app.command(name)(clean_errors(function))


def _version(value: bool) -> None:
    if value:
        console.print(f"vitalens {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="print the version and exit")) -> None:
    """vitalens: screening estimates from smartphone photos. Research software, not a medical device."""


def say(text: str, style: str = "") -> None:
    """Print text that may hold user input (paths, messages) without rich reading it as markup."""
    console.print(f"[{style}]{escape(text)}[/]" if style else escape(text))


@command()
def tasks(options: bool = typer.Option(False, "--options", help="also list each task's options")) -> None:
    """List the tasks vitalens knows (and, with --options, what each verb takes)."""
    table = Table("task", "body site", "targets", "validation groups", "browser")
    for task in all_tasks().values():
        targets = ", ".join(f"{t.name} ({t.kind})" for t in task.targets)
        table.add_row(task.name, task.body_site, targets, task.group_by, "yes" if task.browser_mode else "API only")
    console.print(table)
    if options:
        listing = Table("task", "option", "verbs", "default", "meaning")
        for task in all_tasks().values():
            for option in task.options:
                listing.add_row(task.name, option.name, ", ".join(option.verbs), escape(repr(option.default)), escape(option.help))
        console.print(listing)


def _run_verb(verb: str, task_name: Optional[str], data: Path, out: Optional[Path], config: Optional[Path], pairs: Optional[list[str]],
              engine: str = "local", workers: int = 2, address: Optional[str] = None) -> None:  # fmt: skip
    from vitalens.runs import Job, check_run_folder, default_run_dir, write_config

    task = get_task(task_name or default_task())
    step = task.verb(verb)
    options = parse_options(task.name, verb, config, pairs)
    if not Path(data).exists():
        raise FileNotFoundError(f"{data}: no such file or folder; pass the dataset folder or manifest CSV.")
    job = Job(task.name, verb, Path(data), out or default_run_dir(task.name, verb), options, engine=str(getattr(engine, 'value', engine)), workers=workers, address=address)
    write_config(job)
    report = step(job)
    if job.engine != "local" and not job.mapped:
        say(f"{task.name} {verb} has no pieces it runs on {job.engine}: it ran in this process", "yellow")
    check_run_folder(job.out)
    print_headline(report, job.out, f"{task.name} {verb}")
    _write_report_html(job.out)


def _write_report_html(run_dir: Path) -> None:
    from vitalens.evaluation.report_html import render_run_html

    say(f"report for a browser (self-contained, no network): {render_run_html(run_dir)}", "bold")


@command()
def report(run: Path = typer.Argument(..., help="a run folder written by `vitalens train` or `vitalens evaluate`")) -> None:
    """Re-render a run folder's self-contained report.html from its report.md, report.json and figures."""
    _write_report_html(run)


@command()
def evaluate(task: Optional[str] = TaskOption, data: Path = typer.Option(..., help="dataset folder or manifest CSV"),
             out: Optional[Path] = typer.Option(None, help="run folder (default experiments/<task>-evaluate-<time>)"),
             config: Optional[Path] = ConfigOption, option: Optional[list[str]] = SetOption,
             engine: Engine = EngineOption, workers: int = WorkersOption, address: Optional[str] = AddressOption) -> None:  # fmt: skip
    """Measure a task: grouped CV, or the task's fixed held-out protocol. Writes the run folder."""
    _run_verb("evaluate", task, data, out, config, option, engine, workers, address)


@command()
def train(task: Optional[str] = TaskOption, data: Path = typer.Option(..., help="dataset folder or manifest CSV"),
          out: Optional[Path] = typer.Option(None, help="run folder (default experiments/<task>-train-<time>)"),
          config: Optional[Path] = ConfigOption, option: Optional[list[str]] = SetOption,
          engine: Engine = EngineOption, workers: int = WorkersOption, address: Optional[str] = AddressOption) -> None:  # fmt: skip
    """Measure, then fit the final model; writes the run folder (make a bundle with `vitalens export`)."""
    _run_verb("train", task, data, out, config, option, engine, workers, address)
    say("make a bundle with `vitalens export --run RUN --out BUNDLE`")


@command()
def export(run: Path = typer.Option(..., help="a run folder made by `vitalens train`"),
           out: Path = typer.Option(..., help="bundle folder to write"), option: Optional[list[str]] = SetOption) -> None:  # fmt: skip
    """Export a trained run to a bundle (ONNX stages, bundle.json, MODEL_CARD.md) for its task."""
    from vitalens.runs import Job, read_config

    task = get_task(str(read_config(run)["task"]))
    step = task.verb("export")
    job = Job(task.name, "export", Path(run), Path(out), parse_options(task.name, "export", None, option))
    say(f"bundle written to {step(job)}", "bold")


@command()
def predict(
    data: Path = typer.Option(..., help="an image, a folder of images, or a dataset folder / manifest with boxes"),
    out: Path = typer.Option(Path("predictions.csv"), help="file to write: one row per photo"),
    model: Optional[Path] = typer.Option(None, help="bundle folder or .zip (default: the bundle shipped for --task)"),
    task: Optional[str] = TaskOption,
    format: str = typer.Option("csv", "--format", help="csv, json, jsonl or parquet (a folder of shards)"),
    age: Optional[float] = typer.Option(None, help="age in years, for the WHO band"),
    sex: Optional[str] = typer.Option(None, help="female or male, for the WHO band"),
    restart: bool = typer.Option(False, "--restart", help="score every photo again instead of resuming an earlier run into the same --out"),
    option: Optional[list[str]] = SetOption,
    batch_size: Optional[int] = typer.Option(None, "--batch-size", min=1, help="photos per model call (default: the task's; the rows do not depend on it)"),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="threads decoding photos ahead of the model (default: the task's)"),
    engine: Engine = EngineOption,
    workers: int = WorkersOption,
    address: Optional[str] = AddressOption,
) -> None:
    """One row per photo: image_id, status (ok / refused / unreadable), reasons, message, then the task's columns.
    Rows are written as they come; re-running with the same --out resumes where the last run stopped."""
    from vitalens.data import load_dataset
    from vitalens.predict import PredictionWriter, default_pipeline, iter_predictions, photo_progress
    from vitalens.runtime import load_predictor

    predictor = load_predictor(model, task, option_pairs(option))
    task_spec = get_task(predictor.bundle.task)
    population = {"age_years": age, "sex": sex}
    if hasattr(predictor, "validate_population"):
        predictor.validate_population(population)
    dataset = load_dataset(data, task_spec)  # a manifest, the task's own layout, a folder or one image
    default_batch, default_threads = default_pipeline(predictor)
    batch_size, threads = batch_size or default_batch, threads or default_threads
    writer = PredictionWriter(out, predictor.columns, format, restart)
    if writer.done_ids:
        say(f"resuming {out}: {len(writer.done_ids)} photos already scored (--restart to score them again)")
    shown = [{c: row.get(c, "") for c in ("image_id", "status", "message", *predictor.display_columns)} for row in writer.kept]
    try:
        total = len(dataset.samples) + len(dataset.problems) - len(writer.done_ids)
        if engine.value == "ray":
            from vitalens.scale import ray_predictions

            rows = ray_predictions(dataset, predictor.bundle.path, option_pairs(option), population, writer.done_ids, workers, address, batch_size)
        else:
            rows = iter_predictions(dataset, predictor, writer.done_ids, batch_size, threads, **population)
        for prediction in photo_progress(rows, max(total, 0), console):
            writer.write(prediction)
            if len(shown) <= FULL_TABLE_ROWS:
                shown.append(prediction.row(predictor.display_columns))
    except BaseException:
        writer.abort()
        raise
    writer.close(task=task_spec.name, bundle=str(predictor.bundle.path), data=str(data))
    _print_predictions(shown, predictor.display_columns, writer.counts, out)
    say(predictor.caveat, "italic")
    say(DISCLAIMER, "bold red")


def _print_predictions(rows: list[dict], columns: tuple[str, ...], counts: dict[str, int], out: Path) -> None:
    if 0 < len(rows) <= FULL_TABLE_ROWS:
        with_message = any(row["message"] for row in rows)
        table = Table(Column("image_id", no_wrap=True, min_width=max(len(str(row["image_id"])) for row in rows)), "status",
                      *(Column(c.replace("_", " "), overflow="fold") for c in columns), *([Column("message", overflow="fold")] if with_message else []))  # fmt: skip
        for row in rows:  # an image_id is never cut; the other cells fold onto more lines when the terminal is narrow
            cells = [row["image_id"], row["status"], *(row[c] for c in columns), *([row["message"]] if with_message else [])]
            table.add_row(*(escape(f"{c:.2f}" if isinstance(c, float) else str(c)) for c in cells))
        console.print(table)
    summary = ", ".join(f"{counts.get(s, 0)} {s}" for s in ("ok", "refused", "unreadable"))
    say(f"{sum(counts.values())} photos: {summary}; written to {out}")


def print_headline(report: dict, run_dir: Path, title: str) -> None:
    table = Table("metric", "model", "baseline", title=escape(f"{title} — {report.get('validation', '')}"))
    for row in report.get("headline", []):
        baseline = f"{_number(row.get('baseline'))} ({row.get('baseline_name', '')})" if row.get("baseline") is not None else "–"
        table.add_row(escape(str(row["metric"])), _number(row.get("model")), escape(baseline))
    console.print(table)
    say(f"report: {run_dir / 'report.md'}", "bold")
    say(DISCLAIMER, "bold red")


def _number(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


@command()
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
    import json

    from vitalens.interpretation import interpret_hb

    result = interpret_hb(hb, age_years=age, sex=sex, pregnancy_trimester=trimester, altitude_m=altitude, smoking=smoking, cigarettes_per_day=cigarettes)
    console.print_json(json.dumps(result.to_dict()))


@command()
def serve(
    host: str = typer.Option("127.0.0.1", help="interface to listen on (0.0.0.0 to serve the local network)"),
    port: int = typer.Option(8000),
    max_concurrent: int = typer.Option(2, help="inferences at once; further requests wait"),
    max_upload_mb: float = typer.Option(20.0, help="largest accepted photo, in MB"),
    max_images: int = typer.Option(10, help="most photos in one request"),
    max_megapixels: float = typer.Option(40.0, help="largest accepted photo, in megapixels"),
    body_timeout: float = typer.Option(60.0, help="seconds a request body may take to arrive (then 408)"),
    keep_alive_timeout: int = typer.Option(10, min=1, help="seconds an idle connection, or one without complete request headers, stays open"),
    bundle: Optional[list[Path]] = typer.Option(None, help="a bundle folder or .zip to serve instead of the shipped one for its task (repeatable)"),
) -> None:
    """The HTTP API (/v1/predict, /v1/models, /healthz, /docs) and the offline browser app at /."""
    from vitalens.service import ServiceLimits, create_app
    from vitalens.service.server import serve as run_server

    limits = ServiceLimits(max_upload_bytes=int(max_upload_mb * 1024 * 1024), max_images=max_images,
                           max_pixels=int(max_megapixels * 1_000_000), max_concurrent=max_concurrent, body_timeout_s=body_timeout,
                           keep_alive_timeout_s=keep_alive_timeout)  # fmt: skip
    say(f"vitalens app on http://{host}:{port}/, API docs at http://{host}:{port}/docs", "bold")
    say(DISCLAIMER, "bold red")
    run_server(create_app(limits, bundle or ()), host, port, limits)


def _register_task_commands() -> None:
    """Each task's own extra commands (e.g. a detector's training), named after their functions."""
    for task in all_tasks().values():
        for reference in task.commands:
            function = resolve(reference)
            command(function.__name__.replace("_", "-"))(function)


_register_task_commands()


def main() -> None:
    """The `vitalens` command (also `python -m vitalens`)."""
    app()


if __name__ == "__main__":
    main()
