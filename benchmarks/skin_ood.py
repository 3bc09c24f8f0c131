"""The skin bundle's photo check: how often it refuses real clinical photos, and how often photos that are
not clinical skin close-ups (faces, fingernails, conjunctivae, lips), beside the usual baseline of refusing
by the top probability (1 - max softmax, thresholded to refuse the same share of validation photos).
A photo the check finds atypical (typicality above the bundle's threshold) is refused by `vitalens predict`.

Torch-free: the shipped bundle through `SkinPredictor`, as `vitalens predict` runs it. The Fitzpatrick
photos are the run's validation split (where the threshold was set) and held-out split; the other sets
are the datasets in ../shared/data, sampled with a fixed seed. Nothing here is trained.

    python benchmarks/skin_ood.py [--bundle DIR] [--run experiments/skin-main] [--per-set 300]

Research software, not a medical device.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from tqdm import tqdm

from vitalens import DISCLAIMER
from vitalens.tasks.skin_condition.data import load_fitzpatrick17k
from vitalens.data.shared import find_shared_dataset, missing_dataset_message
from vitalens.imaging import IMAGE_SUFFIXES, ImageDecodeError, decode_image
from vitalens.bundle import load_bundle, shipped_bundle_path
from vitalens.tasks.skin_condition.runtime import SkinPredictor

REPO = Path(__file__).resolve().parents[1]
# name shown: (shared dataset, what its photos show)
OTHER_SETS = {
    "faces (UTKFace)": "utkface",
    "fingernails (Yakimov 2024)": "yakimov2024",
    "conjunctivae (CP-AnemiC)": "cp-anemic",
    "lips (starter set)": "lips-starter",
    "lips, iPhone HEIC": "heic-samples",
}


def score_photos(predictor: SkinPredictor, paths: list[Path], what: str) -> pd.DataFrame:
    """Typicality and top probability of each photo; unreadable files are counted and skipped."""
    rows, skipped = [], 0
    for path in tqdm(paths, desc=what, leave=False):
        try:
            rgb = decode_image(path).rgb
        except ImageDecodeError as error:
            print(f"  skipped: {error}")
            skipped += 1
            continue
        result = predictor.predict(rgb, path.name)
        rows.append({"typicality": result["typicality"], "top_probability": result["top"][0]["probability"]})
    if skipped:
        print(f"  {what}: {skipped} unreadable files skipped")
    return pd.DataFrame(rows)


def image_paths(folder: Path, limit: int, seed: int = 0) -> list[Path]:
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    return sorted(random.Random(seed).sample(paths, limit)) if len(paths) > limit else paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=shipped_bundle_path("skin-condition"))
    parser.add_argument("--run", type=Path, default=REPO / "experiments" / "skin-main", help="the run whose split.csv names the validation and held-out photos")
    parser.add_argument("--per-set", type=int, default=300, help="photos sampled from each other dataset")
    args = parser.parse_args()
    fitzpatrick = find_shared_dataset("fitzpatrick17k-ajl")
    if fitzpatrick is None:
        parser.error(missing_dataset_message("fitzpatrick17k-ajl"))
    predictor = SkinPredictor(load_bundle(args.bundle))
    split = pd.read_csv(args.run / "split.csv").set_index("image_id")["split"]
    path_of = {s.image_id: s.image_path for s in load_fitzpatrick17k(fitzpatrick).samples}
    scored = {f"clinical photos, {name}": score_photos(predictor, [path_of[i] for i in split.index[split == name]], name) for name in ("validation", "test")}
    validation, held_out = scored["clinical photos, validation"], scored["clinical photos, test"]
    for label, dataset in OTHER_SETS.items():
        folder = find_shared_dataset(dataset)
        if folder is None:
            print(f"  {label}: skipped ({missing_dataset_message(dataset)})")
            continue
        scored[label] = score_photos(predictor, image_paths(folder, args.per_set), label)

    # The baseline refuses photos whose top probability is below the value that refuses as many validation photos.
    refused_share = float(np.mean(validation["typicality"] > predictor.typicality_threshold))
    probability_cut = float(np.quantile(validation["top_probability"], refused_share))
    print(f"\nBundle {args.bundle}; typicality threshold {predictor.typicality_threshold:g} (refuses {refused_share:.1%} of validation photos); "
          f"baseline: top probability < {probability_cut:.3f} (the same share)\n")  # fmt: skip
    print("| photos | n | refused by the photo check | AUROC vs held-out clinical | refused by low top probability | AUROC | mean top probability |")
    print("|---|---|---|---|---|---|---|")
    for name, frame in scored.items():
        other = name not in ("clinical photos, validation", "clinical photos, test")
        auroc = lambda score, reference: roc_auc_score(np.r_[np.zeros(len(reference)), np.ones(len(score))], np.r_[reference, score]) if other else float("nan")  # noqa: E731
        print(f"| {name.replace('clinical photos, test', 'clinical photos, held-out')} | {len(frame)} | {np.mean(frame['typicality'] > predictor.typicality_threshold):.1%} | "
              f"{auroc(frame['typicality'], held_out['typicality']):.3f} | {np.mean(frame['top_probability'] < probability_cut):.1%} | "
              f"{auroc(-frame['top_probability'], -held_out['top_probability']):.3f} | {frame['top_probability'].mean():.3f} |")  # fmt: skip
    print(f"\n{DISCLAIMER}")


if __name__ == "__main__":
    main()
