"""Plausible ranges of a model's estimates (the rules file's input_limits): outside them, refuse."""

from __future__ import annotations

import math

from vitalens.interpretation import load_rules

IMPLAUSIBLE_TIP = "the photo is probably not one this model can read: retake it {how}"  # a task says how


def implausible_estimate(field: str, estimate: float, unit: str) -> str | None:
    """Why a model's estimate is refused, or None when it lies in the plausible range `input_limits[field]`.

    An estimate outside that range (31 g/dL, -3 g/dL, an age of 140) says the photo is not one the model
    can read; clipping it to the range would pass a made-up number off as a measurement."""
    low, high = load_rules()["input_limits"][field]
    value = float(estimate)
    if math.isfinite(value) and low <= value <= high:
        return None
    return f"estimate {value:.1f} {unit} is outside the plausible {low:g}-{high:g} {unit}"
