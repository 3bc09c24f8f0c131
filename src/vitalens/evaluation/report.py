"""Everything a run measured, written to `experiments/<run_name>/` — the model card reads the same report."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from vitalens import DISCLAIMER
from vitalens.results import jsonable
from vitalens.uncertainty import describe_rule
from vitalens.evaluation import figures
from vitalens.evaluation.hb_scale import interval_scale_figure
from vitalens.evaluation.fairness import disaggregate
from vitalens.evaluation.metrics import anaemia_detection, mae_by_severity, mae_by_severity_with_ci, regression_metrics, screening_with_ci


def regression_report(predictions: pd.DataFrame, config: Any, audit_columns: list[str]) -> dict[str, Any]:
    """Model and mean-predictor side by side, severity bands, screening view and disaggregated tables.
    `config` is any run configuration with `anaemia_threshold`, `n_boot` and `seed`."""
    y, model, baseline = predictions["hb_true"], predictions["hb_pred"], predictions["hb_mean_predictor"]
    clusters = predictions["group"] if "group" in predictions else None  # CIs resample whole groups (sessions)
    report = {
        "model": regression_metrics(y, model),
        "mean_predictor": regression_metrics(y, baseline),
        "by_severity": {"model": mae_by_severity_with_ci(y, model, clusters, config.n_boot), "mean_predictor": mae_by_severity(y, baseline)},
        "screening": {"model": screening_with_ci(y, model, clusters=clusters, n_boot=config.n_boot),
                      "mean_predictor": screening_with_ci(y, baseline, clusters=clusters, n_boot=0)},  # fmt: skip
        "anaemia_detection": {
            "model": anaemia_detection(y, model, config.anaemia_threshold),
            "mean_predictor": anaemia_detection(y, baseline, config.anaemia_threshold),
        },
        "disaggregated": {},
    }
    for column in audit_columns:
        if column in predictions and predictions[column].notna().any():
            table = disaggregate(y, model, predictions[column].rename(column), n_boot=config.n_boot, seed=config.seed)
            report["disaggregated"][column] = _table_records(table)
    return report


def write_run(run_dir: Path, report: dict[str, Any], predictions: pd.DataFrame, folds: pd.DataFrame) -> Path:
    """Every run file but config.yaml, which the spine writes (vitalens.runs.write_config)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "figures").mkdir(exist_ok=True)
    predictions.to_csv(run_dir / "predictions.csv", index=False)
    folds.to_csv(run_dir / "metrics.csv", index=False)
    report = {"disclaimer": DISCLAIMER, **report, "figures": _write_figures(run_dir / "figures", report, predictions)}
    (run_dir / "report.json").write_text(json.dumps(jsonable(report), indent=2))
    (run_dir / "report.md").write_text(markdown_report(report))
    return run_dir


def _write_figures(folder: Path, report: dict[str, Any], predictions: pd.DataFrame) -> list[str]:
    y, p = predictions["hb_true"].to_numpy(), predictions["hb_pred"].to_numpy()
    written = [
        figures.predicted_vs_true(y, p, folder / "predicted_vs_true.png"),
        figures.bland_altman_plot(y, p, folder / "bland_altman.png"),
    ]
    bands = pd.DataFrame(report["by_severity"]["model"]).T
    bands = bands[bands["n"] > 0]
    if "ci" in bands:
        bands["mae_ci_low"], bands["mae_ci_high"] = [c[0] for c in bands["ci"]], [c[1] for c in bands["ci"]]
    baseline = [report["by_severity"]["mean_predictor"][band]["mae"] for band in bands.index]
    written.append(figures.error_by_group(bands, folder / "error_by_severity.png", title="MAE by WHO severity band (true Hb, 95 % CI)", baseline=baseline))
    if (report.get("conformal") or {}).get("bin_below"):  # what an answer looks like, with this run's intervals
        written.append(interval_scale_figure(report["conformal"], folder / "interval_scale.svg"))
    for column, records in report.get("disaggregated", {}).items():
        table = pd.DataFrame(records).set_index("group")
        written.append(figures.error_by_group(table, folder / f"error_by_{column}.png", title=f"MAE by {column} (95 % bootstrap CI)", baseline=report["mean_predictor"]["mae"]))
    return [str(path.relative_to(folder.parent)) for path in written]


