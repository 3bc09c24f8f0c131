"""MODEL_CARD.md for the skin-condition bundle, in the Hugging Face format: held-out metrics with CIs beside
the baselines, the audits by Fitzpatrick and ITA group, the lighting head and the ITA caveat."""

from __future__ import annotations

from typing import Any

from vitalens.model_card import Section, render_card, with_section

SKIN_CHECK_HEADING = "Input gate (skin check)"


def skin_check_section(check: dict[str, Any], typicality: dict[str, Any]) -> list[str]:
    """The card's words for the graph's `site_logit` output: its threshold, the typicality threshold chosen with
    it, and the rates they were chosen at."""
    chosen, rates = check["chosen"], check["pass_rate_out_of_fold_by_site"]
    lines = [f"The graph's `site_logit` output is a logistic check on the pooled features the network already computes ({check['features']}); "
             f"under {check['threshold']:.3f} the photo is not a skin close-up like the training photos and is refused with the tip: \"{check['tip']}\".",
             "", f"Chosen on the tuning half of every body site's photos only: C = {chosen['C']} ({chosen['by']}); threshold: {check['threshold_chosen']}. "
             f"The `typicality` threshold chosen with it: {typicality['threshold']:g} ({typicality['threshold_chosen'].rsplit('(', 1)[-1].rstrip(')')}). "
             "Out-of-fold pass rates on the tuning half (test-half answered rates: benchmarks/results/wrong_photos.md):",
             "", "| tuning photos | n | pass the skin check | pass it, the face gate and the typicality check |", "|---|---|---|---|"]  # fmt: skip
    lines += [f"| {site} | {r['n']} | {r['skin_check']:.1%} | {r['with_face_gate_and_typicality']:.1%} |" for site, r in rates.items()]
    return lines


def with_skin_check(card: str, manifest: dict[str, Any]) -> str:
    """The card with its skin-check section added or replaced (a card without the check comes back unchanged)."""
    check = manifest["outputs"].get("site_logit")
    return with_section(card, SKIN_CHECK_HEADING, skin_check_section(check, manifest["outputs"]["typicality"])) if check else card


