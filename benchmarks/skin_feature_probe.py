"""Probe: which frozen ImageNet features carry the skin task? Trunk (Lite0/1/2), input size, depth
(pooled outputs of intermediate blocks as well as the last layer) and orientation views (mirrors and
180° as extra training rows; their probabilities averaged at prediction), each with a class-weighted
logistic head, and averages over trunks. The held-out split stays unspent: scores are on the validation
split, or with --cv K out-of-fold over K grouped folds of train + validation (near-duplicate groups never
straddle a fold), with each design's paired difference from the shipped recipe.

    python benchmarks/skin_feature_probe.py [--data DIR] [--sizes 192 260] [--cv 5] [--depths ...] [--c ...]

Features are cached under experiments/cache/skin-features (several minutes per trunk and size on
two CPU cores the first time). Research software, not a medical device.
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from vitalens import DISCLAIMER
from vitalens.data.shared import find_shared_dataset, missing_dataset_message
from vitalens.evaluation.fairness import hit_rate_gap
from vitalens.evaluation.metrics import paired_difference
from vitalens.tasks.skin_condition.metrics import class_metrics
from vitalens.backbones import LITE_MEAN, LITE_STD, build_backbone
from vitalens.tasks.skin_condition.probe import DEPTH_RULES, VIEWS, orient, probe_depths
from vitalens.tasks.skin_condition.split import prepare_split, train_validation_folds
from vitalens.tasks.skin_condition.fitting import SkinTrainingConfig, unit_batch

TRUNKS = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")
CACHE = Path("experiments/cache/skin-features")
# Which layers' pooled outputs feed the head, as indices into [block 0, ..., last block, head convolution]:
# the last layer alone, or with the last block, or one of the depth probe's rules.
DEPTHS = {
    "last layer": lambda n: [n - 1],
    "last + last block": lambda n: [n - 2, n - 1],
    **{rule: (lambda n, rule=rule: probe_depths(n - 1, rule)) for rule in DEPTH_RULES},
}
SHIPPED = SkinTrainingConfig()


@torch.no_grad()
def block_features(trunk, images: torch.Tensor) -> np.ndarray:
    """Pooled output of every block and of the head convolution, concatenated: [B, sum of widths]."""
    x = torch.nn.functional.relu6(trunk._bn0(trunk._conv_stem((images - LITE_MEAN) / LITE_STD)))
    pooled = []
    for block in trunk._blocks:
        x = block(x)
        pooled.append(x.mean(dim=(2, 3)))
    pooled.append(torch.nn.functional.relu6(trunk._bn1(trunk._conv_head(x))).mean(dim=(2, 3)))
    return torch.cat(pooled, dim=1).numpy()


def layer_slices(trunk) -> list[slice]:
    widths = [block._bn2.num_features for block in trunk._blocks] + [trunk._bn1.num_features]
    edges = np.cumsum([0] + widths)
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]


def shades_of_gray(images: torch.Tensor, power: float = 6.0) -> torch.Tensor:
    """Shades-of-Gray colour constancy (Finlayson & Trezzi 2004), the usual first step of dermatology models:
    each channel is divided by its Minkowski p-mean over the photo, rescaled so the three gains average 1."""
    illuminant = images.clamp_min(1e-6).pow(power).mean(dim=(2, 3), keepdim=True).pow(1.0 / power)
    return (images * illuminant.mean(dim=1, keepdim=True) / illuminant).clamp(0.0, 1.0)


def cached_features(name: str, size: int, pixels: np.ndarray, batch: int = 64, colour_constancy: float | None = None) -> tuple[np.ndarray, list[slice]]:
    """[views, N, D] features of every photo in every view (optionally after Shades-of-Gray colour constancy
    with that Minkowski power), and the column slice of each layer."""
    trunk = build_backbone(name, image_size=size).trunk.eval()
    path = CACHE / (f"{name}-{size}.npy" if colour_constancy is None else f"{name}-{size}-sog{colour_constancy:g}.npy")
    prepare = (lambda x: x) if colour_constancy is None else (lambda x: shades_of_gray(x, colour_constancy))  # noqa: E731
    if not path.is_file():
        started = time.monotonic()
        CACHE.mkdir(parents=True, exist_ok=True)
        per_view = []
        for view in VIEWS:
            per_view.append(np.concatenate([block_features(trunk, orient(prepare(unit_batch(pixels[i : i + batch])), view)) for i in range(0, len(pixels), batch)]))
        np.save(path, np.stack(per_view).astype(np.float32))
        print(f"  features {name} at {size}px: {time.monotonic() - started:.0f} s", flush=True)
    return np.load(path), layer_slices(trunk)


def fit_probabilities(features: np.ndarray, y: np.ndarray, train: np.ndarray, validation: np.ndarray, views: int, c: float,
                      sample_weight: np.ndarray | None = None, extra_rows: tuple[np.ndarray, ...] = ()) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Logistic head on the training photos in the first `views` orientations (plus, for training only, each
    [N, D] array of `extra_rows`, e.g. augmented copies), class-balanced unless given per-photo weights;
    validation probabilities and logits, each averaged over those views."""
    head = make_pipeline(StandardScaler(), LogisticRegression(C=c, class_weight=None if sample_weight is not None else "balanced", max_iter=1000))
    copies = views + len(extra_rows)
    weights = {} if sample_weight is None else {"logisticregression__sample_weight": np.tile(sample_weight, copies)}
    head.fit(np.concatenate([*features[:views, train], *(rows[train] for rows in extra_rows)]), np.tile(y[train], copies), **weights)
    return (np.mean([head.predict_proba(features[v, validation]) for v in range(views)], axis=0),
            np.mean([head.decision_function(features[v, validation]) for v in range(views)], axis=0))  # fmt: skip


