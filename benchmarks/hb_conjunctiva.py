"""hb-conjunctiva on CP-AnemiC: nested leave-one-hospital-out candidate table and headline, then the shipped
bundle's refusal rates on the *test* half of every body site's photos (the site check was tuned on the other
half) and on synthetic images.

    python benchmarks/hb_conjunctiva.py [--per-site 100] [--out experiments/hb-conjunctiva-benchmark]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vitalens.data.shared import find_shared_dataset, missing_dataset_message
from vitalens.evaluation.sites import SITES, site_photos, synthetic_images
from vitalens.imaging import ImageDecodeError, decode_image
from vitalens.runs import Job, write_config
from vitalens.runtime import load_predictor, predict_one
from vitalens.tasks import get_task

TASK = "hb-conjunctiva"


def nested_tables(report: dict) -> None:
    data, paired, who = report["data"], report["paired_mae_difference"], report["anaemia_who_age"]
    print(f"{report['validation']}; {data['duplicates_dropped']} duplicate photos dropped before any split, {data['skipped']} skipped in all\n")
    print("| candidate | nested inner MAE (mean over outer folds) | times chosen (of 10) |\n|---|---|---|")
    for row in report["candidates"]:
        print(f"| {row['candidate']} | {row['nested_inner_mae']:.3f} | {row['times_chosen']} |")
    print("\n| metric (outer folds) | model | baseline |\n|---|---|---|")
    for row in report["headline"]:
        print(f"| {row['metric']} | {row['model']:.3f} | {row['baseline']:.3f} ({row['baseline_name']}) |")
    print(f"\nMAE difference model - mean predictor: {paired['difference']:+.3f} g/dL, 95 % CI {paired['ci'][0]:+.3f} to {paired['ci'][1]:+.3f} "
          f"(paired bootstrap, {paired['clusters']}s resampled); excludes 0: {paired['excludes_zero']}")  # fmt: skip
    print(f"Anaemia at the WHO cut-off for age ({who['cutoffs_used']} g/dL): n {who['n']}, prevalence {who['prevalence']:.1%}")
    conformal = report["conformal"]
    print(f"Conformal {conformal['target_coverage']:.0%} interval: coverage {conformal['empirical_coverage']:.1%}, mean width {conformal['mean_width']:.2f} g/dL")


def refusal_rates(per_site: int) -> None:
    predictor = load_predictor(task=TASK)
    print("\n| photos (test half) | n | refused |\n|---|---|---|")
    for site in SITES:
        results = []
        for path in site_photos(site, "test", per_site):
            try:
                results.append(predict_one(predictor, decode_image(path).rgb, path.name).ok)
            except ImageDecodeError:
                continue
        own = " (own site, held out)" if site == get_task(TASK).body_site else ""
        print(f"| {site}{own} | {len(results)} | {1 - sum(results) / len(results):.1%} |" if results else f"| {site} | 0 | – |")
    synthetic = [predict_one(predictor, rgb, name).ok for name, rgb in synthetic_images().items()]
    print(f"| synthetic | {len(synthetic)} | {1 - sum(synthetic) / len(synthetic):.1%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-site", type=int, default=100)
    parser.add_argument("--out", type=Path, default=Path("experiments/hb-conjunctiva-benchmark"))
    args = parser.parse_args()
    data = find_shared_dataset("cp-anemic")
    if data is None:
        raise SystemExit(missing_dataset_message("cp-anemic"))
    task = get_task(TASK)
    job = Job(TASK, "evaluate", data, args.out, task.parse_options("evaluate", {}))
    write_config(job)
    nested_tables(task.verb("evaluate")(job))
    refusal_rates(args.per_site)


if __name__ == "__main__":
    main()
