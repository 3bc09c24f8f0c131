"""report.md of a skin training run: the held-out comparison, audits, case mix, cross-validated estimate,
per-class recall, lighting head, ITA° agreement and training choices, for people."""

from __future__ import annotations

from vitalens.tasks.skin_condition.metrics import HEADLINE, ITA_TO_FITZPATRICK


def ci_cell(entry: dict, scale: float = 100) -> str:
    return f"{entry['value'] * scale:.1f} ({entry['ci'][0] * scale:.1f}–{entry['ci'][1] * scale:.1f})"


def markdown(report: dict) -> str:
    lines = [f"# {report['task']} — held-out evaluation", "", f"> **{report['disclaimer']}**", "",
             f"Held-out split: {report['split']}; n = {report['n_test']} photos. Percent, 95 % bootstrap CI.", "",
             "| model | top-1 | top-3 | macro recall | macro-F1 | three-partition acc. |", "|---|---|---|---|---|---|"]  # fmt: skip
    for name, metrics in report["comparison"].items():
        lines.append(f"| {name} | " + " | ".join(ci_cell(metrics[m]) for m in HEADLINE) + " |")
    margin = report["top1_over_frozen_baseline"]
    lines += ["", f"Shipped minus frozen Lite0 + logistic, top-1 on the same photos: {margin['difference'] * 100:+.1f} points "
              f"(paired bootstrap 95 % CI {margin['ci'][0] * 100:+.1f} to {margin['ci'][1] * 100:+.1f}, near-duplicate groups resampled whole)."]
    c = report["calibration"]
    lines += ["", f"Calibration: ECE {c['ece_before']:.3f} before, {c['ece_after']:.3f} after temperature scaling (T = {c['temperature']:.2f}, fitted on validation).", ""]
    for attribute, table in report["audit"].items():
        others = [k for k in next(iter(table.values())) if k.startswith("top1 ")]
        lines += [f"## By {attribute} (shipped model with 95 % CI; other models' top-1 beside)", "",
                  "| group | n | top-1 (CI) | top-3 (CI) | worst | " + " | ".join(others) + " |", "|---" * (5 + len(others)) + "|"]  # fmt: skip
        for group, row in table.items():
            lines.append(f"| {group} | {row['n']} | {row['top1'] * 100:.1f} ({row['top1_ci_low'] * 100:.1f}–{row['top1_ci_high'] * 100:.1f}) | "
                         f"{row['top3'] * 100:.1f} ({row['top3_ci_low'] * 100:.1f}–{row['top3_ci_high'] * 100:.1f}) | {'⚠' if row['worst'] else ''} | "
                         + " | ".join(f"{row[k] * 100:.1f}" for k in others) + " |")  # fmt: skip
        lines.append("")
    gap = report["fitzpatrick_top1_gap"]
    lines += [f"Fitzpatrick groups (unknown left out): worst {gap['worst']}, best {gap['best']}, top-1 gap {gap['gap'] * 100:.1f} points "
              f"(95 % bootstrap CI {gap['ci'][0] * 100:.1f}–{gap['ci'][1] * 100:.1f}; the gap between noisy group estimates is biased upwards).", "",
              "Case mix or service? `expected` is the top-1 each group would get if every photo scored at its diagnosis's top-1 over all groups "
              "(differences come only from which diagnoses a group has); `standardised` weights the group's own per-diagnosis top-1 by the overall "
              "diagnosis mix (differences come only from how well each diagnosis is served in the group).", "",
              "| Fitzpatrick group | n | top-1 | expected from case mix | standardised (diagnoses covered) |", "|---|---|---|---|---|"]
    lines += _case_mix_rows(report["fitzpatrick_case_mix"])
    if "cross_validated" in report:
        lines += _cross_validated_markdown(report["cross_validated"])
    lines += ["## Per class (held-out recall, 95 % bootstrap CI)", "", "| class | n test | n train | recall | CI |", "|---|---|---|---|---|"]
    lines += [f"| {c} | {r['n']} | {r['train_n']} | {r['recall'] * 100:.0f} | {r['recall_ci'][0] * 100:.0f}–{r['recall_ci'][1] * 100:.0f} |" for c, r in report["per_class"].items()]
    light = report["lighting"]
    lines += ["", "## Lighting head (held-out photos plus one degraded copy each)", "",
              f"accuracy {light['accuracy']:.3f} (majority {light['majority_accuracy']:.3f}), balanced accuracy {light['balanced_accuracy']:.3f}, "
              f"AUC {light['auc']:.3f}, average precision for 'poor' {light['average_precision_poor']:.3f}; threshold P(good) ≥ {light['threshold']:.2f}.", "",
              "| degradation | n | poor fraction (rule) | head accuracy |", "|---|---|---|---|"]  # fmt: skip
    lines += [f"| {k} | {v['n']} | {v['poor_fraction']:.2f} | {v['accuracy']:.3f} |" for k, v in light["by_degradation"].items()]
    ita = report["ita_vs_fitzpatrick"]
    lines += ["", "## ITA° (measured on the photo) vs annotated Fitzpatrick type", "",
              f"n = {ita['n']}; Spearman ρ(type, ITA°) = {ita['spearman_rho_type_vs_ita']:.2f}; three-group agreement {ita['group_agreement']:.2f}, "
              f"quadratic κ {ita['quadratic_kappa']:.2f}. Median ITA° by type: " + ", ".join(f"{t}: {v:.0f}°" for t, v in ita["median_ita_by_type"].items()), "",
              "| Fitzpatrick \\ ITA group | " + " | ".join(ITA_TO_FITZPATRICK) + " |", "|---|---|---|---|"]  # fmt: skip
    for group, row in ita["confusion"].items():
        lines.append(f"| {group} | " + " | ".join(str(row[c]) for c in ITA_TO_FITZPATRICK) + " |")
    t = report["training"]
    candidates = ", ".join(f"{name} {c['val_top1']:.3f}" for name, c in t["candidates"].items())
    lines += ["", "## Training", "", f"Shipped, chosen on validation top-1: {t['shipped']} ({candidates}). "
              f"Phased fine-tune: {t['chosen_balance']} chosen on validation (top-1 {t['variants_val_top1']}); "
              f"phase C seconds per epoch {t['phase_c_seconds_per_epoch']}."]  # fmt: skip
    return "\n".join(lines) + "\n"


