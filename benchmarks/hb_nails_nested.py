"""Fingernail Hb under nested, session-grouped selection: every candidate tried, the intervals, severe anaemia,
and a learning curve. Prints numbers; `--write` also saves them to benchmarks/results/hb_nails_nested.{json,md}.

Outer loop: leave one session out (the reported figure). Inside each outer training fold an inner grouped
4-fold by session chooses among a pool of candidates (features + head); the winner is refitted on the outer
training fold. Pools grow from the four shipped before (P0) to colour physics (P1) and the CNN blend (P2),
so the cost of a bigger search shows up as what it is. A candidate's own outer MAE is printed too, labelled:
the best of those is what a single-protocol search would have published (optimistic).

    python benchmarks/hb_nails_nested.py [--data ../shared/data/yakimov2024] [--write]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from vitalens.data import load_dataset
from vitalens.data.shared import find_shared_dataset
from vitalens.evaluation.metrics import mae_by_severity_with_ci, regression_metrics, screening_with_ci
from vitalens.evaluation.splits import grouped_splits
from vitalens.imaging import decode_image
from vitalens.interpretation import who_severity
from vitalens.interval_rules import rule_check
from vitalens.tasks import get_task
from vitalens.tasks._haemoglobin.config import RunConfig
from vitalens.tasks.hb_nails.features import ColourFeatures, _white_balanced
from vitalens.tasks.hb_nails.card import learning_curve_markdown
from vitalens.tasks.hb_nails.learning_curve import learning_curve
from vitalens.tasks.hb_nails.nested import FeatureCache, fixed_candidate_predictions, nested_cross_validate
from vitalens.tasks.hb_nails.regions import RED_MARK_RELATIVE
from vitalens.tasks.hb_nails.training import INTERVAL_RULES, interval_check, prepare_nail_data

TASK = get_task("hb-nails")
COVERAGE = 0.9
HEADS = ("ridge", "median", "ridge_balanced")
POOLS = {
    "P0 shipped four": ("colour+ridge", "colour+median", "colour_red+ridge", "colour_red+median"),
    "P1 + colour physics, balanced head": tuple(f"{f}+{h}" for f in ("colour", "colour_red", "colour_bed", "colour_ccm") for h in HEADS),
}
POOLS["P2 + CNN blend, CatBoost"] = POOLS["P1 + colour physics, balanced head"] + ("hybrid+ridge", "colour_red+catboost")


def reference_green(rgb: np.ndarray) -> np.ndarray | None:
    """The card's green mark (largest strongly green blob), in [0, 1]; None when absent. Probe only."""
    pixels = rgb.astype(np.float32) / 255.0
    mask = ((pixels[..., 1] - pixels[..., 0]) > 0.25) & ((pixels[..., 1] - pixels[..., 2]) > 0.05)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count < 2 or stats[1:, cv2.CC_STAT_AREA].max() < 1e-4 * mask.size:
        return None
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return np.median(pixels[labels == largest], axis=0)


def colour_ccm_table(data, greens: list[np.ndarray | None]) -> tuple[np.ndarray, np.ndarray]:
    """ColourFeatures after a 3x3 colour-correction matrix fitted exactly through the card's three references
    (white, red mark, green mark, white-normalised) onto their dataset medians (label-free targets). A photo
    without a green mark keeps plain white balance."""
    found = [g / r.white for g, r in zip(greens, data.regions) if g is not None]
    green_target = np.median(found, axis=0)
    target = np.stack([np.ones(3), np.asarray(RED_MARK_RELATIVE), green_target], axis=1)
    rows, photo_index = [], []
    for index, (region, green) in enumerate(zip(data.regions, greens)):
        white = torch.from_numpy(np.repeat(region.white[None], len(region), axis=0))
        nail, skin = _white_balanced(torch.from_numpy(region.nails), white), _white_balanced(torch.from_numpy(region.skins), white)
        if green is not None and region.red_found:
            observed = np.stack([np.ones(3), region.red / region.white, green / region.white], axis=1)
            matrix = torch.from_numpy((target @ np.linalg.inv(observed)).astype(np.float32))
            nail, skin = (nail @ matrix.T).clamp(1e-4, 1.5), (skin @ matrix.T).clamp(1e-4, 1.5)
        rows.append(ColourFeatures.describe(nail, skin, white).numpy())
        photo_index += [index] * len(region)
    return np.concatenate(rows).astype(np.float64), np.asarray(photo_index)


