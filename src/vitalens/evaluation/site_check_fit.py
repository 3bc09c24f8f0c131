"""Fitting a task's site check (vitalens.site_check) on the *tuning* half of every site's photos only.

Positives are the task's own site, negatives every other site plus synthetic images. The regularisation
C is chosen by grouped 5-fold cross-validation inside the tuning half (groups: session, person,
hospital or image, never split), every candidate logged; the threshold is the out-of-fold score at
which `own_rate` of the task's own photos pass. The test half (benchmarks/wrong_photos.py) grades it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.progress import track
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import StandardScaler

from vitalens.evaluation.sites import SITES, site_groups, site_photos, synthetic_images
from vitalens.imaging import ImageDecodeError, decode_image
from vitalens.site_check import site_features

CANDIDATE_C = (0.01, 0.1, 1.0, 10.0)
OWN_RATE = 0.97  # aim a little above the 95 % the test half must reach
NEGATIVES_PER_SITE = 400
SYNTHETIC_SEEDS = range(1, 9)  # the test half's synthetic images use seed 0


@dataclass
class Examples:
    features: np.ndarray
    positive: np.ndarray
    groups: np.ndarray
    site: np.ndarray


def tuning_examples(own_site: str, positives_cap: int = 1500) -> Examples:
    rows, positive, groups, sites = [], [], [], []
    for site in SITES:
        cap = positives_cap if site == own_site else NEGATIVES_PER_SITE
        group_of = site_groups(site)
        for path in track(site_photos(site, "tune", cap), description=f"site check: {site}", transient=True):
            try:
                rgb = decode_image(path).rgb
            except ImageDecodeError:
                continue
            rows.append(site_features(rgb))
            positive.append(site == own_site)
            groups.append(f"{site}:{group_of.get(Path(path), path.name)}")
            sites.append(site)
    for seed in SYNTHETIC_SEEDS:
        for name, rgb in synthetic_images(seed=seed).items():
            rows.append(site_features(rgb))
            positive.append(False)
            groups.append(f"synthetic:{name}")  # one group per kind: a kind is never on both sides of a fold
            sites.append("synthetic")
    return Examples(np.array(rows), np.array(positive), np.array(groups), np.array(sites))


def _model(c: float) -> tuple[StandardScaler, LogisticRegression]:
    return StandardScaler(), LogisticRegression(C=c, class_weight="balanced", max_iter=5000)


def out_of_fold_scores(examples: Examples, c: float, folds: int = 5) -> np.ndarray:
    scores = np.zeros(len(examples.positive))
    for train, test in GroupKFold(n_splits=folds).split(examples.features, examples.positive, examples.groups):
        scaler, model = _model(c)
        model.fit(scaler.fit_transform(examples.features[train]), examples.positive[train])
        scores[test] = model.decision_function(scaler.transform(examples.features[test]))
    return scores


def fit_site_check(own_site: str, tip: str, own_rate: float = OWN_RATE) -> dict:
    """The bundle.json "site_check" entry for a task whose photos are of `own_site`, with its selection log."""
    return fit_check(tuning_examples(own_site), own_site, tip, own_rate)


def fit_check(examples: Examples, own_site: str, tip: str, own_rate: float = OWN_RATE,
              features: str = "vitalens.site_check.site_features (64 x 64 box-filtered; 102 numbers)") -> dict:  # fmt: skip
    """A site_check-shaped entry (scored by vitalens.site_check.site_score) fitted on any `examples`: whole
    photos for the spine's check, or a task's regions (e.g. the lips' box) for a check of its own."""
    log, best = [], None
    for c in CANDIDATE_C:
        scores = out_of_fold_scores(examples, c)
        threshold = float(np.quantile(scores[examples.positive], 1 - own_rate))
        others = scores[~examples.positive]
        row = {"C": c, "threshold": threshold, "own_pass_rate": float((scores[examples.positive] >= threshold).mean()),
               "others_pass_rate": float((others >= threshold).mean()),
               "others_pass_by_site": {s: float((scores[examples.site == s] >= threshold).mean()) for s in sorted(set(examples.site)) if s != own_site}}  # fmt: skip
        log.append(row)
        if best is None or row["others_pass_rate"] < best["others_pass_rate"]:
            best = row
    scaler, model = _model(best["C"])
    model.fit(scaler.fit_transform(examples.features), examples.positive)
    return {
        "body_site": own_site,
        "tip": tip,
        "features": features,
        "mean": scaler.mean_.round(8).tolist(),
        "scale": scaler.scale_.round(8).tolist(),
        "weights": model.coef_[0].round(8).tolist(),
        "bias": round(float(model.intercept_[0]), 8),
        "threshold": round(best["threshold"], 6),
        "chosen": {"by": f"grouped 5-fold CV on the tuning half; C with the fewest other-site photos passing at {own_rate:.0%} own-site pass rate",
                   "C": best["C"], "own_pass_rate_cv": best["own_pass_rate"], "others_pass_rate_cv": best["others_pass_rate"],
                   "n_own": int(examples.positive.sum()), "n_others": int((~examples.positive).sum())},  # fmt: skip
        "candidates": log,
    }
