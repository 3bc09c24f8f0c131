"""How much data a target needs: nested MAE against the number of training sessions, and its extrapolation.

For each size k, every session in turn is held out and the nested procedure (inner grouped selection,
then refit) trains on k of the other sessions drawn at random, a few draws per size. The fit
MAE = a + b / sqrt(k) (the usual shape of a learning curve) gives the plateau `a` and the figure at
sizes beyond the data; that is an extrapolation from four points, and the report says so.
"""

from __future__ import annotations

import numpy as np

from vitalens.tasks.hb_nails.nested import CANDIDATE_NAMES, FeatureCache, choose, inner_scores

SIZES = (4, 8, 12, 15)
EXTRAPOLATE_TO = (30, 60, 120)


def learning_curve(cache: FeatureCache, seed: int = 0, candidates: tuple[str, ...] = CANDIDATE_NAMES, repeats: int = 3, sizes=SIZES) -> dict:
    groups, y = cache.groups, cache.y
    sessions = np.unique(groups)
    points = []
    for k in (size for size in sizes if size < len(sessions)):
        maes = []
        for repeat in range(repeats if k < len(sessions) - 1 else 1):  # with all other sessions there is one draw
            rng = np.random.default_rng(seed + repeat)
            predicted = np.full(len(y), np.nan)
            for held_out in sessions:
                chosen_sessions = rng.permutation(sessions[sessions != held_out])[:k]
                train, test = np.flatnonzero(np.isin(groups, chosen_sessions)), np.flatnonzero(groups == held_out)
                predicted[test] = cache.fit_predict(choose(inner_scores(cache, train, seed, candidates)), train, test)
            maes.append(float(np.mean(np.abs(predicted - y))))
        points.append({"sessions": k, "nested_mae": float(np.mean(maes)), "draws": len(maes), "range": [min(maes), max(maes)]})
    k = np.array([p["sessions"] for p in points], dtype=float)
    (a, b), *_ = np.linalg.lstsq(np.stack([np.ones_like(k), 1 / np.sqrt(k)], axis=1), np.array([p["nested_mae"] for p in points]), rcond=None)
    return {"points": points, "fit": {"form": "mae = a + b / sqrt(sessions)", "a": float(a), "b": float(b)},
            "extrapolated": {str(n): float(a + b / np.sqrt(n)) for n in EXTRAPOLATE_TO},
            "note": "an extrapolation from the measured points, not a measurement"}  # fmt: skip
