"""Nested, session-grouped selection: the model choice is made inside each outer training fold.

A plain leave-one-session-out MAE of the configuration that won among several ideas on those same
folds carries the selection inside the number (optimistic). Here the outer loop holds sessions out;
inside each outer training fold an inner grouped K-fold by session chooses among `CANDIDATES` (a pool
of candidate names can be passed instead: benchmarks/hb_nails_nested.py tries larger ones); the
winner is refitted on the outer training fold and estimates the held-out sessions. The photos are
decoded once (`PreparedData`) and each candidate feature set is extracted once (`FeatureCache`):
only the heads are refitted, so the nested run stays a few minutes on two cores.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
from rich.progress import track

from vitalens.evaluation.splits import assert_no_leakage, grouped_splits
from vitalens.tasks._haemoglobin.config import RunConfig
from vitalens.tasks.hb_nails.model import NailHbRegressor
from vitalens.tasks.hb_nails.training import PreparedData, fold_predict, fold_row, interval_check, predictions_frame

# (features, head): small on purpose, every inner fold refits each of them
CANDIDATES: tuple[tuple[str, str], ...] = (("colour", "ridge"), ("colour", "median"), ("colour_red", "ridge"), ("colour_red", "median"))
INNER_SPLITS = 4
OPTIMISTIC_LABEL = "optimistic (selected on the same folds)"


def candidate_name(candidate: tuple[str, str]) -> str:
    return "+".join(candidate)


CANDIDATE_NAMES = tuple(map(candidate_name, CANDIDATES))


def candidate_config(config: RunConfig, name: str) -> RunConfig:
    """`config` with the features and head of candidate `name`: what train saves and export reads."""
    features, head = name.split("+")
    return dataclasses.replace(config, features=features, head=head)


class FeatureCache:
    """Each candidate feature set's rows (one per nail), extracted once for every fold that needs them."""

    def __init__(self, data: PreparedData, config: RunConfig):
        self.data, self.config = data, config
        self.y, self.groups = data.y, data.groups
        self._tables: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def add_table(self, features: str, X: np.ndarray, photo_index: np.ndarray) -> None:
        """Feature rows computed elsewhere (a probe's candidate that is not an extractor yet)."""
        self._tables[features] = (np.asarray(X, dtype=np.float64), np.asarray(photo_index))

    def prepare(self, candidates: tuple[str, ...]) -> None:
        """Extract every candidate's feature table now (else each is made the first time a fold needs it)."""
        for name in candidates:
            model = NailHbRegressor(**candidate_config(self.config, name).model_params())
            if model.features not in self._tables:
                self._tables[model.features] = model.transform(self.data.regions)

    def fit_predict(self, name: str, train: np.ndarray, test: np.ndarray) -> np.ndarray:
        """Candidate `name` fitted on photos `train`, its estimates for photos `test`."""
        model = NailHbRegressor(**candidate_config(self.config, name).model_params())
        if model.features not in self._tables:
            self._tables[model.features] = model.transform(self.data.regions)
        X, photo_index = self._tables[model.features]
        return fold_predict(model, X, photo_index, self.y, self.groups, np.sort(train), np.sort(test))


def inner_scores(cache: FeatureCache, photos: np.ndarray, seed: int, candidates: tuple[str, ...]) -> dict[str, float]:
    """Every candidate's MAE under a grouped K-fold by session over `photos` only (pooled over photos)."""
    photos = np.sort(photos)
    groups = cache.groups[photos]
    splits = list(grouped_splits(groups, "kfold", min(INNER_SPLITS, len(np.unique(groups))), seed))
    scores = {}
    for name in candidates:
        predicted = np.full(len(photos), np.nan)
        for train, test in splits:
            predicted[test] = cache.fit_predict(name, photos[train], photos[test])
        scores[name] = float(np.mean(np.abs(predicted - cache.y[photos])))
    return scores


def choose(scores: dict[str, float]) -> str:
    """The lowest inner MAE; a tie goes to the earlier (simpler) candidate in `CANDIDATES`."""
    return min(scores, key=scores.get)


@dataclass
class NestedValidation:
    predictions: pd.DataFrame  # nested out-of-fold estimates, one row per photo
    folds: pd.DataFrame  # one row per outer fold: chosen candidate, MAE, interval coverage
    conformal: dict
    candidates: list[dict]  # per outer fold: every candidate's inner MAE and the winner
    optimistic: dict
    timings: dict = field(default_factory=dict)


def outer_fold(cache: FeatureCache, train: np.ndarray, test: np.ndarray, seed: int, candidates: tuple[str, ...]) -> tuple[dict[str, float], str, np.ndarray]:
    """One outer fold: every candidate's inner score, the winner, and its estimates for the held-out photos
    (a module-level function, so `--engine ray` can run the folds as Ray tasks)."""
    scores = inner_scores(cache, train, seed, candidates)
    chosen = choose(scores)
    return scores, chosen, cache.fit_predict(chosen, train, test)


def serial_map(function: Callable, arguments: list[tuple], show_progress: bool = False) -> list:
    return [function(*args) for args in (track(arguments, description="nested outer folds") if show_progress else arguments)]


