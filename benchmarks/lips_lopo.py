"""Leave-one-person-out evaluation of lip-colour Hb models on the lips starter set.

    PYTHONPATH=src python benchmarks/lips_lopo.py [--data ../shared/data/lips-starter/images]
        [--contact-sheet /tmp/lips_contact_sheet.png] [--no-permutations]

Every photo of a person is held out together (`Individual02` and its misspelling `Invividual02` are
one person; each `Random_*` photo is its own). The table, the split and the shipped model come from
`vitalens.tasks.hb_lips.training` (what `vitalens train --task hb-lips` runs, through the task's
lifecycle). Models: the mean of the training folds; Ridge on raw lip colour (the shipped one); Ridge
on lip colour normalised against the surrounding skin; the latter plus one-hot metadata (skin-tone
group, framing, device). Prints pooled out-of-fold MAE, RMSE, R2 and Bland-Altman
(`vitalens.evaluation.metrics`), the same disaggregated by device brand, ethnicity cue and skin-tone
group with n photos and persons per group (`vitalens.evaluation.fairness.disaggregate`), and a
label-permutation test of both colour models.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from vitalens import DISCLAIMER
from vitalens.data.shared import find_shared_dataset, missing_dataset_message
from vitalens.evaluation.fairness import disaggregate
from vitalens.evaluation.metrics import regression_metrics
from vitalens.tasks.hb_lips.contact_sheet import contact_sheet
from vitalens.tasks.hb_lips.data import load_lips
from vitalens.tasks.hb_lips.lip_colour import NORMALISED_FEATURES, RAW_LIP_FEATURES
from vitalens.tasks.hb_lips.training import AUDIT_BY, LIP_MODEL_FEATURES, RIDGE_ALPHA, lip_feature_table, lopo_predictions, make_lip_model, permutation_p_value

META_FEATURES = ("skin_tone_group", "distance_band", "device_brand", "camera_type")
PERMUTATIONS = 500
SHIPPED = "ridge raw lip (shipped)"


STARTER = "lips-starter/images"


def skin_relative_model():
    # Cut-out lips have no skin reference: their normalised features are NaN and take the training median.
    return make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), Ridge(alpha=RIDGE_ALPHA))


def fused_model():
    transform = ColumnTransformer(
        [
            ("colour", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), list(NORMALISED_FEATURES)),
            ("meta", OneHotEncoder(handle_unknown="ignore"), list(META_FEATURES)),
        ]
    )
    return make_pipeline(transform, Ridge(alpha=RIDGE_ALPHA))


assert LIP_MODEL_FEATURES == RAW_LIP_FEATURES, "the shipped model changed: update MODELS"
MODELS = {
    "mean (training folds)": (list(NORMALISED_FEATURES), DummyRegressor),
    SHIPPED: (list(RAW_LIP_FEATURES), make_lip_model),
    "ridge lip/skin": (list(NORMALISED_FEATURES), skin_relative_model),
    "ridge lip/skin + meta": (list(NORMALISED_FEATURES + META_FEATURES), fused_model),
}


def print_overall(y: np.ndarray, predictions: dict[str, np.ndarray]) -> None:
    print(f"\n{'model':24s} {'n':>3s} {'MAE':>6s} {'RMSE':>6s} {'R2':>6s} {'BA bias':>8s} {'BA 95% limits':>16s}")
    for name, predicted in predictions.items():
        m = regression_metrics(y, predicted)
        limits = f"[{m['loa_low']:.2f}, {m['loa_high']:.2f}]"
        print(f"{name:24s} {m['n']:3d} {m['mae']:6.2f} {m['rmse']:6.2f} {m['r2']:6.2f} {m['bias']:8.2f} {limits:>16s}")


def print_disaggregated(table, predictions: dict[str, np.ndarray]) -> None:
    y = table["hb_true"].to_numpy()
    for attribute in AUDIT_BY:
        persons = table.groupby(attribute)["group"].nunique()
        print(f"\nby {attribute} (MAE g/dL; n photos / persons)")
        tables = {name: disaggregate(y, p, table[attribute], n_boot=200) for name, p in predictions.items()}
        first = next(iter(tables.values()))
        print(f"  {'group':18s} {'n':>3s} {'pers':>4s} " + " ".join(f"{name:>23s}" for name in tables))
        for group in first.index:
            cells = " ".join(f"{frame.loc[group, 'mae']:23.2f}" for frame in tables.values())
            print(f"  {str(group):18s} {int(first.loc[group, 'n']):3d} {persons[group]:4d} {cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=find_shared_dataset(STARTER))
    parser.add_argument("--permutations", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--contact-sheet", type=Path, help="also draw the lip boxes of every photo into this PNG")
    args = parser.parse_args()
    if args.data is None or not args.data.is_dir():
        raise SystemExit(f"{args.data}: not found; pass --data DIR (the lips starter images)." if args.data else missing_dataset_message(STARTER))
    started = time.perf_counter()
    table, problems = lip_feature_table(load_lips(args.data))
    for problem in problems:
        print(f"skipped {problem.source}: {problem.reason}")
    print(f"{len(table)} photos, {table['group'].nunique()} persons; lip regions: {table['region'].value_counts().to_dict()}; skipped: {len(problems)}")
    print(f"features built in {time.perf_counter() - started:.1f} s; split: leave one person out ({table['group'].nunique()} folds)")
    predictions = {name: lopo_predictions(table, cols, make) for name, (cols, make) in MODELS.items()}
    print_overall(table["hb_true"].to_numpy(), predictions)
    print_disaggregated(table, predictions)
    per_photo = table[["image_id", "group", "hb_true"]].assign(**{name: np.round(p, 1) for name, p in predictions.items()})
    print("\nper photo (out-of-fold predictions):")
    print(per_photo.to_string(index=False))
    if args.permutations:
        print(f"\npermutation test ({PERMUTATIONS} shuffles of Hb across photos; p = share at least as good):")
        for name in (SHIPPED, "ridge lip/skin"):
            cols, make = MODELS[name]
            observed = float(np.mean(np.abs(predictions[name] - table["hb_true"])))
            print(f"  {name}: LOPO MAE {observed:.2f}, p = {permutation_p_value(table, cols, make, PERMUTATIONS):.3f}")
    if args.contact_sheet:
        contact_sheet(load_lips(args.data), args.contact_sheet)
        print(f"\ncontact sheet of lip boxes: {args.contact_sheet} (shows the photos: do not publish it)")
    print(f"\n{DISCLAIMER}")


if __name__ == "__main__":
    main()
