"""Leave-one-person-out evaluation of lip-colour Hb models on the lips starter set.

    PYTHONPATH=src python benchmarks/lips_lopo.py [--data ../shared/data/lips-starter/images]
        [--contact-sheet /tmp/lips_contact_sheet.png] [--no-permutations]

Every photo of a person is held out together (`Individual02` and its misspelling `Invividual02` are
one person; each `Random_*` photo is its own). Models: the mean of the training folds; Ridge on raw
lip colour; Ridge on lip colour normalised against the surrounding skin; the latter plus one-hot
metadata (skin-tone proxy, framing, device). Prints pooled out-of-fold MAE, RMSE, R2 and Bland-Altman,
the same disaggregated by device brand, ethnicity cue and skin-tone proxy (n per group), and a
label-permutation test of both colour models.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.model_selection import LeaveOneGroupOut, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from vitalens import DISCLAIMER
from vitalens.camera_metadata import meta_row
from vitalens.data.lips import load_lips
from vitalens.imaging import decode_image
from vitalens.lip_colour import LIP_COLOUR_FEATURES, NORMALISED_FEATURES, RAW_LIP_FEATURES, lip_colour_features
from vitalens.regions.contact_sheet import contact_sheet
from vitalens.regions.lips import find_lips
from vitalens.regression_audit import disaggregate, regression_metrics

RIDGE_ALPHA = 1.0  # fixed, not tuned: 19 photos leave nothing to tune on without leaking people
META_FEATURES = ("skin_tone_proxy", "distance_band", "device_brand", "camera_type")
AUDIT_BY = ("device_brand", "ethnicity", "skin_tone_proxy")
PERMUTATIONS = 500


def default_data_dir() -> Path:
    candidates = [Path(os.environ["VITALENS_SHARED_DATA"])] if os.environ.get("VITALENS_SHARED_DATA") else []
    candidates += [Path(__file__).resolve().parents[1].parent / "shared" / "data", Path("/work/shared/data")]
    return next((c for c in candidates if c.is_dir()), candidates[-1]) / "lips-starter" / "images"


def build_table(folder: Path) -> pd.DataFrame:
    dataset = load_lips(folder)
    for problem in dataset.problems:
        print(f"skipped {problem.source}: {problem.reason}")
    rows = []
    for sample in dataset.samples:
        decoded = decode_image(sample.image_path)
        region = find_lips(decoded.rgb).region
        features = (
            lip_colour_features(decoded.rgb, region.box, region.skin_box)
            if region
            else np.full(len(LIP_COLOUR_FEATURES), np.nan)
        )
        meta = meta_row(sample.image_id, decoded.metadata, decoded.rgb, region)
        rows.append(
            {
                "image_id": sample.image_id,
                "person": sample.group,
                "hb": sample.targets["hb"],
                "ethnicity": sample.attributes["ethnicity"],
                "region": region.method if region else "none",
                **dict(zip(LIP_COLOUR_FEATURES, features)),
                **{k: meta[k] for k in META_FEATURES},
            }
        )
    return pd.DataFrame(rows)


def colour_model():
    return make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), Ridge(alpha=RIDGE_ALPHA))


def fused_model():
    transform = ColumnTransformer(
        [
            ("colour", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), list(NORMALISED_FEATURES)),
            ("meta", OneHotEncoder(handle_unknown="ignore"), list(META_FEATURES)),
        ]
    )
    return make_pipeline(transform, Ridge(alpha=RIDGE_ALPHA))


MODELS = {
    "mean (training folds)": (list(NORMALISED_FEATURES), lambda: DummyRegressor(strategy="mean")),
    "ridge raw lip": (list(RAW_LIP_FEATURES), colour_model),
    "ridge lip/skin": (list(NORMALISED_FEATURES), colour_model),
    "ridge lip/skin + meta": (list(NORMALISED_FEATURES + META_FEATURES), fused_model),
}


def lopo_predictions(table: pd.DataFrame, columns: list[str], make_model, y: np.ndarray | None = None) -> np.ndarray:
    y = table["hb"].to_numpy() if y is None else y
    return cross_val_predict(make_model(), table[columns], y, groups=table["person"], cv=LeaveOneGroupOut())


def permutation_p_value(table: pd.DataFrame, columns: list[str], make_model, observed_mae: float, seed: int = 0) -> float:
    """Share of label shuffles whose LOPO MAE is at least as good as the real one."""
    rng = np.random.default_rng(seed)
    y = table["hb"].to_numpy()
    better = 0
    for _ in range(PERMUTATIONS):
        shuffled = rng.permutation(y)
        better += np.mean(np.abs(lopo_predictions(table, columns, make_model, shuffled) - shuffled)) <= observed_mae
    return (better + 1) / (PERMUTATIONS + 1)


def print_overall(table: pd.DataFrame, predictions: dict[str, np.ndarray]) -> None:
    print(f"\n{'model':24s} {'n':>3s} {'MAE':>6s} {'RMSE':>6s} {'R2':>6s} {'BA bias':>8s} {'BA 95% limits':>16s}")
    for name, predicted in predictions.items():
        m = regression_metrics(table["hb"], predicted)
        limits = f"[{m['ba_low']:.2f}, {m['ba_high']:.2f}]"
        print(f"{name:24s} {m['n']:3d} {m['mae']:6.2f} {m['rmse']:6.2f} {m['r2']:6.2f} {m['ba_bias']:8.2f} {limits:>16s}")


def print_disaggregated(table: pd.DataFrame, predictions: dict[str, np.ndarray]) -> None:
    for attribute in AUDIT_BY:
        persons = table.groupby(attribute)["person"].nunique()
        print(f"\nby {attribute} (MAE g/dL; n photos / persons)")
        frames = {name: disaggregate(table["hb"], p, table[attribute]).by_group for name, p in predictions.items()}
        groups = next(iter(frames.values())).index
        print(f"  {'group':18s} {'n':>3s} {'pers':>4s} " + " ".join(f"{name:>22s}" for name in frames))
        for group in groups:
            n = int(frames[next(iter(frames))].loc[group, "n"])
            cells = " ".join(f"{frame.loc[group, 'mae']:22.2f}" for frame in frames.values())
            print(f"  {str(group):18s} {n:3d} {persons[group]:4d} {cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--permutations", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--contact-sheet", type=Path, help="also draw the lip boxes of every photo into this PNG")
    args = parser.parse_args()
    if not args.data.is_dir():
        raise SystemExit(f"{args.data}: not found; pass --data DIR (the lips starter images).")
    started = time.perf_counter()
    table = build_table(args.data)
    print(f"{len(table)} photos, {table['person'].nunique()} persons; lip regions: {table['region'].value_counts().to_dict()}")
    print(f"features built in {time.perf_counter() - started:.1f} s; split: leave one person out ({table['person'].nunique()} folds)")
    predictions = {name: lopo_predictions(table, cols, make) for name, (cols, make) in MODELS.items()}
    print_overall(table, predictions)
    print_disaggregated(table, predictions)
    per_photo = table[["image_id", "person", "hb"]].assign(**{name: np.round(p, 1) for name, p in predictions.items()})
    print("\nper photo (out-of-fold predictions):")
    print(per_photo.to_string(index=False))
    if args.permutations:
        print(f"\npermutation test ({PERMUTATIONS} shuffles of Hb across photos; p = share at least as good):")
        for name in ("ridge raw lip", "ridge lip/skin"):
            cols, make = MODELS[name]
            observed = float(np.mean(np.abs(predictions[name] - table["hb"])))
            print(f"  {name}: LOPO MAE {observed:.2f}, p = {permutation_p_value(table, cols, make, observed):.3f}")
    if args.contact_sheet:
        contact_sheet(load_lips(args.data), args.contact_sheet)
        print(f"\ncontact sheet of lip boxes: {args.contact_sheet} (shows the photos: do not publish it)")
    print(f"\n{DISCLAIMER}")


if __name__ == "__main__":
    main()