def nested_cross_validate(data: PreparedData, config: RunConfig, show_progress: bool = True, candidates: tuple[str, ...] = CANDIDATE_NAMES,
                          cache: FeatureCache | None = None, map_folds: Callable | None = None) -> NestedValidation:  # fmt: skip
    """Outer split by `config.scheme` (leave-one-session-out by default), inner selection per outer fold;
    `map_folds(function, arguments)` runs the folds (in order here by default; `Job.map` for Ray)."""
    started = time.perf_counter()
    cache = cache or FeatureCache(data, config)
    y, groups = data.y, data.groups
    predicted, baseline, fold_of = np.full(len(y), np.nan), np.full(len(y), np.nan), np.full(len(y), -1)
    outer = list(grouped_splits(groups, config.scheme, config.n_splits, config.seed))
    for train, test in outer:
        assert_no_leakage(groups, train, test)
    if map_folds is not None:
        cache.prepare(candidates)  # every feature table once, before the cache is shipped to the workers
    runs = (map_folds or (lambda f, a: serial_map(f, a, show_progress)))(outer_fold, [(cache, train, test, config.seed, candidates) for train, test in outer])
    log, rows = [], []
    for fold, ((train, test), (scores, chosen, estimates)) in enumerate(zip(outer, runs)):
        predicted[test] = estimates
        baseline[test], fold_of[test] = y[train].mean(), fold
        test_groups = ";".join(sorted(set(groups[test])))
        log.append({"fold": fold, "test_groups": test_groups, "inner_mae": scores, "chosen": chosen})
        rows.append({**fold_row(fold, groups[test], y[test], predicted[test], baseline[test]), "chosen": chosen})
    conformal = interval_check(y, predicted, outer, groups, config.interval_coverage)
    for row, fold_coverage in zip(rows, conformal["by_fold"]):
        row["interval_coverage"], row["interval_mean_width"] = fold_coverage["coverage"], fold_coverage["mean_width"]
    predictions = predictions_frame(data, fold_of, predicted, baseline).assign(chosen=[log[f]["chosen"] for f in fold_of])
    optimistic = optimistic_figure(cache, outer, candidates)
    timings = {"nested_s": time.perf_counter() - started, "n_folds": len(outer), "inner_splits": INNER_SPLITS}
    return NestedValidation(predictions, pd.DataFrame(rows), conformal, log, optimistic, timings)


def fixed_candidate_predictions(cache: FeatureCache, outer: list[tuple[np.ndarray, np.ndarray]], name: str) -> np.ndarray:
    """Out-of-fold estimates of one fixed candidate over the outer folds (no selection inside)."""
    predicted = np.full(len(cache.y), np.nan)
    for train, test in outer:
        predicted[test] = cache.fit_predict(name, train, test)
    return predicted


def optimistic_figure(cache: FeatureCache, outer: list[tuple[np.ndarray, np.ndarray]], candidates: tuple[str, ...]) -> dict:
    """Every candidate's plain outer-fold MAE; the best of them is what single-protocol selection would publish."""
    by_candidate = {name: float(np.mean(np.abs(fixed_candidate_predictions(cache, outer, name) - cache.y))) for name in candidates}
    best = choose(by_candidate)
    return {"label": OPTIMISTIC_LABEL, "candidate": best, "mae": by_candidate[best], "mae_by_candidate": by_candidate}


def final_choice(cache: FeatureCache) -> dict:
    """The candidate the same inner CV chooses on every session: what `train` fits on all the data."""
    scores = inner_scores(cache, np.arange(len(cache.y)), cache.config.seed, CANDIDATE_NAMES)
    return {"chosen": choose(scores), "inner_mae": scores,
            "how": f"lowest MAE under grouped {INNER_SPLITS}-fold by session over all sessions, then refitted on all photos"}  # fmt: skip


def nested_markdown(report: dict) -> str:
    """The report.md section the spine's writer does not know: the selection, fold by fold."""
    names = list(report["candidates"][0]["inner_mae"])
    lines = ["", "## Nested selection", "", f"Candidates (features+head): {', '.join(names)}; inner grouped {INNER_SPLITS}-fold by session inside each outer training fold.",
             "", "| outer fold | held out | " + " | ".join(names) + " | chosen |", "|---" * (len(names) + 3) + "|"]  # fmt: skip
    for entry in report["candidates"]:
        lines.append(f"| {entry['fold']} | {entry['test_groups']} | " + " | ".join(f"{entry['inner_mae'][n]:.3f}" for n in names) + f" | {entry['chosen']} |")
    optimistic = report["optimistic"]
    lines += ["", f"Nested MAE {report['model']['mae']:.3f} g/dL; mean predictor {report['mean_predictor']['mae']:.3f}; "
              f"{optimistic['label']}: {optimistic['mae']:.3f} ({optimistic['candidate']})."]  # fmt: skip
    if "final_choice" in report:
        lines.append(f"Saved model: {report['final_choice']['chosen']} ({report['final_choice']['how']}).")
    return "\n".join(lines) + "\n"
