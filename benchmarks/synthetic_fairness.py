"""SYNTHETIC skin-tone stress test of the fairness audit (not real data).

    PYTHONPATH=src python benchmarks/synthetic_fairness.py [--seeds 3] [--n 900]

Trains on SYNTHETIC lip patches where dark tones are 5 % of the data, tests on a balanced SYNTHETIC
set, and prints MAE (95 % bootstrap CI), RMSE, signed bias and n per tone group
(`vitalens.evaluation.fairness.disaggregate`, fairlearn's MetricFrame) for the mean
predictor, Ridge on raw lip colour and Ridge on lip colour relative to the surrounding skin, then the
MAE gap between groups, with shuffled tone labels as a no-bias control.
"""

from __future__ import annotations

import argparse
import time

from vitalens.tasks.hb_lips.synthetic import SYNTHETIC
from vitalens.tasks.hb_lips.synthetic_audit import TRAIN_MIX, run_tone_audit


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
        print(f"  {'model':22s} {'tone':7s} {'n':>4s} {'MAE':>6s} {'MAE 95% CI':>13s} {'RMSE':>6s} {'bias':>6s}")
        for model, table in audit.by_group.items():
            for tone, row in table.iterrows():
                ci = f"{row['mae_ci_low']:.2f}-{row['mae_ci_high']:.2f}"
                print(f"  {model:22s} {tone:7s} {int(row['n']):4d} {row['mae']:6.2f} {ci:>13s} {row['rmse']:6.2f} {row['bias']:+6.2f}")
            pooled = audit.overall[model]
            print(f"  {model:22s} {'all':7s} {pooled['n']:4d} {pooled['mae']:6.2f} {'':>13s} {pooled['rmse']:6.2f} {pooled['bias']:+6.2f}")
        for model in audit.by_group:
            print(f"  MAE gap between tones, {model:22s}: {audit.gap(model):.2f} g/dL (shuffled-label control {control.gap(model):.2f})")
        print()


if __name__ == "__main__":
    main()
