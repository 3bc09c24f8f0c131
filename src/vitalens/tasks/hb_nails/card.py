"""The fingernail bundle's MODEL_CARD.md, generated from the run's own report: the shared card shape
(`vitalens.model_card`) with the Hb header and baseline table both Hb tasks use
(`vitalens.tasks._haemoglobin.card`), plus the nail detector's section."""

from __future__ import annotations

from typing import Any

from vitalens.model_card import render_card
from vitalens.tasks._haemoglobin.card import hb_front_matter, model_vs_mean_table
from vitalens.uncertainty import describe_rule


def _detector_section(detector: dict[str, Any] | None) -> list[str]:
    if detector is None:
        return ["", "### Nail detection", "", "No detector stage: photos need annotated nail boxes."]
    training, validation = detector.get("training", {}), detector.get("validation")
    lines = ["", "### Nail detection (first stage)", "",
             f"`{detector['file']}`: nail and finger-skin detector, {detector['input']['size']}×{detector['input']['size']} letterboxed input, "
             f"trained on {training.get('photos', '?')} photos from {training.get('sessions', '?')} sessions; the {detector['max_nails']} most "
             f"confident nails scoring ≥ {detector['score_threshold']} are used. A photo that fails the quality gate or shows no confident "
             "nail is refused with a tip, never estimated."]
    if isinstance(validation, dict):
        lines += ["", f"Validation: {validation['scheme']} (IoU 0.5 for precision and recall).", "",
                  "| class | mAP50 | mAP50-95 | precision | recall |", "|---|---|---|---|---|"]
        lines += [f"| {label} | {m['mAP50']:.3f} | {m['mAP50-95']:.3f} | {m['precision']:.3f} | {m['recall']:.3f} |"
                  for label, m in validation["pooled"].items()]
    return lines


def learning_curve_markdown(curve: dict) -> str:
    """The learning curve as a markdown table (report.md and the card)."""
    lines = ["", "## Learning curve (nested MAE by number of training sessions)", "", "| training sessions | nested MAE (g/dL) | draws | range |", "|---|---|---|---|"]
    lines += [f"| {p['sessions']} | {p['nested_mae']:.3f} | {p['draws']} | {p['range'][0]:.3f}–{p['range'][1]:.3f} |" for p in curve["points"]]
    fit = curve["fit"]
    lines += ["", f"Fit {fit['form']}: a = {fit['a']:.3f}, b = {fit['b']:.3f}; extrapolated ({curve['note']}): "
              + ", ".join(f"{n} sessions {v:.2f}" for n, v in curve["extrapolated"].items()) + "."]  # fmt: skip
    return "\n".join(lines) + "\n"


def _interval_lines(uncertainty: dict[str, Any]) -> list[str]:
    lines = [f"Conformal {uncertainty['coverage']:.0%} interval ({uncertainty['method']}): {describe_rule(uncertainty, 'g/dL')} "
             "(reach below / above the estimate); empirical coverage with each session's interval calibrated, and its rule "
             f"chosen, on the other sessions only {uncertainty['empirical_coverage_loso']:.1%}."]  # fmt: skip
    if uncertainty.get("rule"):
        lines.append(f"\nRule: {uncertainty['rule']}, {uncertainty.get('rule_how', '')}.")
    by_band = uncertainty.get("coverage_by_who_band") or {}
    if by_band:
        lines += ["", "| true-Hb band | n | interval coverage |", "|---|---|---|"] + [f"| {b} | {r['n']} | {r['coverage']:.1%} |" for b, r in by_band.items()]
    return lines


def _severity_lines(report: dict[str, Any]) -> list[str]:
    severity = report.get("by_severity", {}).get("model", {})
    lines = []
    if severity:
        lines += ["", "### By WHO severity band of the true Hb (95 % CI, sessions resampled)", "", "| band | n | MAE | CI |", "|---|---|---|---|"]
        lines += [f"| {band} | {row['n']} | {row['mae']:.2f} | {row['ci'][0]:.2f}–{row['ci'][1]:.2f} |" if row["n"] else f"| {band} | 0 | – | – |"
                  for band, row in severity.items()]  # fmt: skip
    screening = report.get("screening", {}).get("model", [])
    if screening:
        lines += ["", "| Hb below | n below | sensitivity (95 % CI) | specificity (95 % CI) |", "|---|---|---|---|"]
        lines += [f"| {r['threshold']:g} g/dL | {r['n_below']} | {r['sensitivity']:.2f} ({r['sensitivity_ci'][0]:.2f}–{r['sensitivity_ci'][1]:.2f}) | "
                  f"{r['specificity']:.2f} ({r['specificity_ci'][0]:.2f}–{r['specificity_ci'][1]:.2f}) |" for r in screening]  # fmt: skip
    return lines


