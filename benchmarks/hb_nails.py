"""Fingernail Hb on the development data: leave-one-session-out and grouped 3-fold, model vs mean predictor.

    python benchmarks/hb_nails.py [--data ../shared/data/yakimov2024] [--only colour]

Prints MAE and R² for each configuration with wall time for features and fitting. Research software,
not a medical device.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from vitalens.tasks._haemoglobin.config import load_config
from vitalens.tasks.hb_nails.lifecycle import prepare
from vitalens.tasks.hb_nails.training import cross_validate

CONFIGURATIONS = [
    ("colour + ridge", {"features": "colour", "head": "ridge"}),
    ("colour + median", {"features": "colour", "head": "median"}),
    ("colour_red + ridge", {"features": "colour_red", "head": "ridge"}),
    ("colour_red + median (shipped)", {"features": "colour_red", "head": "median"}),
    ("cnn + ridge", {"features": "cnn", "head": "ridge", "crop_size": 96}),
    ("hybrid + catboost", {"features": "hybrid", "head": "catboost", "crop_size": 96}),
]


def scores(predictions, column: str) -> tuple[float, float]:
    y, p = predictions["hb_true"].to_numpy(), predictions[column].to_numpy()
    return float(np.mean(np.abs(p - y))), float(1 - np.sum((p - y) ** 2) / np.sum((y - y.mean()) ** 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "data" / "yakimov2024"))
    parser.add_argument("--only", default="", help="run only the configurations whose label contains this text (e.g. colour)")
    args = parser.parse_args()
    print(f"{'configuration':28s} {'scheme':7s} {'MAE':>6s} {'R2':>6s} {'mean MAE':>9s} {'mean R2':>8s} {'cover90':>8s} {'width':>6s} {'feat s':>7s} {'fit s':>7s}")
    prepared = {}
    for label, params in [c for c in CONFIGURATIONS if args.only in c[0]]:
        for scheme in ("loso", "kfold"):
            config = load_config(data=args.data, scheme=scheme, n_splits=3, **params)
            if config.crop_size not in prepared:
                prepared[config.crop_size] = prepare(config, show_progress=False)
            cv = cross_validate(prepared[config.crop_size], config, show_progress=False)
            mae, r2 = scores(cv.predictions, "hb_pred")
            base_mae, base_r2 = scores(cv.predictions, "hb_mean_predictor")
            c = cv.conformal
            print(
                f"{label:28s} {scheme:7s} {mae:6.3f} {r2:6.3f} {base_mae:9.3f} {base_r2:8.3f} {c['empirical_coverage']:8.3f} {c['mean_width']:6.2f}"
                f" {cv.timings['features_s']:7.2f} {cv.timings['fit_all_folds_s']:7.2f}",
                flush=True,
            )


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - started:.0f} s; kfold = grouped 3-fold by session (seed 0)")
