"""Anaemia detection at each child's own WHO cut-off (interpretation's age bands in months: in CP-AnemiC
10.5 g/dL for 6-23 months, 11.0 for 24-59, 11.5 from 60), beside the majority-class baseline (every child the commoner class)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score


def _detection(truth: np.ndarray, alarm: np.ndarray, score: np.ndarray) -> dict[str, float]:
    positives, negatives = truth.sum(), (~truth).sum()
    return {
        "sensitivity": float((alarm & truth).sum() / positives) if positives else float("nan"),
        "specificity": float((~alarm & ~truth).sum() / negatives) if negatives else float("nan"),
        "roc_auc": float(roc_auc_score(truth, score)) if 0 < positives < len(truth) else float("nan"),
    }


def who_age_detection(predictions: pd.DataFrame) -> dict[str, Any]:
    """Anaemic: true Hb below the child's cut-off; alarm: estimate below it; AUC ranks by the margin below it."""
    cutoff = predictions["who_cutoff"].to_numpy()
    truth = predictions["hb_true"].to_numpy() < cutoff
    margin = cutoff - predictions["hb_pred"].to_numpy()
    majority = np.full(len(truth), truth.mean() >= 0.5)
    return {
        "n": len(truth),
        "prevalence": float(truth.mean()),
        "cutoffs_used": sorted(float(c) for c in np.unique(cutoff)),
        "model": _detection(truth, margin > 0, margin),
        "majority": {**_detection(truth, majority, np.zeros(len(truth))), "predicts": "anaemic" if majority[0] else "not anaemic"},
    }
