"""The record of the fingernail-Hb feature search (issue #2): every configuration tried, re-run in one go.

    python benchmarks/hb_nails_search.py [--data ../shared/data/yakimov2024] [--out benchmarks/results/hb_nails_search.md]

Feature *ideas* are compared here by leave-one-session-out (LOSO) and grouped 3-fold CV; every continuous
knob of a head (ridge alpha, quantile alpha, Huber alpha) is tuned inside each training fold by the heads in
`vitalens.models.heads`. The variants are written in numpy on the same 32 px crops the ONNX graph sees (the
plain variant matches `ColourFeatures` to 1e-3); only the adopted one, `colour_red`, lives in the package.
Research software, not a medical device. Data: Yakimov et al. 2024, Sci Data 11:1070.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import HuberRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from vitalens.aggregate import mean_by_photo, median_by_photo
from vitalens.colour import srgb_to_lab
from vitalens.config import load_config
from vitalens.evaluation.splits import grouped_splits
from vitalens.models.heads import GroupTunedRegressor, fit_head, make_head
from vitalens.regions.nails import RED_MARK_RELATIVE
from vitalens.runs import prepare

EPS = 1e-4
SEEDS = (0, 1, 2, 3, 4)


class MeanOfHeads(BaseEstimator, RegressorMixin):
    """The ridge and median heads averaged (each tuned inside the fold as usual)."""

    def __init__(self, names=("ridge", "median")):
        self.names = names

    def fit(self, X, y, groups=None):
        self.heads_ = [fit_head(make_head(name), X, y, groups) for name in self.names]
        return self

    def predict(self, X):
        return np.mean([head.predict(X) for head in self.heads_], axis=0)


def huber() -> GroupTunedRegressor:
    return GroupTunedRegressor(make_pipeline(StandardScaler(), HuberRegressor(max_iter=1000)), {"huberregressor__alpha": list(np.logspace(-3, 2, 11))})


HEAD_FACTORIES = {"ridge": lambda: make_head("ridge"), "median": lambda: make_head("median"), "ridge+median": MeanOfHeads, "huber": huber}


def region_colour(crops: np.ndarray, white: np.ndarray, how: str) -> np.ndarray:
    """N x 3 white-balanced colour of each crop, by a pixel-selection rule."""
    pixels = np.clip(crops.reshape(len(crops), 3, -1).transpose(0, 2, 1) / white, EPS, 1.5)
    if how == "mean":
        return pixels.mean(1)
    if how == "median":
        return np.median(pixels, 1)
    if how == "centre":  # the inner half of the box, away from the card, cuticle and free edge
        size = crops.shape[-1]
        return np.clip(crops[:, :, size // 4 : 3 * size // 4, size // 4 : 3 * size // 4].mean((2, 3)) / white, EPS, 1.5)
    if how == "redder_half":  # pixels at or above the crop's median a*: the nail bed, not free edge / lunula / glare
        a_star = srgb_to_lab(np.clip(pixels, 0, 1))[..., 1]
        keep = a_star >= np.median(a_star, axis=1, keepdims=True)
    elif how == "darker_half":  # pixels at or below the crop's median brightness: no glare, free edge or card
        brightness = pixels.mean(2)
        keep = brightness <= np.median(brightness, axis=1, keepdims=True)
    else:
        raise KeyError(how)
    return (pixels * keep[..., None]).sum(1) / keep.sum(1)[:, None]


def features(regions, nail="mean", skin="mean", extras=(), correction=None, red_target=None) -> tuple[np.ndarray, np.ndarray]:
    target = np.log(RED_MARK_RELATIVE) if red_target is None else red_target
    rows, photo_index = [], []
    for index, region in enumerate(regions):
        white, n_regions = region.white, len(region)
        nail_rgb, skin_rgb = region_colour(region.nails, white, nail), region_colour(region.skins, white, skin)
        red_over_white = np.clip(region.red / white, EPS, 1 - EPS)
        if correction == "red_power":  # as in RedCorrectedColourFeatures: power law through white and the red mark, G and B
            exponent = np.ones(3)
            exponent[1:] = np.clip(target[1:] / np.log(red_over_white[1:]), 0.5, 2.0)
            nail_rgb, skin_rgb = nail_rgb**exponent, skin_rgb**exponent
        elif correction == "red_diagonal":  # least-squares per-channel gain taking (white, red) to (1, expected red)
            expected = np.exp(target)
            gain = (1 + red_over_white * expected) / (1 + red_over_white**2)
            nail_rgb, skin_rgb = np.clip(nail_rgb * gain, EPS, 1.5), np.clip(skin_rgb * gain, EPS, 1.5)
        columns = [
            srgb_to_lab(np.clip(nail_rgb, 0, 1)),
            srgb_to_lab(np.clip(skin_rgb, 0, 1)),
            np.log(nail_rgb) - np.log(skin_rgb),
            -np.log(nail_rgb),
            np.repeat(np.log(np.maximum(white, EPS))[None], n_regions, 0),
        ]
        for extra in extras:
            if extra == "chromaticity":
                columns += [nail_rgb / nail_rgb.sum(1, keepdims=True), skin_rgb / skin_rgb.sum(1, keepdims=True)]
            elif extra == "log_chromaticity":  # channel log-ratios: free of illumination intensity
                columns.append(np.log(np.stack([nail_rgb[:, 0] / nail_rgb[:, 1], nail_rgb[:, 1] / nail_rgb[:, 2], skin_rgb[:, 0] / skin_rgb[:, 1], skin_rgb[:, 1] / skin_rgb[:, 2]], 1)))
            elif extra == "red_mark":  # log(red mark / white) per channel as features
                columns.append(np.repeat(np.log(red_over_white)[None], n_regions, 0))
            elif extra == "red_density_ratio":  # nail and skin G, B optical density over the red mark's
                mark_density = -np.log(red_over_white[1:])
                columns.append(np.concatenate([-np.log(nail_rgb[:, 1:]) / mark_density, -np.log(skin_rgb[:, 1:]) / mark_density], 1))
            else:
                raise KeyError(extra)
        rows.append(np.concatenate(columns, 1))
        photo_index += [index] * n_regions
    return np.concatenate(rows).astype(np.float64), np.asarray(photo_index)


def _dense(photo_index):
    return np.unique(photo_index, return_inverse=True)[1]


def cross_validated(make_features, head: str, y, groups, scheme: str, seed: int = 0) -> np.ndarray:
    """Out-of-fold photo predictions; `make_features(train_photos)` may use the training photos (label-free)."""
    predicted = np.full(len(y), np.nan)
    for train, test in grouped_splits(groups, scheme, 3, seed):
        X, photo_index = make_features(train)
        train_rows, test_rows = np.isin(photo_index, train), np.isin(photo_index, test)
        fitted = fit_head(HEAD_FACTORIES[head](), mean_by_photo(X[train_rows], _dense(photo_index[train_rows])), y[train], groups[train])
        predicted[test] = median_by_photo(np.asarray(fitted.predict(X[test_rows]), float), _dense(photo_index[test_rows]))
    return predicted


def mae_r2(y, predicted) -> tuple[float, float]:
    return float(np.mean(np.abs(predicted - y))), float(1 - np.sum((predicted - y) ** 2) / np.sum((y - y.mean()) ** 2))


def search(regions, y, groups) -> list[tuple]:
    def fixed(**kw):
        cached = features(regions, **kw)
        return lambda _train: cached

    def red_target_from(train):  # the red mark's expected colour measured on the training photos only
        return np.median([np.log(np.clip(regions[i].red / regions[i].white, EPS, 1)) for i in train], axis=0)

    configurations = [
        ("colour (shipped features)", fixed(), ("ridge", "median", "ridge+median", "huber")),
        ("nail pixels: per-channel median", fixed(nail="median"), ("ridge", "median")),
        ("nail pixels: centre half of the box", fixed(nail="centre"), ("ridge", "median")),
        ("nail pixels: redder half (a* ≥ median)", fixed(nail="redder_half"), ("ridge", "median")),
        ("nail pixels: darker half (no glare / free edge)", fixed(nail="darker_half"), ("ridge", "median")),
        ("skin pixels: per-channel median", fixed(skin="median"), ("ridge", "median")),
        ("+ log-chromaticity (channel log-ratios)", fixed(extras=("log_chromaticity",)), ("ridge", "median")),
        ("+ chromaticity r,g,b / sum", fixed(extras=("chromaticity",)), ("ridge", "median")),
        ("+ red mark log(red/white) features", fixed(extras=("red_mark",)), ("ridge", "median", "ridge+median", "huber")),
        ("+ G,B densities over the red mark's", fixed(extras=("red_density_ratio",)), ("ridge", "median", "ridge+median")),
        ("+ red mark features + log-chromaticity", fixed(extras=("red_mark", "log_chromaticity")), ("ridge", "median", "ridge+median")),
        ("+ red mark features, skin median", fixed(skin="median", extras=("red_mark",)), ("ridge", "median", "ridge+median")),
        ("red-mark power-law correction (colour_red)", fixed(correction="red_power"), ("ridge", "median", "ridge+median", "huber")),
        ("red-mark power law, target from training folds", lambda train: features(regions, correction="red_power", red_target=red_target_from(train)), ("ridge", "median")),
        ("red-mark diagonal-gain correction", fixed(correction="red_diagonal"), ("ridge", "median", "ridge+median")),
        ("red-mark power law + red mark features", fixed(correction="red_power", extras=("red_mark",)), ("ridge", "median", "ridge+median")),
        ("red-mark power law, nail redder half", fixed(correction="red_power", nail="redder_half"), ("ridge", "median")),
    ]
    results = []
    for label, make_features, heads in configurations:
        for head in heads:
            started = time.perf_counter()
            loso = mae_r2(y, cross_validated(make_features, head, y, groups, "loso"))
            kfold = [mae_r2(y, cross_validated(make_features, head, y, groups, "kfold", seed)) for seed in SEEDS]
            results.append((label, head, *loso, *kfold[0], float(np.mean([k[0] for k in kfold]))))
            print(f"{label:50s} {head:13s} LOSO {loso[0]:.3f} R² {loso[1]:.3f} | 3-fold {kfold[0][0]:.3f} R² {kfold[0][1]:.3f} | 3-fold ×5 seeds {results[-1][-1]:.3f} ({time.perf_counter() - started:.0f} s)", flush=True)
    return results


def mean_predictor(y, groups, scheme, seed=0) -> tuple[float, float]:
    predicted = np.full(len(y), np.nan)
    for train, test in grouped_splits(groups, scheme, 3, seed):
        predicted[test] = y[train].mean()
    return mae_r2(y, predicted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "data" / "yakimov2024"))
    parser.add_argument("--out", default=None, help="write the table as markdown here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = prepare(load_config(data=args.data), show_progress=False)
    y, groups = data.y, data.groups
    loso, kfold = mean_predictor(y, groups, "loso"), mean_predictor(y, groups, "kfold")
    kfold_seeds = float(np.mean([mean_predictor(y, groups, "kfold", seed)[0] for seed in SEEDS]))
    print(f"{len(y)} photos, {len(set(groups))} sessions, red mark found in {sum(r.red_found for r in data.regions)}")
    print(f"mean predictor: LOSO {loso[0]:.3f} R² {loso[1]:.3f} | 3-fold {kfold[0]:.3f} R² {kfold[1]:.3f} | 3-fold ×5 seeds {kfold_seeds:.3f}")
    results = search(data.regions, y, groups)
    if args.out:
        lines = [
            "| configuration | head | LOSO MAE | LOSO R² | 3-fold MAE (seed 0) | 3-fold R² | 3-fold MAE, mean of 5 seeds |",
            "|---|---|---|---|---|---|---|",
            f"| mean of the training folds | — | {loso[0]:.3f} | {loso[1]:.3f} | {kfold[0]:.3f} | {kfold[1]:.3f} | {kfold_seeds:.3f} |",
        ]
        lines += [f"| {label} | {head} | {lm:.3f} | {lr:.3f} | {km:.3f} | {kr:.3f} | {k5:.3f} |" for label, head, lm, lr, km, kr, k5 in results]
        Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - started:.0f} s")
