"""The SYNTHETIC skin-tone stress test: does the audit find a planted bias, and does normalising lip
colour against the surrounding skin reduce it?

Train on a SYNTHETIC set where dark tones are rare (as in most real collections), test on a
balanced one, and audit MAE, RMSE and bias per tone group (`vitalens.evaluation.fairness.disaggregate`,
fairlearn's MetricFrame with bootstrap CIs) for two Ridge models: one on raw lip colour, one on lip
colour relative to skin. Used by `tests/test_synthetic_fairness.py` and
`benchmarks/synthetic_fairness.py`. Numbers from here describe the synthetic model only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import Ridge
from sklearn.metrics import root_mean_squared_error
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from vitalens.evaluation.fairness import absolute_error_mean, disaggregate, group_gap, signed_error_mean
from vitalens.evaluation.metrics import regression_metrics
from vitalens.tasks.hb_lips.lip_colour import LIP_COLOUR_FEATURES, NORMALISED_FEATURES, RAW_LIP_FEATURES, lip_colour_features
from vitalens.tasks.hb_lips.synthetic import SYNTHETIC, SyntheticLips, make_synthetic_lips

TRAIN_MIX = {"light": 0.70, "medium": 0.25, "dark": 0.05}
TEST_MIX = {"light": 1.0, "medium": 1.0, "dark": 1.0}
FEATURE_SETS = {"raw lip colour": RAW_LIP_FEATURES, "lip relative to skin": NORMALISED_FEATURES}
TONE_METRICS = {"mae": absolute_error_mean, "rmse": root_mean_squared_error, "bias": signed_error_mean}


@dataclass
class ToneAudit:
    """Per-model tables over SYNTHETIC tone groups (one row per tone: n, MAE, RMSE, bias, bootstrap CIs)
    and pooled metrics, with the mean predictor as a baseline."""

    by_group: dict[str, pd.DataFrame]
    overall: dict[str, dict[str, float]]
    label: str = SYNTHETIC

    def gap(self, model: str) -> float:
        return group_gap(self.by_group[model], "mae")


def synthetic_features(lips: SyntheticLips) -> np.ndarray:
    return np.array([lip_colour_features(image, lips.lip_box, lips.skin_box) for image in lips.images])


def run_tone_audit(n_train: int = 900, n_test: int = 900, seed: int = 0, shuffle_groups: bool = False, n_boot: int = 200) -> ToneAudit:
    """Fit both models on a light-heavy SYNTHETIC set and audit them on a balanced one.

    `shuffle_groups` permutes the tone labels of the test set: a control under which no real gap
    exists, so the audit should find none.
    """
    train = make_synthetic_lips(n_train, TRAIN_MIX, seed=seed)
    test = make_synthetic_lips(n_test, TEST_MIX, seed=seed + 1)
    x_train, x_test = synthetic_features(train), synthetic_features(test)
    groups = np.random.default_rng(seed).permutation(test.tone) if shuffle_groups else test.tone
    column = {name: i for i, name in enumerate(LIP_COLOUR_FEATURES)}
    predictions = {"mean predictor": DummyRegressor().fit(x_train, train.hb).predict(x_test)}
    for name, features in FEATURE_SETS.items():
        keep = [column[f] for f in features]
        model = make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(x_train[:, keep], train.hb)
        predictions[name] = model.predict(x_test[:, keep])
    tone = pd.Series(groups, name="tone")
    by_group = {name: disaggregate(test.hb, p, tone, TONE_METRICS, n_boot=n_boot, seed=seed) for name, p in predictions.items()}
    return ToneAudit(by_group, {name: regression_metrics(test.hb, p) for name, p in predictions.items()})
