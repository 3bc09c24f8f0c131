"""Regression heads chosen by name, all scikit-learn estimators.

`median` is linear quantile regression at the median: it minimises absolute error, which is the
metric screening cares about, and a few extreme readings pull it less than least squares. Its
regularisation is chosen by an inner group-aware CV, never by the outer test folds.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.linear_model import QuantileRegressor, RidgeCV
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

RIDGE_ALPHAS = np.logspace(-3, 3, 25)
MEDIAN_ALPHAS = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)


class GroupTunedRegressor(BaseEstimator, RegressorMixin):
    """Grid-searches `param_grid` with GroupKFold on the groups passed to `fit`, then refits."""

    def __init__(self, estimator, param_grid: dict, n_splits: int = 4):
        self.estimator = estimator
        self.param_grid = param_grid
        self.n_splits = n_splits

    def fit(self, X, y, groups=None):
        groups = np.arange(len(y)) if groups is None else np.asarray(groups)
        n_splits = min(self.n_splits, len(np.unique(groups)))
        if n_splits < 2:
            self.best_estimator_ = clone(self.estimator).fit(X, y)
            return self
        search = GridSearchCV(clone(self.estimator), self.param_grid, cv=GroupKFold(n_splits), scoring="neg_mean_absolute_error")
        search.fit(X, y, groups=groups)
        self.best_estimator_ = search.best_estimator_
        self.best_params_ = search.best_params_
        return self

    def predict(self, X):
        return self.best_estimator_.predict(X)


class BalancedRegressor(BaseEstimator, RegressorMixin):
    """`estimator` fitted with each row weighted by the inverse frequency of its target's bin, so a rare
    range (severe anaemia: 13 of 197 development photos) pulls the fit as much as the common one instead
    of being shrunk to the mean. sklearn has no target-density weighting for regression, hence this."""

    def __init__(self, estimator, edges: tuple[float, ...] = (8.0, 11.0, 13.0), weight_step: str = "ridgecv"):
        self.estimator = estimator
        self.edges = edges
        self.weight_step = weight_step

    def fit(self, X, y, groups=None):
        bins = np.digitize(np.asarray(y, float), self.edges)
        counts = np.bincount(bins, minlength=len(self.edges) + 1).astype(float)
        weights = (len(y) / (np.count_nonzero(counts) * counts))[bins]
        self.estimator_ = clone(self.estimator).fit(X, y, **{f"{self.weight_step}__sample_weight": weights})
        return self

    def predict(self, X):
        return self.estimator_.predict(X)


def _ridge() -> Pipeline:
    return make_pipeline(StandardScaler(), RidgeCV(alphas=RIDGE_ALPHAS))


def _median() -> GroupTunedRegressor:
    pipeline = make_pipeline(StandardScaler(), QuantileRegressor(quantile=0.5, solver="highs"))
    return GroupTunedRegressor(pipeline, {"quantileregressor__alpha": list(MEDIAN_ALPHAS)})


def _catboost():
    from catboost import CatBoostRegressor

    return CatBoostRegressor(iterations=500, depth=4, learning_rate=0.03, loss_function="MAE", verbose=0, thread_count=2, random_seed=0, allow_writing_files=False)


HEADS: dict[str, Callable[[], BaseEstimator]] = {
    "ridge": _ridge,
    "ridge_balanced": lambda: BalancedRegressor(_ridge()),
    "median": _median,
    "catboost": _catboost,
}


def make_head(name: str) -> BaseEstimator:
    if name not in HEADS:
        raise KeyError(f"unknown head {name!r}; choose one of {sorted(HEADS)}")
    return HEADS[name]()


def fit_head(head: BaseEstimator, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None) -> BaseEstimator:
    if isinstance(head, GroupTunedRegressor):
        return head.fit(X, y, groups=groups)
    return head.fit(X, y)


def linear_parameters(head: BaseEstimator) -> tuple[np.ndarray, float]:
    """Weights and bias in raw feature space, folding the scaler in, for export as one matrix product."""
    fitted = head.best_estimator_ if isinstance(head, GroupTunedRegressor) else head
    fitted = fitted.estimator_ if isinstance(fitted, BalancedRegressor) else fitted
    if not isinstance(fitted, Pipeline) or not isinstance(fitted[0], StandardScaler):
        raise TypeError(f"{type(fitted).__name__} is not a scaled linear model; only ridge and median heads export to ONNX")
    scaler, linear = fitted[0], fitted[-1]
    weights = np.asarray(linear.coef_, dtype=np.float64).ravel() / scaler.scale_
    bias = float(np.ravel(linear.intercept_)[0] - np.dot(weights, scaler.mean_))
    return weights, bias