def _table_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return table.reset_index(names="group").to_dict(orient="records")


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def markdown_report(report: dict[str, Any]) -> str:
    model, base = report["model"], report["mean_predictor"]
    lines = [
        f"# {report.get('task', 'vitalens')} — evaluation report",
        "",
        f"> **{report['disclaimer']}**",
        "",
        f"Validation: **{report.get('validation', '')}**; photos: {model['n']}; skipped files: {report.get('data', {}).get('skipped', 0)}.",
        "",
        "| metric | model | mean predictor |",
        "|---|---|---|",
    ]
    for key in ("mae", "rmse", "r2", "median_ae", "bias", "loa_low", "loa_high", "within_1", "within_2"):
        lines.append(f"| {key} | {_fmt(model[key])} | {_fmt(base[key])} |")
    screening = report["anaemia_detection"]
    lines += ["", f"## Anaemia detection (Hb < {screening['model']['threshold']} g/dL)", "", "| | model | mean predictor |", "|---|---|---|"]
    for key in ("sensitivity", "specificity", "roc_auc", "prevalence"):
        lines.append(f"| {key} | {_fmt(screening['model'][key])} | {_fmt(screening['mean_predictor'][key])} |")
    lines += _screening_lines(report)
    lines += ["", "## MAE by WHO severity band of the true Hb (95 % CI, groups resampled)", "", "| band | n | model | CI | mean predictor |", "|---|---|---|---|---|"]
    for band, row in report["by_severity"]["model"].items():
        ci = "–".join(_fmt(v) for v in row["ci"]) if "ci" in row else "–"
        lines.append(f"| {band} | {row['n']} | {_fmt(row['mae'])} | {ci} | {_fmt(report['by_severity']['mean_predictor'][band]['mae'])} |")
    if "conformal" in report:
        lines += _uncertainty_lines(report["conformal"])
    for column, records in report.get("disaggregated", {}).items():
        lines += ["", f"## By {column} (95 % bootstrap CI)", "", "| group | n | MAE | CI | bias | worst |", "|---|---|---|---|---|---|"]
        for row in records:
            lines.append(f"| {row['group']} | {row['n']} | {_fmt(row['mae'])} | {_fmt(row['mae_ci_low'])}–{_fmt(row['mae_ci_high'])} | {_fmt(row['bias'])} | {'⚠' if row['worst'] else ''} |")
    if report.get("figures"):
        lines += ["", "## Figures", ""] + [f"![{Path(f).stem}]({f})" for f in report["figures"]]
    if report.get("citation"):
        lines += ["", "## Data", "", report["citation"]]
    return "\n".join(lines) + "\n"


def _screening_lines(report: dict[str, Any]) -> list[str]:
    """Sensitivity and specificity of "estimate below t" at the severe and moderate cut-offs, with CIs."""
    if "screening" not in report:
        return []
    lines = ["", "## Detection below a cut-off (95 % CI, groups resampled)", "", "| Hb below | n below | sensitivity | CI | specificity | CI |", "|---|---|---|---|---|---|"]
    for row in report["screening"]["model"]:
        ci = lambda key: "–".join(_fmt(v) for v in row[key])  # noqa: E731
        lines.append(f"| {row['threshold']:g} g/dL | {row['n_below']} | {_fmt(row['sensitivity'])} | {ci('sensitivity_ci')} | {_fmt(row['specificity'])} | {ci('specificity_ci')} |")
    return lines


def _rule_selection_lines(conformal: dict[str, Any]) -> list[str]:
    """Every interval rule tried, with its leave-one-group-out figures on all groups, and the nested choices."""
    selection = conformal["rule_selection"]
    chosen = ", ".join(f"{rule} {n}" for rule, n in Counter(selection["chosen_by_fold"]).most_common())
    lines = [f"Rule shipped: {conformal['rule']} ({selection['how']}). Chosen in the outer folds: {chosen}.", "",
             "| interval rule tried | coverage (leave-one-group-out, all groups) | worst band with >= 10 | mean width | meets the criterion |",
             "|---|---|---|---|---|"]  # fmt: skip
    return lines + [f"| {r['rule']} | {r['coverage']:.1%} | {r['worst_stratum']:.1%} | {r['mean_width']:.2f} | {'yes' if r['meets'] else 'no'} |"
                    for r in selection["candidates_on_all_groups"]]  # fmt: skip


def _uncertainty_lines(conformal: dict[str, Any]) -> list[str]:
    """The interval's coverage when each group's interval is calibrated without it: overall, per stratum
    (WHO band of the true value) and the worst outer fold."""
    lines = ["", "## Uncertainty", "", f"Conformal {conformal['target_coverage']:.0%} interval ({conformal.get('method', 'split-conformal')}): "
             f"empirical coverage {conformal['empirical_coverage']:.1%} under leave-one-group-out calibration, mean width {conformal['mean_width']:.2f} g/dL."]  # fmt: skip
    if conformal.get("bin_edges"):
        lines.append(f"Reach below / above the estimate, by its bin: {describe_rule(conformal, 'g/dL')}.")
    if conformal.get("rule_selection"):
        lines += _rule_selection_lines(conformal)
    if conformal.get("by_stratum"):
        lines += ["", "| true-Hb band | n | coverage |", "|---|---|---|"] + [f"| {band} | {row['n']} | {row['coverage']:.1%} |" for band, row in conformal["by_stratum"].items()]
    if conformal.get("by_fold"):
        worst = min(conformal["by_fold"], key=lambda row: row["coverage"])
        lines.append(f"\nLowest coverage of one outer fold: {worst['coverage']:.0%} (fold {worst['fold']}, n = {worst['n']}).")
    return lines
