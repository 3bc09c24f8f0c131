"""Probe: which frozen ImageNet features carry the skin task? Trunk (Lite0/1/2), input size, depth
(pooled outputs of intermediate blocks as well as the last layer) and orientation views (mirrors and
180° as extra training rows; their probabilities averaged at prediction), each with a class-weighted
logistic head, and averages over trunks. Validation split only: the held-out split stays unspent.

    python benchmarks/skin_feature_probe.py [--data DIR] [--sizes 192 260]

Features are cached under experiments/cache/skin-features (several minutes per trunk and size on
two CPU cores the first time). Research software, not a medical device.
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from vitalens import DISCLAIMER
from vitalens.data.shared import find_shared_dataset, missing_dataset_message
from vitalens.evaluation_skin import class_metrics
from vitalens.features.backbones import LITE_MEAN, LITE_STD, build_backbone
from vitalens.models.skin_probe import VIEWS, orient, probe_depths
from vitalens.models.skin_run import prepare_split
from vitalens.models.skin_training import unit_batch

TRUNKS = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")
CACHE = Path("experiments/cache/skin-features")
# Which layers' pooled outputs feed the head, as indices into [block 0, ..., last block, head convolution].
DEPTHS = {
    "last layer": lambda n: [n - 1],
    "last + last block": lambda n: [n - 2, n - 1],
    "last + every 3rd block from the middle": lambda n: probe_depths(n - 1),  # the shipped depth probe's rule
}


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
                      sample_weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Logistic head on the training photos in the first `views` orientations, class-balanced unless given
    per-photo weights; validation probabilities and logits, each averaged over those views."""
    head = make_pipeline(StandardScaler(), LogisticRegression(C=c, class_weight=None if sample_weight is not None else "balanced", max_iter=1000))
    weights = {} if sample_weight is None else {"logisticregression__sample_weight": np.tile(sample_weight, views)}
    head.fit(np.concatenate(features[:views, train]), np.tile(y[train], views), **weights)
    return (np.mean([head.predict_proba(features[v, validation]) for v in range(views)], axis=0),
            np.mean([head.decision_function(features[v, validation]) for v in range(views)], axis=0))  # fmt: skip


def row(name: str, y: np.ndarray, probabilities: np.ndarray) -> str:
    metrics = class_metrics(y, probabilities)
    return f"| {name} | " + " | ".join(f"{metrics[m] * 100:.1f}" for m in ("top1", "top3", "macro_f1")) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=find_shared_dataset("fitzpatrick17k-ajl"), help="the fitzpatrick17k-ajl folder")
    parser.add_argument("--sizes", type=int, nargs="+", default=[192, 260])
    parser.add_argument("--c", type=float, nargs="+", default=[0.01])
    parser.add_argument("--depths", nargs="+", default=list(DEPTHS), choices=list(DEPTHS))
    parser.add_argument("--views", type=int, nargs="+", default=[1, 4], choices=[1, 2, 3, 4])
    args = parser.parse_args()
    if args.data is None:
        parser.error(missing_dataset_message("fitzpatrick17k-ajl"))
    torch.set_num_threads(2)
    results = {}
    for size in args.sizes:
        frame, pixels, _, _ = prepare_split(args.data, size)
        y = frame["label"].astype("category").cat.codes.to_numpy()
        train, validation = (frame["split"] == "train").to_numpy(), (frame["split"] == "validation").to_numpy()
        print(f"\n## {size}px\n\n| features (views, C) | validation top-1 | top-3 | macro-F1 |\n|---|---|---|---|", flush=True)
        for name in TRUNKS:
            features, slices = cached_features(name, size, pixels)
            for label, views, c in itertools.product(args.depths, args.views, args.c):
                layers = DEPTHS[label](len(slices))
                chosen = features[..., np.concatenate([np.arange(slices[i].start, slices[i].stop) for i in layers])]
                results[(name, label, views, c)] = fit_probabilities(chosen, y, train, validation, views, c)
                print(row(f"{name} {label} ({views}, {c})", y[validation], results[(name, label, views, c)][0]), flush=True)
        for label, views, c in itertools.product(args.depths, args.views, args.c):
            for trunks in (t for k in range(2, len(TRUNKS) + 1) for t in itertools.combinations(TRUNKS, k)):
                short = " + ".join(t.removeprefix("efficientnet_") for t in trunks)
                for kind, which in (("probabilities", 0), ("logits", 1)):
                    mean = np.mean([results[(name, label, views, c)][which] for name in trunks], axis=0)
                    print(row(f"mean {kind} of {short}: {label} ({views}, {c})", y[validation], mean), flush=True)
    print(f"\n{DISCLAIMER}")


if __name__ == "__main__":
    main()
