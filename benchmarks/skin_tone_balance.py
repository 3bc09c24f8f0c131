"""Probe: does weighting training photos by (diagnosis x Fitzpatrick group), up-weighting the worst-served
group (I-II), Shades-of-Gray colour constancy before the trunks, or training on skin-tone-shifted copies
(so tone stops being a cue for the diagnosis), narrow the gap between skin-type groups
for the depth probe (Lite0 + Lite2, the shipped depth rule, four views)? The held-out split stays
unspent: scores are on the validation split, or with --cv K out-of-fold over K grouped folds of train +
validation (near-duplicate groups never straddle a fold), which sees ~6x as many V-VI photos as the
validation split alone. Uses the feature cache of skin_feature_probe.py.

    python benchmarks/skin_tone_balance.py [--data DIR] [--c 0.03] [--cv 5] [--rows class i-ii-x2 ...]

Research software, not a medical device.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from skin_feature_probe import CACHE, DEPTHS, SHIPPED, block_features, cached_features, evaluation_folds, fit_probabilities
from vitalens import DISCLAIMER
from vitalens.data.shared import find_shared_dataset, missing_dataset_message
from vitalens.evaluation.fairness import case_mix_decomposition, hit_rate_gap
from vitalens.tasks.skin_condition.metrics import class_metrics
from vitalens.backbones import build_backbone
from vitalens.tasks.skin_condition.split import prepare_split
from vitalens.tasks.skin_condition.fitting import unit_batch

SHADES_OF_GRAY_POWER = 6.0
WORST_GROUP = "I-II"
# row name: (weighting scheme, Shades-of-Gray power or None, multiplier on the worst-served group's weights,
# skin-tone-shifted training copies or not)
ROWS = {
    "class": ("class", None, 1.0, False),
    "class-x-group": ("class x group", None, 1.0, False),
    "shades-of-gray": ("class", SHADES_OF_GRAY_POWER, 1.0, False),
    "i-ii-x1.5": ("class", None, 1.5, False),
    "i-ii-x2": ("class", None, 2.0, False),
    "i-ii-x3": ("class", None, 3.0, False),
    "tone-shift": ("class", None, 1.0, True),
}
# Relative optical density of melanin in R, G, B (it absorbs blue most, red least): scaling each channel by
# exp(-amount * density) darkens (amount > 0) or lightens (< 0) the skin in a photo as more or less melanin would.
MELANIN_DENSITY = torch.tensor([0.35, 0.6, 1.0]).view(1, 3, 1, 1)
# Two training copies per photo, each with its own seeded amount: one darker, one lighter.
TONE_SHIFTS = ((1, 0.3, 1.5), (2, -0.5, 0.0))


def tone_shifted_features(name: str, size: int, pixels: np.ndarray, seed: int, low: float, high: float, batch: int = 64) -> np.ndarray:
    """[N, D] pooled block features (identity view) of every photo after a melanin shift drawn from U(low, high); cached."""
    path = CACHE / f"{name}-{size}-tone{seed}-{low:g}-{high:g}.npy"
    if not path.is_file():
        trunk = build_backbone(name, image_size=size).trunk.eval()
        amounts = torch.from_numpy(np.random.default_rng(seed).uniform(low, high, len(pixels))).float()
        shifted = lambda i: (unit_batch(pixels[i : i + batch]) * torch.exp(-amounts[i : i + batch].view(-1, 1, 1, 1) * MELANIN_DENSITY)).clamp(0, 1)  # noqa: E731
        np.save(path, np.concatenate([block_features(trunk, shifted(i)) for i in range(0, len(pixels), batch)]).astype(np.float32))
    return np.load(path)


def sample_weights(labels: np.ndarray, groups: np.ndarray, scheme: str, cap: float = 5.0) -> np.ndarray:
    """"class": balanced over diagnoses (the shipped scheme); "class x group": balanced over (diagnosis,
    Fitzpatrick group) cells, each cell's weight capped at `cap` times the median weight."""
    keys = labels.astype(str) if scheme == "class" else np.char.add(labels.astype(str), "|" + groups.astype(str))
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    weights = len(keys) / (len(counts) * counts[inverse])
    return np.minimum(weights, cap * np.median(weights)) if scheme != "class" else weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=find_shared_dataset("fitzpatrick17k-ajl"), help="the fitzpatrick17k-ajl folder")
    parser.add_argument("--c", type=float, default=SHIPPED.probe_c)
    parser.add_argument("--size", type=int, default=SHIPPED.probe_size, help="input size")
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--cv", type=int, default=None, help="score out-of-fold over this many grouped folds of train + validation")
    args = parser.parse_args()
    if args.data is None:
        parser.error(missing_dataset_message("fitzpatrick17k-ajl"))
    frame, pixels, _, _ = prepare_split(args.data, args.size)
    labels = frame["label"].to_numpy()
    y = frame["label"].astype("category").cat.codes.to_numpy()
    groups = frame["fitzpatrick_group"].fillna("unknown").to_numpy()
    def probe_features(colour_constancy, tone_shift):
        """Per trunk: ([views, N, D] features at the shipped depths, tuple of [N, D] tone-shifted training copies)."""
        chosen = []
        for name in SHIPPED.probe_backbones:
            features, slices = cached_features(name, args.size, pixels, colour_constancy=colour_constancy)
            columns = np.concatenate([np.arange(slices[i].start, slices[i].stop) for i in DEPTHS[SHIPPED.probe_depth_rule](len(slices))])
            shifted = tuple(tone_shifted_features(name, args.size, pixels, *shift)[:, columns] for shift in TONE_SHIFTS) if tone_shift else ()
            chosen.append((features[..., columns], shifted))
        return chosen

    folds = evaluation_folds(frame, args.cv)
    scored = np.any([held for _, held in folds], axis=0)
    names = sorted(set(groups[scored]))
    where = "validation" if not args.cv else f"out-of-fold ({args.cv} grouped folds of train + validation)"
    print(f"\n{args.size} px inputs, scored {where}")
    print(f"\n| weights | top-1 | top-3 | macro-F1 | " + " | ".join(f"{g} (n={int((groups[scored] == g).sum())})" for g in names) + " | gap (known groups, 95 % CI) | gap per fold |")
    print("|---" * (6 + len(names)) + "|")
    case_mix, row_hits = {}, {}
    for row_name in args.rows:
        scheme, colour_constancy, boost, tone_shift = ROWS[row_name]
        features = probe_features(colour_constancy, tone_shift)
        probabilities, fold_gaps = np.zeros((len(frame), len(np.unique(y)))), []
        for train, held in folds:
            weights = sample_weights(y[train], groups[train], scheme) * np.where(groups[train] == WORST_GROUP, boost, 1.0)
            probabilities[held] = np.mean([fit_probabilities(f, y, train, held, len(f), args.c, weights, shifted)[0] for f, shifted in features], axis=0)
            fold_gaps.append(hit_rate_gap(probabilities[held].argmax(1) == y[held], groups[held], n_boot=0)["gap"])
        metrics = class_metrics(y[scored], probabilities[scored])
        hit = probabilities[scored].argmax(1) == y[scored]
        hits, gap = pd.Series(hit).groupby(groups[scored]).mean(), hit_rate_gap(hit, groups[scored])
        case_mix[row_name] = case_mix_decomposition(hit, groups[scored], y[scored])
        row_hits[row_name] = hit
        label = (scheme + ("" if boost == 1.0 else f", {WORST_GROUP} weights x{boost:g}") + ("" if colour_constancy is None else f", Shades-of-Gray colour constancy (p = {colour_constancy:g})")
                 + (", plus a darker and a lighter melanin-shifted training copy of each photo" if tone_shift else ""))
        print(f"| {label} | " + " | ".join(f"{metrics[m] * 100:.1f}" for m in ("top1", "top3", "macro_f1")) + " | "
              + " | ".join(f"{hits[g] * 100:.1f}" for g in names) + f" | {gap['gap'] * 100:.1f} ({gap['ci'][0] * 100:.1f}–{gap['ci'][1] * 100:.1f}) | "
              + " / ".join(f"{g * 100:.0f}" for g in fold_gaps) + " |", flush=True)  # fmt: skip
    print("\nCase mix or service? expected: top-1 if every photo scored at its diagnosis's pooled top-1 (differs only by which diagnoses"
          " a group has); standardised: the group's own per-diagnosis top-1 weighted by the pooled diagnosis mix (differs only by service).")
    print("\n| weights | group | n | top-1 | expected from case mix | standardised (diagnoses covered) |\n|---|---|---|---|---|---|")
    for row_name, table in case_mix.items():
        for group, r in table.iterrows():
            print(f"| {row_name} | {group} | {r['n']:.0f} | {r['observed'] * 100:.1f} | {r['expected_from_case_mix'] * 100:.1f} | {r['standardised'] * 100:.1f} ({r['coverage'] * 100:.0f} %) |")
    known = [g for g in names if g != "unknown"]
    recall_by_group = pd.crosstab(labels[scored], groups[scored], values=row_hits[args.rows[0]], aggfunc="mean")
    counts = pd.crosstab(labels[scored], groups[scored])
    print(f"\nRecall per diagnosis by Fitzpatrick group ({args.rows[0]}), sorted by the I-II minus III-IV difference:\n")
    print("| diagnosis | " + " | ".join(f"{g} recall (n)" for g in known) + " |\n" + "|---" * (1 + len(known)) + "|")
    for diagnosis in (recall_by_group["I-II"] - recall_by_group["III-IV"]).sort_values().index:
        print(f"| {diagnosis} | " + " | ".join(f"{recall_by_group.loc[diagnosis, g] * 100:.0f} ({counts.loc[diagnosis, g]})" for g in known) + " |")
    print(f"\n{DISCLAIMER}")


if __name__ == "__main__":
    main()
