"""Fit every task's site check on the tuning half of the body-site photos and print the selection log;
with --write, store each one in the task's shipped bundle.json and its model card (no .onnx file changes);
by default only the tasks whose shipped bundle already has a site check;
with --cards, only rewrite the cards' section from the checks already stored.

    python benchmarks/site_checks.py [--write] [--task TASK]
"""

from __future__ import annotations

import argparse
import json

from vitalens.bundle import BUNDLE_FILE, CARD_FILE, shipped_bundle_path
from vitalens.bundle.writer import update_bundle
from vitalens.evaluation.site_check_fit import fit_site_check
from vitalens.model_card import with_site_check
from vitalens.tasks import all_tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--task", action="append")
    parser.add_argument("--cards", action="store_true")
    args = parser.parse_args()
    if args.cards:
        for name in all_tasks():
            manifest = json.loads((shipped_bundle_path(name) / BUNDLE_FILE).read_text())
            if "site_check" in manifest:
                card = shipped_bundle_path(name) / CARD_FILE
                card.write_text(with_site_check(card.read_text(), manifest["site_check"]))
                print(f"card section written to {card}")
        return
    for name, task in all_tasks().items():
        shipped = shipped_bundle_path(name) / BUNDLE_FILE
        has_check = shipped.is_file() and "site_check" in json.loads(shipped.read_text())
        # by default only the checks already shipped are refitted: a bundle with a gate of its own (hb-lips'
        # mouth check) or none shipped yet gets one only when named with --task
        if (args.task and name not in args.task) or (not args.task and not has_check):
            continue
        check = fit_site_check(task.body_site, task.photo_tip)
        print(f"\n{name} ({task.body_site}): chosen C {check['chosen']['C']}, threshold {check['threshold']:.3f}")
        print("| C | own pass (CV) | others pass (CV) | by site |\n|---|---|---|---|")
        for row in check["candidates"]:
            by_site = ", ".join(f"{s} {r:.1%}" for s, r in row["others_pass_by_site"].items())
            print(f"| {row['C']} | {row['own_pass_rate']:.1%} | {row['others_pass_rate']:.1%} | {by_site} |")
        if args.write:
            update_bundle(shipped_bundle_path(name), {}, {"site_check": check}, lambda card, _, check=check: with_site_check(card, check))
            print(f"written to {shipped_bundle_path(name)}")


if __name__ == "__main__":
    main()