def _case_mix_rows(table: dict) -> list[str]:
    return [f"| {g} | {r['n']} | {r['observed'] * 100:.1f} | {r['expected_from_case_mix'] * 100:.1f} | {r['standardised'] * 100:.1f} ({r['coverage'] * 100:.0f} %) |"
            for g, r in table.items()] + [""]  # fmt: skip


def _cross_validated_markdown(cross: dict) -> list[str]:
    gap, metrics = cross["fitzpatrick_top1_gap"], cross["metrics"]
    return ["## Cross-validated: the depth-probe recipe out-of-fold", "",
            f"{cross['what']} ({cross['folds']} folds, {cross['n']} photos; near-duplicate groups never straddle a fold). "
            "A second estimate beside the held-out one, with about five times the photos per skin-type group.", "",
            "| top-1 | top-3 | macro-F1 | three-partition acc. |", "|---|---|---|---|",
            "| " + " | ".join(ci_cell(metrics[m]) for m in ("top1", "top3", "macro_f1", "three_partition_accuracy")) + " |", "",
            "Fitzpatrick top-1: " + ", ".join(f"{g} {v * 100:.1f}" for g, v in cross["fitzpatrick_top1"].items())
            + f"; gap {gap['gap'] * 100:.1f} points (95 % CI {gap['ci'][0] * 100:.1f}–{gap['ci'][1] * 100:.1f}); per fold "
            + " / ".join(f"{g * 100:.0f}" for g in cross["fitzpatrick_gap_per_fold"]) + ".", "",
            "| Fitzpatrick group | n | top-1 | expected from case mix | standardised (diagnoses covered) |", "|---|---|---|---|---|",
            *_case_mix_rows(cross["fitzpatrick_case_mix"])]  # fmt: skip