def render_skin_model_card(manifest: dict[str, Any], report: dict[str, Any]) -> str:
    """The skin-condition card: held-out metrics with CIs beside the baselines, audits, lighting, ITA caveat."""
    shipped = manifest["metrics"]["shipped"]
    comparison = report["comparison"]
    front = {
        "license": "cc-by-nc-sa-3.0",
        "library_name": "onnxruntime",
        "tags": ["vitalens", manifest["task"], "dermatology", "image-classification", "research-only", "onnx", "grad-cam"],
        "datasets": ["fitzpatrick17k"],
        "metrics": ["accuracy", "top_3_accuracy", "f1", "recall"],
        "model-index": [{
            "name": f"vitalens-{manifest['task']}",
            "results": [{
                "task": {"type": "image-classification", "name": f"skin condition ({len(manifest['labels'])} classes)"},
                "dataset": {"name": "Fitzpatrick17k (AJL subset), grouped held-out split", "type": "fitzpatrick17k"},
                "metrics": [{"type": key, "value": round(comparison[shipped][key]["value"], 4), "name": f"{key} (held-out)"}
                            for key in ("top1", "top3", "macro_f1", "macro_recall", "three_partition_accuracy")],
            }],
        }],
    }  # fmt: skip

    def cell(entry: dict) -> str:
        return f"{entry['value'] * 100:.1f} ({entry['ci'][0] * 100:.1f}–{entry['ci'][1] * 100:.1f})"

    keys = ("top1", "top3", "macro_recall", "macro_f1", "three_partition_accuracy")
    model = manifest["model"]
    evaluation = [
        f"Held-out split ({report['split']}); n = {report['n_test']}; percent with 95 % bootstrap CI.",
        "", "| model | top-1 | top-3 | macro recall | macro-F1 | three-partition |", "|---|---|---|---|---|---|",
        *[f"| {name} | " + " | ".join(cell(values[k]) for k in keys) + " |" for name, values in comparison.items()],
    ]  # fmt: skip
    calibration = report["calibration"]
    evaluation += ["", f"Expected calibration error {calibration['ece_before']:.3f} before and {calibration['ece_after']:.3f} after temperature scaling (T = {calibration['temperature']:.2f}, fitted on validation)."]
    for attribute, table in report["audit"].items():
        evaluation += ["", f"### By {attribute} (top-1, 95 % bootstrap CI)", "", "| group | n | top-1 | top-3 | worst |", "|---|---|---|---|---|"]
        evaluation += [f"| {g} | {r['n']} | {r['top1'] * 100:.1f} ({r['top1_ci_low'] * 100:.1f}–{r['top1_ci_high'] * 100:.1f}) | {r['top3'] * 100:.1f} | {'⚠' if r['worst'] else ''} |" for g, r in table.items()]
    gap, margin = report["fitzpatrick_top1_gap"], report["top1_over_frozen_baseline"]
    evaluation += ["", f"Top-1 minus the frozen Lite0 + logistic baseline on the same photos: {margin['difference'] * 100:+.1f} points "
                   f"(paired bootstrap 95 % CI {margin['ci'][0] * 100:+.1f} to {margin['ci'][1] * 100:+.1f}). Fitzpatrick groups: {gap['best']} minus "
                   f"{gap['worst']} top-1 {gap['gap'] * 100:.1f} points (95 % CI {gap['ci'][0] * 100:.1f}–{gap['ci'][1] * 100:.1f})."]  # fmt: skip
    if "cross_validated" in report:
        cross = report["cross_validated"]
        evaluation += ["", f"The same recipe out-of-fold over {cross['folds']} grouped folds of train + validation (n = {cross['n']}): top-1 "
                       f"{cell(cross['metrics']['top1'])}, Fitzpatrick gap {cross['fitzpatrick_top1_gap']['gap'] * 100:.1f} points "
                       f"(95 % CI {cross['fitzpatrick_top1_gap']['ci'][0] * 100:.1f}–{cross['fitzpatrick_top1_gap']['ci'][1] * 100:.1f})."]  # fmt: skip
    light, ita = report["lighting"], report["ita_vs_fitzpatrick"]
    evaluation += [
        "", "### Lighting verdict",
        f"On held-out photos plus one synthetically degraded copy each: accuracy {light['accuracy']:.3f} (majority {light['majority_accuracy']:.3f}), "
        f"AUC {light['auc']:.3f}. Labels come from documented rules on brightness, contrast, clipping, specular highlights, colour cast and sharpness "
        "(vitalens.tasks.skin_condition.lighting), not from human ratings.",
    ]  # fmt: skip
    training = manifest["training_data"]
    sections: list[Section] = [
        ("Intended use", ["Research and teaching on skin-condition recognition from clinical photos, with an audit by skin type, a "
                          "lighting-quality verdict and heat maps showing where the network looked. It names the three most likely of "
                          f"{len(manifest['labels'])} conditions; it is not a diagnosis."]),
        ("Out-of-scope use", ["Diagnosis, triage or treatment decisions; conditions outside the 21 trained ones (the model will still name one); "
                              "dermoscopy; photos that are not clinical close-ups of skin (the predictor refuses many of them through the `site_logit` skin check and the `typicality` output, not all: "
                              "see benchmarks/skin_ood.py and benchmarks/wrong_photos.py); commercial use (the training data is CC BY-NC-SA)."]),
        ("Model", [f"{model['architecture']} on {' + '.join(model['backbones'])} at {model['input_size']} px, {model['parameters']:,} parameters: "
                   + "; ".join(f"{k}: {v}" for k, v in model.items() if k not in ("file", "sha256", "architecture", "backbones", "parameters", "input_size"))]),
        ("Training data", [f"{training['photos']} photos ({training['skipped']} skipped), {training['near_duplicate_groups']} near-duplicate groups; "
                           f"split {training['split_sizes']}. {training['citation']} {training['license']}."]),
        ("Evaluation", evaluation),
        ("Bias, risks and limitations", [
            *[f"- {item}" for item in manifest["limitations"]],
            f"- ITA° measured on the photo agrees only partly with the annotated Fitzpatrick type (Spearman ρ = {ita['spearman_rho_type_vs_ita']:.2f}, "
            f"three-group agreement {ita['group_agreement']:.2f}): lighting and white balance move ITA°, so ITA-based audits measure the photo as much as the person."]),
        ("How to run it", ["```bash", f"vitalens predict --task {manifest['task']} --data <photos> --out predictions.csv", "```",
                           "Input: RGB in [0, 1], square centre crop (0.8 of the short side) resized to "
                           f"{model['input_size']} px; outputs {', '.join(f'`{name}`' for name in manifest['outputs'])} (see bundle.json). Runtime: numpy, Pillow, onnxruntime."]),
    ]  # fmt: skip
    if "site_logit" in manifest["outputs"]:
        sections.insert(-1, (SKIN_CHECK_HEADING, skin_check_section(manifest["outputs"]["site_logit"], manifest["outputs"]["typicality"])))
    title = f"vitalens {manifest['task']} — {model['architecture']} on {' + '.join(model['backbones'])} at {model['input_size']} px, Grad-CAM"
    return render_card(front, title, manifest["disclaimer"], sections)
