"""MODEL_CARD.md for the lips bundle, generated from the run's own report: the shared card shape
(`vitalens.model_card`) with the Hb header and baseline table both Hb tasks use
(`vitalens.tasks._haemoglobin.card`)."""

from __future__ import annotations

from typing import Any

from vitalens.model_card import Section, render_card, with_section
from vitalens.tasks._haemoglobin.card import hb_front_matter, model_vs_mean_table


def _disaggregated(report: dict[str, Any]) -> list[str]:
    lines = []
    persons = report.get("persons_per_group", {})
    for column, records in report.get("disaggregated", {}).items():
        lines += ["", f"### By {column} (leave-one-person-out; tiny groups, read as anecdotes)", "", "| group | photos | persons | MAE | bias |", "|---|---|---|---|---|"]
        lines += [f"| {r['group']} | {r['n']} | {persons.get(column, {}).get(str(r['group']), '?')} | {r['mae']:.2f} | {r['bias']:+.2f} |" for r in records]
    return lines


def _input_gate(manifest: dict[str, Any]) -> list[str]:
    """The mouth check and width rule, with the out-of-fold pass rates they were chosen at."""
    check = manifest.get("lip_check")
    if not check:
        return ["No mouth check in this bundle: any red, lip-shaped region the lip finder picks is read as lips."]
    rows = [f"| {site} | {r['n']} | {r['mouth_check']:.1%} | {r['with_width_rule']:.1%} |" for site, r in check["pass_rate_out_of_fold_by_site"].items()]
    return [
        f"Before any estimate the lip region must be at least {check['min_lip_width_px']} px wide ({check['min_lip_width_chosen']}) and pass "
        f"a learned mouth check ({check['features']}; logistic regression, C = {check['chosen']['C']}, threshold {check['threshold']:.2f}: "
        f"{check['threshold_chosen']}). Otherwise the photo is refused with the reason and a tip.",
        "",
        "Pass rates out of fold on the tuning half of each body site's photos (grouped 5-fold CV; the test half grades it in "
        "`benchmarks/wrong_photos.py`):",
        "",
        "| photos | regions | mouth check | and width rule |",
        "|---|---|---|---|",
        *rows,
    ]


def with_input_gate(card: str, manifest: dict[str, Any]) -> str:
    """The card with its Input gate section rewritten from the manifest (after a new mouth check)."""
    return with_section(card, "Input gate", _input_gate(manifest))


def render_lip_model_card(manifest: dict[str, Any], report: dict[str, Any]) -> str:
    validation, uncertainty, data = manifest["validation"], manifest["uncertainty"], manifest["training_data"]
    model, base, permutation = validation["model"], validation["mean_predictor"], validation["permutation_test"]
    p_value = f"p = {permutation['p_value']:.2f} ({permutation['permutations']} shuffles)" if permutation.get("p_value") is not None else "not run"
    front = hb_front_matter(manifest, "lips-starter", "Lips starter set (student Hb-from-lips case competition)", "lips-starter", ["lips"])
    sections: list[Section] = [
        ("Intended use", [
            "Research and teaching on non-invasive haemoglobin estimation from smartphone lip photos, and a worked example of "
            "reporting a weak model honestly. Every estimate comes with a (very rough) conformal interval and its WHO 2024 band.",
        ]),
        ("Out-of-scope use", [
            "Diagnosis, treatment decisions, screening without laboratory confirmation, or any decision about a person. "
            "Lipstick, lip balm, filters, beauty modes and strong coloured light change lip colour and are outside what was seen.",
        ]),
        ("Model", [
            f"{validation['model_choice']}",
            "",
            f"Inputs: `{'`, `'.join(manifest['inputs']['features']['names'])}`, computed by `{manifest['inputs']['features']['computed_by']}`. "
            "The lips are found by colour (CIELAB a* − b*); a photo in which no lip region is found is refused with the reason, never estimated.",
        ]),
        ("Input gate", _input_gate(manifest)),
        ("Training data", [
            f"{data['images']} photos of {data['groups']} people; lips found by {', '.join(f'{method}: {n}' for method, n in data['lip_regions'].items())}. {data.get('source', '')}",
        ]),
        ("Evaluation", [
            f"Validation: {validation['scheme']} — every photo of a person held out together.",
            "",
            *model_vs_mean_table(model, base),
            "",
            f"Label-permutation test of the model's LOPO MAE: {p_value}. A p-value this size means the data cannot rule out "
            "that lip colour carries no Hb signal at all here; the advantage over the mean predictor may be luck.",
            "",
            f"Conformal {uncertainty['coverage']:.0%} interval: ±{uncertainty['half_width']:.2f} g/dL; empirical coverage under "
            f"leave-one-person-out calibration {uncertainty['empirical_coverage_lopo']:.1%}. {uncertainty['note']}",
            *_disaggregated(report),
        ]),
        ("Bias, risks and limitations", [
            f"- {data['groups']} people. Nothing here is evidence that the model works; it is a baseline to beat with more data.",
            "- Estimates regress towards the training mean: very low and very high Hb are pulled towards it.",
            "- Raw lip colour moves with the light, the white balance, the phone and skin tone (melanin darkens lips too). "
            "On SYNTHETIC data (`benchmarks/synthetic_fairness.py`) a raw-colour model shows a planted skin-tone bias that "
            "normalising against the skin around the lips shrinks; the real data are too few to measure either.",
            "- Skin-tone groups are the ITA° category of the skin around the lips measured on an uncalibrated photo (in the "
            "seed's meta.csv this is the `skin_tone_proxy` column): a proxy for auditing, not a skin type.",
        ]),
        ("How to run it", [
            "```bash",
            f"vitalens predict --task {manifest['task']} --data <lip photos> --out predictions.csv",
            "```",
            "The runtime needs numpy, OpenCV, Pillow and onnxruntime; no torch.",
        ]),
    ]  # fmt: skip
    title = f"vitalens {manifest['task']} — {manifest['model']['features']} features, {manifest['model']['head']}"
    return render_card(front, title, manifest["disclaimer"], sections)
