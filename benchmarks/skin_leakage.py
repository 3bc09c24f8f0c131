"""Near-copies across the skin split, and what they do to the held-out scores: an audit of the grouping.

Recropped, rescaled or watermark-trimmed copies of one atlas photo, and other photos of one patient's
lesion, escape a perceptual hash; Fitzpatrick17k has no patient IDs, so no grouping can be exact. The
first split grouped by the hash alone and leaked such pairs; the split now also links photos by feature
similarity (`vitalens.tasks.skin_condition.duplicates`). This benchmark finds, for each held-out photo, its most similar
training photo (cosine of the standardised, view-averaged depth-probe features: frozen ImageNet trunks, no
trained head) and scores every model of the run on the held-out photos whose nearest training photo is
below a similarity limit. At 0.9 and above the pairs are copies of one photo; lower down they mix photos
of one lesion with different people with one condition, so strict limits also drop honest easy cases and
read as a pessimistic bound.

    python benchmarks/skin_leakage.py [--run experiments/skin-main] [--limits 0.9 0.8 0.7]

Research software, not a medical device.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from vitalens import DISCLAIMER
from vitalens.evaluation.fairness import hit_rate_gap
from vitalens.evaluation.metrics import paired_difference
from vitalens.tasks.skin_condition.metrics import candidate_suffix, prediction_scores

REPO = Path(__file__).resolve().parents[1]
MODELS = {"shipped": "predictions_test.csv", "frozen Lite0 + logistic": "predictions_test_frozen_logistic.csv"}


def nearest_training_similarity(features: np.ndarray, train: np.ndarray, held_out: np.ndarray) -> np.ndarray:
    """[V, N, D] pooled features → each held-out photo's largest cosine similarity to a training photo."""
    pooled = features.mean(axis=0)
    standard = (pooled - pooled[train].mean(0)) / (pooled[train].std(0) + 1e-6)
    unit = standard / np.linalg.norm(standard, axis=1, keepdims=True)
    return (unit[held_out] @ unit[train].T).max(axis=1)


def hits(run: Path, file: str, image_ids: np.ndarray, classes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Top-1 hit per photo, in `image_ids` order, and each photo's Fitzpatrick group."""
    predictions = pd.read_csv(run / file).set_index("image_id").loc[image_ids]
    predicted = np.array(classes)[prediction_scores(predictions, classes).argmax(1)]
    return predicted == predictions["label"].to_numpy(), predictions["fitzpatrick_group"].to_numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=REPO / "experiments" / "skin-main")
    parser.add_argument("--limits", type=float, nargs="+", default=[0.9, 0.8, 0.7])
    args = parser.parse_args()
    info = json.loads((args.run / "training.json").read_text())
    trunks, size = info["config"]["probe_backbones"], info["config"].get("probe_size", 192)
    cache = args.run / "cache" / f"probe_features_{'_'.join(trunks)}_{size}.npy"
    if not cache.is_file():
        parser.error(f"{cache}: no depth-probe feature cache; run `python benchmarks/skin.py --run {args.run} --train` first")
    split = pd.read_csv(args.run / "split.csv")
    train, held_out = (split["split"] == "train").to_numpy(), (split["split"] == "test").to_numpy()
    features = np.load(cache)
    nearest = nearest_training_similarity(features, train, held_out)
    validation = nearest_training_similarity(features, train, (split["split"] == "validation").to_numpy())
    print(f"Validation photos: {len(validation)}; nearest training photo at >= 0.9: {int((validation >= 0.9).sum())}, at >= 0.8: {int((validation >= 0.8).sum())}")
    image_ids = split["image_id"].to_numpy()[held_out]
    models = dict(MODELS) | {f"candidate: {n}": f"predictions_test{candidate_suffix(n)}.csv" for n in info["candidates"] if n != info["shipped"]}
    scored = {name: hits(args.run, file, image_ids, info["classes"]) for name, file in models.items()}

    print(f"Held-out photos: {len(nearest)}; nearest training photo at >= 0.9: {int((nearest >= 0.9).sum())}, at >= 0.8: {int((nearest >= 0.8).sum())}; "
          "cosine percentiles 50 / 90 / 99: " + " / ".join(f"{q:.2f}" for q in np.percentile(nearest, [50, 90, 99])))  # fmt: skip
    print("\n| held-out photos | n | " + " | ".join(f"top-1 {name}" for name in scored) + " | shipped minus frozen | shipped: I–II / III–IV / V–VI | Fitzpatrick gap |")
    print("|---" * (5 + len(scored)) + "|")
    for limit in [np.inf, *args.limits]:
        keep = nearest < limit
        hit, groups = scored["shipped"][0][keep], scored["shipped"][1][keep]
        by_group = pd.Series(hit).groupby(pd.Series(groups).fillna("unknown").to_numpy()).mean()
        gap = hit_rate_gap(hit, groups, n_boot=0)["gap"]
        label = "all" if limit == np.inf else f"nearest training photo < {limit:g}"
        print(f"| {label} | {keep.sum()} | " + " | ".join(f"{h[keep].mean() * 100:.1f}" for h, _ in scored.values())
              + f" | {(scored['shipped'][0][keep].mean() - scored['frozen Lite0 + logistic'][0][keep].mean()) * 100:+.1f} | "
              + " / ".join(f"{by_group.get(g, np.nan) * 100:.1f}" for g in ("I-II", "III-IV", "V-VI")) + f" | {gap * 100:.1f} |")  # fmt: skip
    margin = paired_difference(scored["shipped"][0], scored["frozen Lite0 + logistic"][0])
    print(f"\nShipped minus frozen on all held-out photos: {margin['difference'] * 100:+.1f} points, paired bootstrap 95 % CI "
          + " to ".join(f"{q * 100:+.1f}" for q in margin["ci"]))  # fmt: skip
    print(f"\n{DISCLAIMER}")


if __name__ == "__main__":
    main()
