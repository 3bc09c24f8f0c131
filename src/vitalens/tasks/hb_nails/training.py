"""Grouped cross-validation and final fitting for the haemoglobin tasks.

Photos are decoded and their regions found once; features are computed once; only the heads are
refitted per fold, so leave-one-session-out stays cheap. Bad photos are skipped and counted.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from rich.progress import track

from vitalens.colour import ita_category
from vitalens.tasks._haemoglobin.config import RunConfig
from vitalens.data import Dataset, Problem, Sample
from vitalens.evaluation.splits import grouped_splits
from vitalens.imaging import ImageDecodeError, decode_image
from vitalens.tasks.hb_nails.model import NailHbRegressor
from vitalens.tasks.hb_nails.regions import NailRegions, nail_regions
from vitalens.interpretation import who_severity
from vitalens.interval_rules import Criterion, IntervalRule, nested_rule_check

# The interval rules the nested check chooses among (vitalens.interval_rules): one width for all, Mondrian
# bins of the estimate near the WHO cut-offs, each symmetric or with a quarter or half of the misses below.
# One width covered 23 % of severe-anaemia photos under nested checking, bins at 11/13 69 %; this list was
# written after looking at such outer-fold coverages of about 40 rules (benchmarks/hb_nails_nested.py logs
# them), so the nested coverage is not untouched by that look.
INTERVAL_RULES = tuple(IntervalRule(edges, share) for edges in ((), (11.0, 13.0), (12.0,)) for share in (None, 0.5, 0.25))
INTERVAL_CRITERION = Criterion(coverage=0.9, stratum_floor=0.85, min_stratum=10)


@dataclass
class PreparedData:
    samples: list[Sample]
    regions: list[NailRegions]
    problems: list[Problem]

    @property
    def y(self) -> np.ndarray:
        return np.array([s.targets["hb"] for s in self.samples], dtype=np.float64)

    @property
    def groups(self) -> np.ndarray:
        return np.array([s.group for s in self.samples])


@dataclass
class CrossValidation:
    predictions: pd.DataFrame  # one row per photo: out-of-fold model and mean-predictor estimates
    folds: pd.DataFrame
    conformal: dict
    timings: dict = field(default_factory=dict)


def prepare_nail_data(dataset: Dataset, crop_size: int = 32, show_progress: bool = True) -> PreparedData:
    samples, regions, problems = [], [], list(dataset.problems)
    items = track(dataset.samples, description="decoding photos") if show_progress else dataset.samples
    for sample in items:
        try:
            if "hb" not in sample.targets:
                raise ValueError("no 'hb' target")
            rgb = decode_image(sample.image_path).rgb
            regions.append(nail_regions(rgb, sample.boxes.get("nail", []), sample.boxes.get("skin", []), crop_size))
            samples.append(sample)
        except (ImageDecodeError, ValueError) as error:
            problems.append(Problem(str(sample.image_path), str(error)))
    for sample, region in zip(samples, regions):
        sample.attributes["skin_tone_ita"] = round(region.skin_tone_ita, 1)
        sample.attributes["skin_tone_group"] = ita_category(region.skin_tone_ita)
    return PreparedData(samples, regions, problems)


def cross_validate(data: PreparedData, config: RunConfig, show_progress: bool = True) -> CrossValidation:
    model = NailHbRegressor(**config.model_params())
    started = time.perf_counter()
    X, photo_index = model.transform(data.regions)
    feature_seconds = time.perf_counter() - started
    y, groups = data.y, data.groups
    predicted = np.full(len(y), np.nan)
    baseline = np.full(len(y), np.nan)
    fold_of = np.full(len(y), -1)
    fold_rows = []
    splits = list(grouped_splits(groups, config.scheme, config.n_splits, config.seed))
    started = time.perf_counter()
    for fold, (train, test) in enumerate(track(splits, description=f"{config.scheme} folds") if show_progress else splits):
        predicted[test] = fold_predict(model, X, photo_index, y, groups, train, test)
        baseline[test] = y[train].mean()
        fold_of[test] = fold
        fold_rows.append(fold_row(fold, groups[test], y[test], predicted[test], baseline[test]))
    fit_seconds = time.perf_counter() - started
    predictions = predictions_frame(data, fold_of, predicted, baseline)
    conformal = interval_check(y, predicted, splits, groups, config.interval_coverage)
    timings = {"features_s": feature_seconds, "fit_all_folds_s": fit_seconds, "n_folds": len(splits)}
    return CrossValidation(predictions, pd.DataFrame(fold_rows), conformal, timings)


def interval_check(y: np.ndarray, predicted: np.ndarray, outer: list, groups: np.ndarray, coverage: float) -> dict:
    """The interval rule chosen and checked on out-of-fold estimates, nested: each outer fold's rule chosen
    and calibrated on the other folds only, coverage per fold and per WHO band of the true Hb; the rule
    chosen on every session, with its reaches on all residuals, goes into the bundle."""
    criterion = dataclasses.replace(INTERVAL_CRITERION, coverage=coverage)
    return {**nested_rule_check(INTERVAL_RULES, y, predicted, outer, groups, who_severity(y), criterion), "calibrated_on": "out-of-fold residuals of the other outer folds"}


def fit_final(data: PreparedData, config: RunConfig) -> NailHbRegressor:
    return NailHbRegressor(**config.model_params()).fit(data.regions, data.y, data.groups)


def fold_predict(model: NailHbRegressor, X: np.ndarray, photo_index: np.ndarray, y: np.ndarray, groups: np.ndarray,
                 train: np.ndarray, test: np.ndarray) -> np.ndarray:  # fmt: skip
    """Fit the head on the photos `train` (ascending indices) from precomputed feature rows, estimate `test`."""
    train_rows, test_rows = np.isin(photo_index, train), np.isin(photo_index, test)
    # Re-index rows to positions within the fold so photo_index stays dense for the median.
    model.fit_features(X[train_rows], _dense(photo_index[train_rows]), y[train], groups[train])
    return model.predict_features(X[test_rows], _dense(photo_index[test_rows]))[0]


def predictions_frame(data: PreparedData, fold_of: np.ndarray, predicted: np.ndarray, baseline: np.ndarray) -> pd.DataFrame:
    """predictions.csv: one row per photo, its out-of-fold model and mean-predictor estimates."""
    return pd.DataFrame(
        {
            "image_id": [s.image_id for s in data.samples],
            "group": data.groups,
            "fold": fold_of,
            "hb_true": data.y,
            "hb_pred": predicted,
            "hb_mean_predictor": baseline,
            **{k: [s.attributes.get(k) for s in data.samples] for k in ("skin_tone_ita", "skin_tone_group")},
        }
    )


def _dense(photo_index: np.ndarray) -> np.ndarray:
    return np.unique(photo_index, return_inverse=True)[1]


def fold_row(fold, groups, y, predicted, baseline) -> dict:
    return {
        "fold": fold,
        "test_groups": ";".join(sorted(set(groups))),
        "n": len(y),
        "mae": float(np.mean(np.abs(predicted - y))),
        "mean_predictor_mae": float(np.mean(np.abs(baseline - y))),
    }
