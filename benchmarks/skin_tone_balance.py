"""Probe: does weighting training photos by (diagnosis x Fitzpatrick group), or Shades-of-Gray colour
constancy before the trunks, narrow the gap between skin-type groups for the depth probe (Lite0 + Lite2, every third block from the middle, four views)? Validation split
only: the held-out split stays unspent. Uses the feature cache of skin_feature_probe.py.

    python benchmarks/skin_tone_balance.py [--data DIR] [--c 0.03]

Research software, not a medical device.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from skin_feature_probe import DEPTHS, cached_features, fit_probabilities
from vitalens import DISCLAIMER
from vitalens.data.shared import find_shared_dataset, missing_dataset_message
from vitalens.evaluation_skin import class_metrics
from vitalens.models.skin_run import prepare_split

TRUNKS = ("efficientnet_lite0", "efficientnet_lite2")
DEPTH = "last + every 3rd block from the middle"
SHADES_OF_GRAY_POWER = 6.0
ROWS = {"class": ("class", None), "class-x-group": ("class x group", None), "shades-of-gray": ("class", SHADES_OF_GRAY_POWER)}


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
    parser.add_argument("--c", type=float, default=0.03)
    parser.add_argument("--size", type=int, default=192, help="input size (the shipped probe uses 192)")
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    args = parser.parse_args()
    if args.data is None:
        parser.error(missing_dataset_message("fitzpatrick17k-ajl"))
    frame, pixels, _, _ = prepare_split(args.data, args.size)
    y = frame["label"].astype("category").cat.codes.to_numpy()
    train, validation = (frame["split"] == "train").to_numpy(), (frame["split"] == "validation").to_numpy()
    groups = frame["fitzpatrick_group"].fillna("unknown").to_numpy()
    def probe_features(colour_constancy):
        chosen = []
        for name in TRUNKS:
            features, slices = cached_features(name, args.size, pixels, colour_constancy=colour_constancy)
            columns = np.concatenate([np.arange(slices[i].start, slices[i].stop) for i in DEPTHS[DEPTH](len(slices))])
            chosen.append(features[..., columns])
        return chosen

    names = sorted(set(groups[validation]))
    print("\n| weights | validation top-1 | top-3 | macro-F1 | " + " | ".join(f"{g} (n={int((groups[validation] == g).sum())})" for g in names) + " | gap (known groups) |")
    print("|---" * (5 + len(names)) + "|")
    print(f"\n{args.size} px inputs")
    for scheme, colour_constancy in (ROWS[row] for row in args.rows):
        weights = sample_weights(y[train], groups[train], scheme)
        mean = np.mean([fit_probabilities(f, y, train, validation, len(f), args.c, weights)[0] for f in probe_features(colour_constancy)], axis=0)
        metrics = class_metrics(y[validation], mean)
        hits = pd.Series(mean.argmax(1) == y[validation]).groupby(groups[validation]).mean()
        known = hits.drop("unknown", errors="ignore")
        label = scheme + ("" if colour_constancy is None else f", Shades-of-Gray colour constancy (p = {colour_constancy:g})")
        print(f"| {label} | " + " | ".join(f"{metrics[m] * 100:.1f}" for m in ("top1", "top3", "macro_f1")) + " | "
              + " | ".join(f"{hits[g] * 100:.1f}" for g in names) + f" | {(known.max() - known.min()) * 100:.1f} |", flush=True)  # fmt: skip
    print(f"\n{DISCLAIMER}")


if __name__ == "__main__":
    main()
