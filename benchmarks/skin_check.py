"""Fit the skin model's skin check (vitalens.tasks.skin_condition.skin_check_fit) on the tuning half of every
body site's photos and print the selection log; --write folds it into the shipped graph as the `site_logit`
output, stores its threshold and how it was chosen in bundle.json (outputs.site_logit), re-chosen typicality
threshold beside it, and the card; the spine's hand-made site check it supersedes is taken out of the bundle
(on the tuning half it let 22 % of other photos through at 97 % own; the skin check lets through under 1 %).

    python benchmarks/skin_check.py [--write]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from vitalens.bundle import BUNDLE_FILE, shipped_bundle_path
from vitalens.bundle.writer import update_bundle
from vitalens.model_card import SITE_CHECK_HEADING, without_section
from vitalens.runtime import load_predictor
from vitalens.tasks import get_task
from vitalens.tasks.skin_condition.card import with_skin_check
from vitalens.tasks.skin_condition.skin_check_fit import OUTPUT, append_site_logit, fit_skin_check

TASK = "skin-condition"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    bundle = shipped_bundle_path(TASK)
    weights, entry, typicality = fit_skin_check(load_predictor(task=TASK), get_task(TASK).photo_tip)
    print(f"chosen C {entry['chosen']['C']}, threshold {entry['threshold']:.3f}, typicality threshold {typicality['threshold']} ({entry['threshold_chosen']})")
    for row in entry["thresholds_tried"]:
        print(row)
    print("| C | own pass (CV, 97 %) | others pass (CV) | by site |\n|---|---|---|---|")
    for row in entry["candidates"]:
        print(f"| {row['C']} | {row['own_pass_rate']:.1%} | {row['others_pass_rate']:.1%} | " + ", ".join(f"{s} {r:.1%}" for s, r in row["others_pass_by_site"].items()) + " |")
    print("\n| tuning photos | n | pass the skin check (OOF) | with the face gate and typicality |\n|---|---|---|---|")
    for site, rates in entry["pass_rate_out_of_fold_by_site"].items():
        print(f"| {site} | {rates['n']} | {rates['skin_check']:.1%} | {rates['with_face_gate_and_typicality']:.1%} |")
    if args.write:
        with tempfile.TemporaryDirectory() as scratch:
            graph = Path(scratch) / "model.onnx"
            shutil.copyfile(bundle / "model.onnx", graph)
            append_site_logit(graph, weights)
            shutil.copyfile(graph, bundle / "model.onnx")
        manifest = json.loads((bundle / BUNDLE_FILE).read_text())
        entry["replaces"] = "the spine's hand-made site check (vitalens.site_check), taken out of this bundle: " + json.dumps(manifest.pop("site_check", {}).get("chosen", {}))
        (bundle / BUNDLE_FILE).write_text(json.dumps(manifest, indent=2, allow_nan=False) + "\n")
        model_fields = {k: v for k, v in manifest["model"].items() if k not in ("file", "sha256")}
        update_bundle(bundle, {"model": (bundle / "model.onnx", model_fields)}, {"outputs": {**manifest["outputs"], "typicality": typicality, OUTPUT: entry}},
                      lambda card, manifest: with_skin_check(without_section(card, SITE_CHECK_HEADING), manifest))  # fmt: skip
        print(f"written to {bundle}")


if __name__ == "__main__":
    main()
