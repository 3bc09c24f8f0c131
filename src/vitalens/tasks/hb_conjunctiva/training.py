"""Nested, hospital-grouped selection of the conjunctiva model (training world: sklearn, pandas).

Outer loop: leave one hospital out; its out-of-fold estimates are the reported numbers. Inside each outer
training fold an inner leave-one-hospital-out CV scores every candidate (a feature family or blend of
`features.FAMILIES` x a ridge penalty) and the best inner MAE is fitted on the outer training fold. The
candidate table logs each candidate's mean inner MAE over the outer folds (the nested score) and how often
it was chosen; the final model is the candidate the same inner CV picks on every hospital.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.linear_model import Ridge
from sklearn.model_selection import LeaveOneGroupOut
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from vitalens.data.samples import Dataset, Problem
from vitalens.imaging import ImageDecodeError, decode_image
from vitalens.interpretation import severity_band_edges
from vitalens.tasks.hb_conjunctiva.features import FAMILIES, conjunctiva_features

ALPHAS = (1.0, 10.0, 100.0)
BLENDS = {"rim+erythema": ("rim", "erythema"), "rim+white_patch": ("rim", "white_patch"), "all": tuple(FAMILIES)}
AUDIT_BY = ("sex", "age_band")
MODEL_FILE = "model.json"  # what train writes and export reads: the final head as plain numbers


def feature_sets() -> dict[str, tuple[str, ...]]:
    """Candidate name -> feature names: each family alone, then the blends."""
    sets = {family: names for family, names in FAMILIES.items()}
    sets.update({blend: tuple(n for family in families for n in FAMILIES[family]) for blend, families in BLENDS.items()})
    return sets


@dataclass(frozen=True)
class Candidate:
    features: str
    alpha: float
    names: tuple[str, ...] = ()  # columns outside features.FAMILIES (an embedding: benchmarks/hb_conjunctiva_embeddings.py)
    components: int | None = None  # PCA before the ridge, for wide inputs

    @property
    def name(self) -> str:
        pca = f" + pca({self.components})" if self.components else ""
        return f"{self.features}{pca} + ridge(alpha={self.alpha:g})"

    def columns(self) -> list[str]:
        return list(self.names or feature_sets()[self.features])

    def make(self) -> Pipeline:
        steps = [StandardScaler(), *([PCA(self.components, random_state=0)] if self.components else []), Ridge(alpha=self.alpha)]
        return make_pipeline(*steps)


CANDIDATES = tuple(Candidate(features, alpha) for features in feature_sets() for alpha in ALPHAS)


def age_band(months: float) -> str:
    return "6-23 months" if months < 24 else "24-59 months" if months < 60 else "60+ months"


def who_cutoff(months: float) -> float:
    """The WHO 2024 anaemia cut-off (g/dL) for a child of this age in months (interpretation's age bands)."""
    return severity_band_edges(age_years=months / 12.0).mild_below


def feature_table(dataset: Dataset) -> tuple[pd.DataFrame, list[Problem]]:
    rows, problems = [], []
    for sample in dataset.samples:
        try:
            features = conjunctiva_features(decode_image(sample.image_path).rgb)
        except ImageDecodeError as error:
            problems.append(Problem(str(sample.image_path), str(error)))
            continue
        if features is None:
            problems.append(Problem(str(sample.image_path), "too few tissue pixels to measure"))
            continue
        months = float(sample.attributes["age_months"])
        rows.append({"image_id": sample.image_id, "group": sample.group, "hb_true": sample.targets["hb"], "age_months": months,
                     "age_band": age_band(months), "sex": sample.attributes["sex"], "who_cutoff": who_cutoff(months), **features})  # fmt: skip
    return pd.DataFrame(rows), problems


def inner_scores(table: pd.DataFrame, candidates: tuple[Candidate, ...] = CANDIDATES) -> dict[str, float]:
    """Each candidate's leave-one-hospital-out MAE on `table` (the inner CV of one outer fold)."""
    y, groups = table["hb_true"].to_numpy(), table["group"].to_numpy()
    scores = {}
    for candidate in candidates:
        X = table[candidate.columns()].to_numpy()
        errors = np.zeros(len(y))
        for train, test in LeaveOneGroupOut().split(X, y, groups):
            errors[test] = np.abs(candidate.make().fit(X[train], y[train]).predict(X[test]) - y[test])
        scores[candidate.name] = float(errors.mean())
    return scores


def choose(table: pd.DataFrame, candidates: tuple[Candidate, ...] = CANDIDATES) -> tuple[Candidate, dict[str, float]]:
    scores = inner_scores(table, candidates)
    best = min(candidates, key=lambda c: scores[c.name])
    return best, scores


def outer_fold(table: pd.DataFrame, train: np.ndarray, test: np.ndarray, candidates: tuple[Candidate, ...]) -> tuple[str, dict[str, float], np.ndarray]:
    """One outer fold: the inner choice on the training hospitals, its scores, and its estimates for the held-out
    hospital (module level, so `--engine ray` can run the folds as Ray tasks)."""
    best, scores = choose(table.iloc[train], candidates)
    model = best.make().fit(table.iloc[train][best.columns()].to_numpy(), table["hb_true"].to_numpy()[train])
    return best.name, scores, model.predict(table.iloc[test][best.columns()].to_numpy())


def nested_cross_validation(table: pd.DataFrame, candidates: tuple[Candidate, ...] = CANDIDATES,
                            map_folds: Callable | None = None) -> tuple[pd.DataFrame, pd.DataFrame, list[dict[str, Any]]]:  # fmt: skip
    """(out-of-fold predictions, one row per outer fold, the candidate log); `map_folds(function, arguments)`
    runs the outer folds (in order here by default; `Job.map` for Ray)."""
    y, groups = table["hb_true"].to_numpy(), table["group"].to_numpy()
    predictions = table[["image_id", "group", "hb_true", "age_months", "age_band", "sex", "who_cutoff"]].copy()
    predictions["hb_pred"] = np.nan
    predictions["hb_mean_predictor"] = np.nan
    predictions["fold"] = -1
    outer = list(LeaveOneGroupOut().split(table, y, groups))
    runs = (map_folds or (lambda f, arguments: [f(*a) for a in arguments]))(outer_fold, [(table, train, test, candidates) for train, test in outer])
    folds, inner = [], []
    for fold, ((train, test), (chosen_name, scores, estimates)) in enumerate(zip(outer, runs)):
        inner.append(scores)
        predictions.iloc[test, predictions.columns.get_loc("hb_pred")] = estimates
        predictions.iloc[test, predictions.columns.get_loc("hb_mean_predictor")] = y[train].mean()
        predictions.iloc[test, predictions.columns.get_loc("fold")] = fold
        held = predictions.iloc[test]
        folds.append({"fold": fold, "held_out_hospital": groups[test][0], "n": len(test), "chosen": chosen_name,
                      "mae": float((held["hb_pred"] - held["hb_true"]).abs().mean()),
                      "mae_mean_predictor": float((held["hb_mean_predictor"] - held["hb_true"]).abs().mean())})  # fmt: skip
    chosen = pd.Series([f["chosen"] for f in folds]).value_counts().to_dict()
    log = [{"candidate": c.name, "nested_inner_mae": float(np.mean([s[c.name] for s in inner])), "times_chosen": int(chosen.get(c.name, 0))}
           for c in candidates]  # fmt: skip
    return predictions, pd.DataFrame(folds), sorted(log, key=lambda row: row["nested_inner_mae"])