def _selection_lines(report: dict[str, Any]) -> list[str]:
    """How the shipped features and head were chosen, and the figure a non-nested search would have printed."""
    if report.get("protocol") != "nested":
        return ["", "### How the model was chosen", "", "A single given configuration (protocol `single`); no selection."]
    chosen = {}
    for fold in report["candidates"]:
        chosen[fold["chosen"]] = chosen.get(fold["chosen"], 0) + 1
    optimistic, final = report["optimistic"], report.get("final_choice", {})
    return ["", "### How the model was chosen", "",
            f"Nested: inside each of the {len(report['candidates'])} outer training folds, an inner grouped CV by session chose among "
            f"{', '.join(report['candidates'][0]['inner_mae'])}; the figures above are the outer (nested) ones. Chosen per outer fold: "
            + ", ".join(f"{name} {count}×" for name, count in sorted(chosen.items(), key=lambda kv: -kv[1])) + ".",
            f"For comparison only, {optimistic['label']}: MAE {optimistic['mae']:.3f} ({optimistic['candidate']}). Larger pools (nail-bed "
            "pixels, a card colour-correction matrix, a CNN blend, CatBoost, a target-balanced head) were tried the same way in "
            "`benchmarks/hb_nails_nested.py` and did not lower the nested MAE.",
            *([f"Shipped: {final['chosen']} ({final['how']})."] if final else [])]  # fmt: skip


def render_model_card(manifest: dict[str, Any], report: dict[str, Any]) -> str:
    validation, uncertainty = manifest["validation"], manifest["uncertainty"]
    model, base = validation["model"], validation["mean_predictor"]
    front = hb_front_matter(manifest, "yakimov2024-fingernails", "Yakimov et al. 2024 fingernail photos (development sessions)", "yakimov2024", [])
    evaluation = [
        f"Validation: {validation['scheme']} — no session on both sides of a split.",
        "",
        *model_vs_mean_table(model, base),
        "",
        *_interval_lines(uncertainty),
        "",
        f"Anaemia detection at Hb < {manifest['decision']['anaemia_threshold_g_dl']} g/dL: sensitivity "
        f"{validation['anaemia_detection']['sensitivity']:.2f}, specificity {validation['anaemia_detection']['specificity']:.2f}, "
        f"ROC AUC {validation['anaemia_detection']['roc_auc']:.2f}.",
    ]
    for column, records in report.get("disaggregated", {}).items():
        evaluation += ["", f"### By {column} (95 % bootstrap CI)", "", "| group | n | MAE | CI | bias |", "|---|---|---|---|---|"]
        evaluation += [f"| {r['group']} | {r['n']} | {r['mae']:.2f} | {r['mae_ci_low']:.2f}–{r['mae_ci_high']:.2f} | {r['bias']:+.2f} |" for r in records]
    evaluation += _detector_section(manifest.get("detector"))
    evaluation += _severity_lines(report) + _selection_lines(report)
    if report.get("learning_curve"):
        evaluation += learning_curve_markdown(report["learning_curve"]).replace("\n## ", "\n### ").splitlines()
    sections = [
        ("Intended use", [
            "Research on non-invasive haemoglobin estimation from smartphone photos of fingernails on a white card; "
            "benchmarking; teaching. Every estimate comes with a conformal interval and the WHO 2024 band it falls in.",
        ]),
        ("Out-of-scope use", [
            "Diagnosis, treatment decisions, or screening without laboratory confirmation. Photos unlike the training "
            "photos (no white card, different lighting, painted nails, other devices) are outside what was validated.",
        ]),
        ("Training data", [
            f"{manifest['training_data'].get('images', '?')} photos from {manifest['training_data'].get('groups', '?')} measurement sessions. "
            f"{manifest['training_data'].get('citation', '')}",
        ]),
        ("Evaluation", evaluation),
        ("Bias, risks and limitations", [
            "- The estimate regresses towards the training mean: severe anaemia (Hb < 8 g/dL) is rare in the data and is "
            "over-estimated, so it is rarely flagged — read the severity and detection tables. A head that weights rare Hb "
            "ranges up (`-o protocol=single -o head=ridge_balanced`) flags more of it at a higher overall MAE "
            "(benchmarks/results/hb_nails_nested.txt).",
            "- Development data: one study, one card, few devices; 16 sessions. Skin-tone groups come from ITA° measured "
            "on the photo, which depends on lighting; small groups have wide intervals.",
            "- A mean predictor is not far behind: read the model's advantage in the table above, not in adjectives.",
        ]),
        ("How to run it", [
            "```bash",
            "vitalens predict --model <this bundle> --data <raw photos, or a dataset folder with boxes> --out predictions.csv",
            "```",
            "The regressor's inputs are nail and adjacent-skin crops plus the photo's references (the card's white, and its red mark for `colour_red`; see `bundle.json`); the runtime "
            "needs only numpy, Pillow and onnxruntime.",
        ]),
    ]  # fmt: skip
    title = f"vitalens {manifest['task']} — {manifest['model']['features']} features, {manifest['model']['head']} head"
    return render_card(front, title, manifest["disclaimer"], sections)
