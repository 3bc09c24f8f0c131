"""Group-aware splits: a person, session or site never sits on both sides."""

from __future__ import annotations

from typing import Iterator

import numpy as np
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut, StratifiedGroupKFold

SCHEMES = ("loso", "kfold")


class LeakageError(AssertionError):
    """A group was found in both the training and the test side of a split."""


def grouped_splits(groups, scheme: str = "loso", n_splits: int = 3, seed: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Leave-one-group-out or grouped K-fold (shuffled by `seed`); every split is checked for leakage."""
    groups = np.asarray(groups)
    n_groups = len(np.unique(groups))
    if scheme == "loso":
        splitter = LeaveOneGroupOut()
    elif scheme == "kfold":
        if n_groups < n_splits:
            raise ValueError(f"grouped {n_splits}-fold needs at least {n_splits} groups; the data has {n_groups}")
        splitter = GroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    else:
        raise ValueError(f"unknown split scheme {scheme!r}; choose one of {SCHEMES}")
    for train, test in splitter.split(np.zeros(len(groups)), groups=groups):
        assert_no_leakage(groups, train, test)
        yield train, test


def assert_no_leakage(groups, train, test) -> None:
    groups = np.asarray(groups)
    shared = set(groups[train]) & set(groups[test])
    if shared:
        raise LeakageError(f"groups on both sides of a split: {sorted(shared)[:5]}")


def stratified_group_holdout(labels, groups, n_parts: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(rest, held_out) indices: about 1/n_parts of the photos, stratified by label, whole groups only."""
    return next(stratified_grouped_folds(labels, groups, n_parts, seed))


def stratified_grouped_folds(labels, groups, n_splits: int, seed: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """K (train, scored) index pairs, stratified by label, whole groups only; each checked for leakage."""
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    for train, scored in splitter.split(np.zeros(len(labels)), np.asarray(labels), np.asarray(groups)):
        assert_no_leakage(groups, train, scored)
        yield train, scored
