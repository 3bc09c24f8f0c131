"""SYNTHETIC skin-tone stress test of the fairness audit (not real data).

    PYTHONPATH=src python benchmarks/synthetic_fairness.py [--seeds 3] [--n 900]

Trains on SYNTHETIC lip patches where dark tones are 5 % of the data, tests on a balanced SYNTHETIC
set, and prints MAE, RMSE, signed bias and n per tone group (fairlearn MetricFrame) for the mean
predictor, Ridge on raw lip colour and Ridge on lip colour relative to the surrounding skin, then the
MAE gap between groups, with shuffled tone labels as a no-bias control.
"""

from __future__ import annotations

import argparse
import time

from vitalens.synthetic import SYNTHETIC
from vitalens.synthetic_audit import TRAIN_MIX, run_tone_audit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--n", type=int, default=900, help="patches in each of the train and test sets")
    args = parser.parse_args()
    print(f"*** {SYNTHETIC} DATA: a planted-bias stress test, not a measurement on people ***")
    print(f"train tone mix {TRAIN_MIX}, balanced test; n = {args.n} each\n")
    for seed in range(args.seeds):
        started = time.perf_counter()
        audit = run_tone_audit(args.n, args.n, seed=seed)
        control = run_tone_audit(args.n, args.n, seed=seed, shuffle_groups=True)
        print(f"[{SYNTHETIC}] seed {seed} ({time.perf_counter() - started:.1f} s)")
        print(f"  {'model':22s} {'tone':7s} {'n':>4s} {'MAE':>6s} {'RMSE':>6s} {'bias':>6s}")
        for model, frame in audit.frames.items():
            for tone, row in frame.by_group.iterrows():
                print(f"  {model:22s} {tone:7s} {int(row['n']):4d} {row['mae']:6.2f} {row['rmse']:6.2f} {row['bias']:+6.2f}")
            print(f"  {model:22s} {'all':7s} {int(frame.overall['n']):4d} {frame.overall['mae']:6.2f} {frame.overall['rmse']:6.2f} {frame.overall['bias']:+6.2f}")
        for model in audit.frames:
            print(f"  MAE gap between tones, {model:22s}: {audit.gap(model):.2f} g/dL (shuffled-label control {control.gap(model):.2f})")
        print()


if __name__ == "__main__":
    main()
