"""What both skin models train with: the run's configuration, a logistic regression copied into a linear
head, and uint8 pixels as a unit tensor.

Its own module so the two models (`network`'s phased fine-tune, `probe`'s depth probe) and the phases
that train the first can share them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from torch import nn


@dataclass
class SkinTrainingConfig:
    # Phase A: inverse L2 strength of the logistic head. Strong on purpose: at C = 0.5 the head fits the
    # training photos almost perfectly (training loss 0.02), which leaves phases C and B no signal.
    head_c: float = 0.01
    calibration_steps: int = 20  # phase B
    calibration_batch: int = 24
    calibration_lr: float = 3e-3
    calibration_prior: float = 1.0
    epochs: int = 7  # phase C
    patience: int = 3
    batch_size: int = 32
    lr_top: float = 1e-4
    lr_head: float = 1e-4
    weight_decay: float = 1e-4
    label_smoothing: float = 0.05
    balance: str = "class_weights"  # or "oversample"
    oversample_cap: float = 3.0
    distill_temperature: float = 2.0
    distill_weight: float = 0.7
    # The depth probe (vitalens.tasks.skin_condition.probe), the other candidate for shipping: its trunks and head strength.
    # Lite0 + Lite2 at C = 0.03, every block from the first third on: best out-of-fold over 5 grouped folds of the
    # regrouped train + validation among five depth rules and C 0.01-0.1 (benchmarks/skin_feature_probe.py --cv 5);
    # adding Lite1 scored +0.7 points (95 % CI -0.3 to +1.6) and all three would weigh ~25 MB, over the bundle limit.
    probe_backbones: tuple[str, ...] = ("efficientnet_lite0", "efficientnet_lite2")
    probe_c: float = 0.03
    probe_size: int = 192  # a multiple of 32 (see SkinProbe)
    probe_depth_rule: str = "all_from_first_third"  # one of probe.DEPTH_RULES
    # The probe recipe is also scored out-of-fold over this many grouped folds of train + validation (0: not),
    # a second estimate beside the held-out one with ~5x the photos per skin-type group.
    probe_cv_folds: int = 5
    seed: int = 0


def unit_batch(pixels: np.ndarray) -> torch.Tensor:
    """[B, S, S, 3] uint8 → [B, 3, S, S] float in [0, 1], the networks' input."""
    return torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2).float() / 255.0


def fit_logistic_head(head: nn.Linear, features: np.ndarray, labels: np.ndarray, c: float, max_iter: int) -> LogisticRegression:
    """A class-balanced logistic regression on (standardised) features, copied into a linear head."""
    logistic = LogisticRegression(C=c, class_weight="balanced", max_iter=max_iter).fit(features, labels)
    with torch.no_grad():
        head.weight.copy_(torch.from_numpy(logistic.coef_).float())
        head.bias.copy_(torch.from_numpy(logistic.intercept_).float())
    return logistic
