"""Haemoglobin from lip colour: the feature table, leave-one-person-out validation and the final fit
(training world; `benchmarks/lips_lopo.py` compares the alternatives on the same table).

The shipped model is Ridge on raw lip colour (`RAW_LIP_FEATURES`), the best of the models
`benchmarks/lips_lopo.py` compares on the lips starter set under leave-one-person-out (MAE 3.34 g/dL
against 3.96 for the mean predictor; lip relative to skin 3.45; with metadata 4.21). It is a weak
choice made on very little: 19 photos of 10 people, and a label-permutation test does not reject
'no signal' (p about 0.1). Raw colour also needs no skin reference, which cut-out lips lack. The
ridge penalty is fixed, not tuned: tuning on 10 people would overfit the folds.

Features come from `vitalens.tasks.hb_lips.lip_colour.measure_lips`, the same numpy function the runtime calls;
the bundle holds only the linear head (see `vitalens.tasks.hb_lips.export`).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import pandas as pd
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from vitalens.data import Dataset, Problem
from vitalens.evaluation.splits import grouped_splits
from vitalens.imaging import ImageDecodeError, decode_image
from vitalens.tasks._haemoglobin.config import RunConfig
from vitalens.tasks.hb_lips import TASK
from vitalens.tasks.hb_lips.camera import meta_row, skin_tone_group, skin_tone_ita
from vitalens.tasks.hb_lips.lip_colour import LIP_COLOUR_FEATURES, RAW_LIP_FEATURES, measure_lips
from vitalens.uncertainty import conformal_half_width, loso_conformal_coverage

MODEL_FILE = "model.json"  # in the run folder: what train writes and export reads (plain numbers, never a pickle)
FEATURES_NAME = "lip-colour-raw"
LIP_MODEL_FEATURES = RAW_LIP_FEATURES
RIDGE_ALPHA = 1.0
AUDIT_BY = TASK.audit_attributes
META_COLUMNS = ("device_brand", "camera_type", "distance_band")
MODEL_CHOICE = (
    "Ridge (alpha 1, not tuned) on standardised raw lip colour: the lowest leave-one-person-out MAE of the models "
    "benchmarks/lips_lopo.py compares (mean predictor; raw lip colour; lip relative to skin; lip relative to skin "
    "plus metadata). The data cannot support a finer choice: read the permutation test beside the MAE."
)

ModelFactory = Callable[[], object]


def make_lip_model() -> Pipeline:
    """The shipped model: standardised raw lip colour, then Ridge."""
    return make_pipeline(StandardScaler(), Ridge(alpha=RIDGE_ALPHA))


def lips_config(config: RunConfig) -> RunConfig:
    """hb-lips has one model (see the module docstring); the run records that one, whatever was asked."""
    return dataclasses.replace(config, task=TASK.name, features=FEATURES_NAME, head="ridge", scheme="loso", audit_attributes=list(AUDIT_BY))


def lip_feature_table(dataset: Dataset) -> tuple[pd.DataFrame, list[Problem]]:
    """One row per labelled photo whose lips were found and measured; every other photo is a Problem."""
    rows, problems = [], list(dataset.problems)
    for sample in dataset.samples:
        source = str(sample.image_path)
        if "hb" not in sample.targets:
            problems.append(Problem(source, "no 'hb' label; name the file like HgB_12.0gdl_Individual02_1.jpg"))
            continue
        try:
            decoded = decode_image(sample.image_path)
        except ImageDecodeError as error:
            problems.append(Problem(source, str(error)))
            continue
        measured = measure_lips(decoded.rgb)
        if measured.region is None:
            problems.append(Problem(source, f"no lips found: {measured.reason}"))
            continue
        if not np.isfinite(measured.select(LIP_MODEL_FEATURES)).all():
            problems.append(Problem(source, "too few usable lip pixels (dark, blown out or grey) to measure lip colour"))
            continue
        meta = meta_row(sample.image_id, decoded.metadata, decoded.rgb, measured.region)
        ita = skin_tone_ita(decoded.rgb, measured.region)
        rows.append(
            {
                "image_id": sample.image_id,
                "group": sample.group,
                "hb_true": float(sample.targets["hb"]),
                "ethnicity": sample.attributes.get("ethnicity", "unknown"),
                "region": measured.region.method,
                "skin_tone_ita": round(ita, 1) if ita is not None else np.nan,
                "skin_tone_group": skin_tone_group(ita),
                **{column: meta[column] for column in META_COLUMNS},
                **dict(zip(LIP_COLOUR_FEATURES, measured.features)),
            }
        )
    return pd.DataFrame(rows), problems


def lopo_predictions(table: pd.DataFrame, columns, make_model: ModelFactory, y: np.ndarray | None = None) -> np.ndarray:
    """Out-of-fold predictions, every photo of a person held out together."""
    y = table["hb_true"].to_numpy() if y is None else y
    X = table[list(columns)]
    predicted = np.full(len(y), np.nan)
    for train, test in grouped_splits(table["group"].to_numpy(), "loso"):
        predicted[test] = make_model().fit(X.iloc[train], y[train]).predict(X.iloc[test])
    return predicted


def permutation_p_value(table: pd.DataFrame, columns, make_model: ModelFactory, permutations: int, seed: int = 0) -> float:
    """Share of Hb shuffles across photos whose LOPO MAE is at least as good as the real one's."""
    y = table["hb_true"].to_numpy()
    observed = np.mean(np.abs(lopo_predictions(table, columns, make_model) - y))
    rng = np.random.default_rng(seed)
    better = 0
    for _ in range(permutations):
        shuffled = rng.permutation(y)
        better += np.mean(np.abs(lopo_predictions(table, columns, make_model, shuffled) - shuffled)) <= observed
    return (better + 1) / (permutations + 1)


def cross_validate_lips(table: pd.DataFrame, config: RunConfig) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """LOPO predictions of the model and the mean predictor, per-fold rows, and the conformal interval."""
    y, groups = table["hb_true"].to_numpy(), table["group"].to_numpy()
    predicted = lopo_predictions(table, LIP_MODEL_FEATURES, make_lip_model)
    baseline = lopo_predictions(table, LIP_MODEL_FEATURES, DummyRegressor)
    fold_of = np.full(len(y), -1)
    fold_rows = []
    for fold, (_, test) in enumerate(grouped_splits(groups, "loso")):
        fold_of[test] = fold
        fold_rows.append({"fold": fold, "test_groups": ";".join(sorted(set(groups[test]))), "n": len(test),
                          "mae": float(np.mean(np.abs(predicted[test] - y[test]))),
                          "mean_predictor_mae": float(np.mean(np.abs(baseline[test] - y[test])))})
    predictions = table[["image_id", "group"]].assign(fold=fold_of, hb_true=y, hb_pred=predicted, hb_mean_predictor=baseline)
    predictions = pd.concat([predictions, table[["region", "skin_tone_ita", *AUDIT_BY]]], axis=1)
    conformal = loso_conformal_coverage(y, predicted, groups, config.interval_coverage)
    conformal["half_width_all"] = conformal_half_width(y - predicted, config.interval_coverage)
    return predictions, pd.DataFrame(fold_rows), conformal


def fit_lip_model(table: pd.DataFrame) -> Pipeline:
    """The shipped model fitted on every usable photo (arrays, as the runtime feeds them)."""
    return make_lip_model().fit(table[list(LIP_MODEL_FEATURES)].to_numpy(), table["hb_true"].to_numpy())