def evaluation_folds(frame: pd.DataFrame, cv: int | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, scored) boolean masks: the shipped split, or K grouped folds over train + validation."""
    split = frame["split"].to_numpy()
    if not cv:
        return [(split == "train", split == "validation")]
    return [(np.isin(np.arange(len(frame)), fit), np.isin(np.arange(len(frame)), scored))
            for fit, scored in train_validation_folds(frame["label"], frame["group"], split, cv)]


def scored_outputs(features: np.ndarray, y: np.ndarray, folds, views: int, c: float) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities, logits) [N, C] of every photo a fold scores, each from the heads fitted on its fold's training photos."""
    outputs = [np.zeros((len(y), len(np.unique(y)))) for _ in range(2)]
    for train, held in folds:
        for output, fitted in zip(outputs, fit_probabilities(features, y, train, held, views, c)):
            output[held] = fitted
    return outputs[0], outputs[1]


def row(name: str, y: np.ndarray, probabilities: np.ndarray, skin_types: np.ndarray) -> str:
    metrics, hits = class_metrics(y, probabilities), probabilities.argmax(1) == y
    by_type = pd.Series(hits).groupby(skin_types).mean()
    return (f"| {name} | " + " | ".join(f"{metrics[m] * 100:.1f}" for m in ("top1", "top3", "macro_f1")) + " | "
            + " | ".join(f"{by_type.get(g, np.nan) * 100:.1f}" for g in ("I-II", "III-IV", "V-VI")) + f" | {hit_rate_gap(hits, skin_types, n_boot=0)['gap'] * 100:.1f} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=find_shared_dataset("fitzpatrick17k-ajl"), help="the fitzpatrick17k-ajl folder")
    parser.add_argument("--sizes", type=int, nargs="+", default=[192, 260])
    parser.add_argument("--trunks", nargs="+", default=list(TRUNKS), choices=list(TRUNKS))
    parser.add_argument("--c", type=float, nargs="+", default=[0.01])
    parser.add_argument("--depths", nargs="+", default=["last layer", "last + last block", "every_third_from_middle"], choices=list(DEPTHS))
    parser.add_argument("--views", type=int, nargs="+", default=[1, 4], choices=[1, 2, 3, 4])
    parser.add_argument("--cv", type=int, default=None, help="score out-of-fold over this many grouped folds of train + validation")
    args = parser.parse_args()
    if args.data is None:
        parser.error(missing_dataset_message("fitzpatrick17k-ajl"))
    torch.set_num_threads(2)
    shipped = (tuple(SHIPPED.probe_backbones), SHIPPED.probe_size, SHIPPED.probe_depth_rule, len(VIEWS), SHIPPED.probe_c)
    where = "validation" if not args.cv else f"out-of-fold over {args.cv} grouped folds of train + validation"
    for size in args.sizes:
        frame, pixels, _, _ = prepare_split(args.data, size)
        y = frame["label"].astype("category").cat.codes.to_numpy()
        folds = evaluation_folds(frame, args.cv)
        scored = np.any([held for _, held in folds], axis=0)
        skin_types, groups = frame["fitzpatrick_group"].fillna("unknown").to_numpy()[scored], frame["group"].to_numpy()[scored]
        results, designs = {}, {}
        print(f"\n## {size}px, scored {where} (n = {scored.sum()})\n\n| features (views, C) | top-1 | top-3 | macro-F1 | I-II | III-IV | V-VI | gap |\n|---|---|---|---|---|---|---|---|", flush=True)
        for name in args.trunks:
            features, slices = cached_features(name, size, pixels)
            for label, views, c in itertools.product(args.depths, args.views, args.c):
                layers = DEPTHS[label](len(slices))
                chosen = features[..., np.concatenate([np.arange(slices[i].start, slices[i].stop) for i in layers])]
                results[(name, label, views, c)] = scored_outputs(chosen, y, folds, views, c)
                print(row(f"{name} {label} ({views}, {c})", y[scored], results[(name, label, views, c)][0][scored], skin_types), flush=True)
        for label, views, c in itertools.product(args.depths, args.views, args.c):
            for trunks in (t for k in range(2, len(args.trunks) + 1) for t in itertools.combinations(args.trunks, k)):
                short = " + ".join(t.removeprefix("efficientnet_") for t in trunks)
                for kind, which in (("probabilities", 0), ("logits", 1)):
                    mean = np.mean([results[(name, label, views, c)][which] for name in trunks], axis=0)[scored]
                    print(row(f"mean {kind} of {short}: {label} ({views}, {c})", y[scored], mean, skin_types), flush=True)
                    if kind == "probabilities":
                        designs[(trunks, size, label, views, c)] = mean.argmax(1) == y[scored]
        if shipped in designs:
            print(f"\nTop-1 minus the shipped recipe's ({shipped}), paired bootstrap 95 % CI over near-duplicate groups:\n\n| design | difference | CI |\n|---|---|---|")
            for design, hits in designs.items():
                difference = paired_difference(hits, designs[shipped], groups)
                print(f"| {design} | {difference['difference'] * 100:+.2f} | {difference['ci'][0] * 100:+.2f} to {difference['ci'][1] * 100:+.2f} |")
    print(f"\n{DISCLAIMER}")


if __name__ == "__main__":
    main()