def interval_study(y, predicted, outer, groups) -> dict:
    """Every candidate interval rule fixed, each outer fold calibrated on the other folds' nested residuals
    (the best of these is optimistic: chosen on the same folds), then the shipped protocol: the rule chosen
    inside each outer fold by leave-one-session-out on the other folds (vitalens.interval_rules)."""
    bands = who_severity(y)
    study = {rule.name: rule_check(rule, y, predicted, outer, bands, COVERAGE) for rule in INTERVAL_RULES}
    return {**study, "nested choice (shipped)": interval_check(y, predicted, outer, groups, COVERAGE)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--no-learning-curve", action="store_true")
    args = parser.parse_args()
    root = args.data or find_shared_dataset("yakimov2024")
    if root is None or not Path(root).exists():
        sys.exit("no Yakimov data: pass --data or put ../shared/data/yakimov2024 beside the checkout")
    started = time.perf_counter()
    config = RunConfig(task=TASK.name, data=str(root))
    data = prepare_nail_data(load_dataset(root, TASK), config.crop_size, show_progress=False)
    greens = [reference_green(decode_image(s.image_path).rgb) for s in data.samples]
    cache = FeatureCache(data, config)
    cache.add_table("colour_ccm", *colour_ccm_table(data, greens))
    y, groups = data.y, data.groups
    outer = list(grouped_splits(groups, config.scheme, config.n_splits, config.seed))
    print(f"{len(y)} photos, {len(set(groups))} sessions; green mark found on {sum(g is not None for g in greens)}")
    result = {"photos": len(y), "sessions": int(len(set(groups))), "pools": {}}
    for pool_name, pool in POOLS.items():
        nested = nested_cross_validate(data, config, show_progress=False, candidates=pool, cache=cache)
        frame = nested.predictions
        chosen = frame.groupby("fold")["chosen"].first().value_counts().to_dict()
        metrics = regression_metrics(frame.hb_true, frame.hb_pred)
        baseline = regression_metrics(frame.hb_true, frame.hb_mean_predictor)
        result["pools"][pool_name] = {"nested": metrics, "mean_predictor": baseline, "chosen_in_outer_folds": chosen,
                                      "fixed_candidate_loso_mae": nested.optimistic["mae_by_candidate"], "predictions": frame.hb_pred.tolist()}  # fmt: skip
        print(f"\n{pool_name}: nested MAE {metrics['mae']:.3f}  R2 {metrics['r2']:.3f}  |  mean predictor {baseline['mae']:.3f}  R2 {baseline['r2']:.3f}")
        print(f"  chosen in outer folds: {chosen}")
        for name, mae in sorted(nested.optimistic["mae_by_candidate"].items(), key=lambda kv: kv[1]):
            print(f"    {name:24s} fixed-candidate LOSO MAE {mae:.3f}  (best of these = optimistic, selected on the same folds)")
    best_pool = min(result["pools"], key=lambda p: result["pools"][p]["nested"]["mae"])
    predicted = np.asarray(result["pools"][best_pool]["predictions"])
    result["best_pool_by_nested_mae"] = best_pool
    result["intervals"] = {pool: interval_study(y, np.asarray(r["predictions"]), outer, groups) for pool, r in result["pools"].items()}
    result["severity"] = {"mae_by_band": mae_by_severity_with_ci(y, predicted, groups), "screening": screening_with_ci(y, predicted, clusters=groups)}
    for pool, study in result["intervals"].items():
        for method, row in study.items():
            bands = ", ".join(f"{b} {v['coverage']:.2f} (n={v['n']})" for b, v in row["by_stratum"].items())
            worst = min(f["coverage"] for f in row["by_fold"])
            print(f"{pool[:2]} {method:34s} 90% interval: coverage {row['empirical_coverage']:.3f}, width {row['mean_width']:.2f}, worst fold {worst:.2f}; {bands}")
    for row in result["severity"]["screening"]:
        print(f"below {row['threshold']:g} g/dL (n={row['n_below']}): sensitivity {row['sensitivity']:.2f} {row['sensitivity_ci']}, specificity {row['specificity']:.2f} {row['specificity_ci']}")
    for band, row in result["severity"]["mae_by_band"].items():
        print(f"MAE {band:9s} n={row['n']:3d}  {row['mae']:.2f}  CI {row['ci']}")
    print("\nSevere anaemia, fixed candidates (LOSO, no selection): does a head that does not pull low values to the mean help?")
    result["severity_by_candidate"] = {}
    for name in ("colour_red+median", "colour_red+ridge", "colour_red+ridge_balanced", "colour_bed+ridge_balanced", "colour_red+catboost"):
        fixed = fixed_candidate_predictions(cache, outer, name)
        bands, screen = mae_by_severity_with_ci(y, fixed, groups, n_boot=200), screening_with_ci(y, fixed, clusters=groups, n_boot=200)
        result["severity_by_candidate"][name] = {"mae": float(np.mean(np.abs(fixed - y))), "mae_by_band": bands, "screening": screen}
        print(f"  {name:26s} MAE {np.mean(np.abs(fixed - y)):.3f}  severe MAE {bands['severe']['mae']:.2f}  moderate {bands['moderate']['mae']:.2f}  "
              f"none {bands['none']['mae']:.2f}  sens<8 {screen[0]['sensitivity']:.2f}  sens<11 {screen[1]['sensitivity']:.2f}  spec<11 {screen[1]['specificity']:.2f}")  # fmt: skip
    if not args.no_learning_curve:
        result["learning_curve"] = learning_curve(cache, config.seed, POOLS["P0 shipped four"])
        print(learning_curve_markdown(result["learning_curve"]))
    result["seconds"] = time.perf_counter() - started
    if args.write:
        out = Path(__file__).parent / "results" / "hb_nails_nested.json"
        for pool in result["pools"].values():
            pool.pop("predictions")
        out.write_text(json.dumps(result, indent=1, default=float))
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
