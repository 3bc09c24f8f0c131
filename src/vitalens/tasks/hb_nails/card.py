"""The fingernail bundle's MODEL_CARD.md, generated from the run's own report: the shared card shape
(`vitalens.model_card`) with the Hb header and baseline table both Hb tasks use
(`vitalens.tasks._haemoglobin.card`), plus the nail detector's section."""

from __future__ import annotations

from typing import Any

from vitalens.model_card import render_card
from vitalens.tasks._haemoglobin.card import hb_front_matter, model_vs_mean_table


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


def render_model_card(manifest: dict[str, Any], report: dict[str, Any]) -> str:
    validation, uncertainty = manifest["validation"], manifest["uncertainty"]
    model, base = validation["model"], validation["mean_predictor"]
    front = hb_front_matter(manifest, "yakimov2024-fingernails", "Yakimov et al. 2024 fingernail photos (development sessions)", "yakimov2024", [])
    evaluation = [
        f"Validation: {validation['scheme']} — no session on both sides of a split.",
        "",
        *model_vs_mean_table(model, base),
        "",
        f"Conformal {uncertainty['coverage']:.0%} interval: ±{uncertainty['half_width']:.2f} g/dL; "
        f"empirical coverage under leave-one-session-out calibration {uncertainty['empirical_coverage_loso']:.1%}.",
        "",
        f"Anaemia detection at Hb < {manifest['decision']['anaemia_threshold_g_dl']} g/dL: sensitivity "
        f"{validation['anaemia_detection']['sensitivity']:.2f}, specificity {validation['anaemia_detection']['specificity']:.2f}, "
        f"ROC AUC {validation['anaemia_detection']['roc_auc']:.2f}.",
    ]
    for column, records in report.get("disaggregated", {}).items():
        evaluation += ["", f"### By {column} (95 % bootstrap CI)", "", "| group | n | MAE | CI | bias |", "|---|---|---|---|---|"]
        evaluation += [f"| {r['group']} | {r['n']} | {r['mae']:.2f} | {r['mae_ci_low']:.2f}–{r['mae_ci_high']:.2f} | {r['bias']:+.2f} |" for r in records]
    evaluation += _detector_section(manifest.get("detector"))
    severity = report.get("by_severity", {}).get("model", {})
    if severity:
        evaluation += ["", "### By WHO severity band of the true Hb", "", "| band | n | MAE |", "|---|---|---|"]
        evaluation += [f"| {band} | {row['n']} | {row['mae']:.2f} |" if row["mae"] is not None else f"| {band} | 0 | – |" for band, row in severity.items()]
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
            "- The estimate regresses towards the training mean: severe anaemia (Hb < 8 g/dL) is rare in the data and "
            "is under-estimated least well — see the severity table.",
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
