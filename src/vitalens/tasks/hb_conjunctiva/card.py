"""MODEL_CARD.md for the conjunctiva bundle, generated from the run's report: the shared card shape
(`vitalens.model_card`) with the Hb header and baseline table of `vitalens.tasks._haemoglobin.card`."""

from __future__ import annotations

from typing import Any

from vitalens.model_card import Section, render_card
from vitalens.tasks._haemoglobin.card import hb_front_matter, model_vs_mean_table

DEMONSTRATION = ("**A demonstration, not a measurement.** Under nested leave-one-hospital-out validation the 95 % CI of the MAE difference "
                 "against always predicting the training mean includes 0 (or favours the mean): these photos do not show that this "
                 "model reads Hb from the conjunctiva better than a constant.")  # fmt: skip
MODEL = ("Shipped as a model: the 95 % CI of the MAE difference against the mean predictor (whole hospitals resampled) excludes 0 in "
         "the model's favour. The gain is small (see Evaluation) and rests on 10 hospitals: a weak signal, not a screening tool.")


def render_card_for(manifest: dict[str, Any], report: dict[str, Any]) -> str:
    validation, data, uncertainty = manifest["validation"], manifest["training_data"], manifest["uncertainty"]
    paired, who = validation["paired_mae_difference"], validation["anaemia_who_age"]
    front = hb_front_matter(manifest, "cp-anemic", "CP-AnemiC (Appiahene et al. 2023)", "cp-anemic", ["conjunctiva", "children"])
    sections: list[Section] = [
        ("Status", [DEMONSTRATION if manifest["demonstration"] else MODEL]),
        ("Intended use", ["Research on non-invasive Hb estimation from segmented photos of children's lower-eyelid conjunctiva. "
                          "Not diagnosis, not screening without a laboratory test, not any decision about a child."]),  # fmt: skip
        ("Model", [f"Chosen by nested selection: {validation['final_choice']}. Inputs: `{'`, `'.join(manifest['inputs']['features']['names'])}`, "
                   f"computed by `{manifest['inputs']['features']['computed_by']}`."]),  # fmt: skip
        ("Training data", [f"{data['images']} distinct photos from {data['groups']} hospitals after dropping {data['duplicates_dropped']} exact "
                           f"duplicates (most of which carry a different Hb than their copy). {data['source']}"]),  # fmt: skip
        ("Evaluation", [
            f"Validation: {validation['scheme']}.", "", *model_vs_mean_table(validation["model"], validation["mean_predictor"]), "",
            f"MAE difference, model minus mean predictor: {paired['difference']:+.3f} g/dL, 95 % CI {paired['ci'][0]:+.3f} to {paired['ci'][1]:+.3f} "
            f"(paired bootstrap, hospitals resampled).", "",
            f"Anaemia at each child's WHO cut-off ({', '.join(f'{c:g}' for c in who['cutoffs_used'])} g/dL; prevalence {who['prevalence']:.0%}): "
            f"AUC {who['model']['roc_auc']:.2f}, sensitivity {who['model']['sensitivity']:.2f}, specificity {who['model']['specificity']:.2f}; "
            f"majority class ({who['majority']['predicts']}): sensitivity {who['majority']['sensitivity']:.2f}, specificity {who['majority']['specificity']:.2f}, AUC 0.50.", "",
            f"Conformal {uncertainty['coverage']:.0%} interval ±{uncertainty['half_width']:.2f} g/dL (lower bound clipped at 0); "
            f"empirical coverage {uncertainty['empirical_coverage_lopo']:.1%}. {uncertainty['note']}",
            "", "| candidate | nested inner MAE | times chosen |", "|---|---|---|",
            *[f"| {c['candidate']} | {c['nested_inner_mae']:.3f} | {c['times_chosen']} |" for c in validation["candidates"]],
        ]),
        ("Bias, risks and limitations", [
            "- Ghanaian children aged 6-60 months from 10 hospitals; other ages, populations, phones and segmentations are unseen.",
            "- The photo must be segmented (tissue on a plain background); an unsegmented photo is refused.",
            "- Estimates regress towards the mean: low Hb, the cases that matter, is over-estimated.",
        ]),
        ("How to run it", ["```bash", f"vitalens predict --task {manifest['task']} --data <segmented conjunctiva PNGs> --out predictions.csv", "```"]),
    ]  # fmt: skip
    return render_card(front, f"vitalens {manifest['task']} — {manifest['model']['features']} colour features, ridge", manifest["disclaimer"], sections)
