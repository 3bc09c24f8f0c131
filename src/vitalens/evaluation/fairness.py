"""Disaggregated metrics with bootstrap confidence intervals, in fairlearn's MetricFrame shape."""

from __future__ import annotations

import re
from typing import Callable

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame

from vitalens.colour import ITA_CATEGORIES

Metric = Callable[[np.ndarray, np.ndarray], float]


def absolute_error_mean(y_true, y_pred) -> float:
    return float(np.mean(np.abs(np.asarray(y_pred, float) - np.asarray(y_true, float))))


def signed_error_mean(y_true, y_pred) -> float:
    return float(np.mean(np.asarray(y_pred, float) - np.asarray(y_true, float)))


REGRESSION_AUDIT: dict[str, Metric] = {"mae": absolute_error_mean, "bias": signed_error_mean}


def disaggregate(
    y_true,
    y_pred,
    sensitive: pd.Series,
    metrics: dict[str, Metric] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    worst: str = "max",
) -> pd.DataFrame:
    """One row per group: n, each metric, its bootstrap 95 % CI; the worst known group on the first metric is flagged.

    fairlearn's MetricFrame gives the point estimates; it has no confidence intervals, so the
    percentile bootstrap (resampling within each group) is added here.
    """
    metrics = metrics or REGRESSION_AUDIT
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    sensitive = pd.Series(np.asarray(sensitive, dtype=object), name=sensitive.name if hasattr(sensitive, "name") else "group").fillna("unknown").astype(str)
    frame = MetricFrame(metrics=metrics, y_true=y_true, y_pred=y_pred, sensitive_features=sensitive)
    table = frame.by_group.copy()
    table.insert(0, "n", sensitive.value_counts().reindex(table.index).astype(int))
    rng = np.random.default_rng(seed)
    for name, metric in metrics.items():
        lows, highs = [], []
        for group in table.index:
            members = np.flatnonzero(sensitive.to_numpy() == group)
            draws = [metric(y_true[sample], y_pred[sample]) for sample in (rng.choice(members, len(members)) for _ in range(n_boot))]
            low, high = np.percentile(draws, [2.5, 97.5])
            lows.append(low)
            highs.append(high)
        table[f"{name}_ci_low"] = lows
        table[f"{name}_ci_high"] = highs
    first = next(iter(metrics))
    # "unknown" (the attribute is missing) is not a group that can be the worst served.
    known = table[first].drop(index="unknown", errors="ignore")
    known = known if len(known) else table[first]
    flag_at = known.idxmax() if worst == "max" else known.idxmin()
    table["worst"] = table.index == flag_at
    return table.loc[meaningful_order(table.index)]


_FITZPATRICK = re.compile(r"^(?:fitzpatrick\s*|type\s*)?(VI|IV|V|III|II|I)\b", re.IGNORECASE)
_NUMBER = re.compile(r"^[<>≤≥~]?\s*([-+]?\d+(?:\.\d+)?)")


def meaningful_order(groups) -> list:
    """Groups in the order a reader expects: skin tone from light to dark (ITA° categories), Fitzpatrick
    I to VI, numeric bands ("0-9", "70+", "<2") ascending, anything else alphabetical, "unknown" last."""
    tones = [name for name, _ in ITA_CATEGORIES]
    roman = ["I", "II", "III", "IV", "V", "VI"]

    def key(group):
        text = str(group)
        if text == "unknown":
            return (4, 0.0, text)
        if text in tones:
            return (0, float(tones.index(text)), text)
        if match := _FITZPATRICK.match(text):
            return (1, float(roman.index(match.group(1).upper())), text)
        if match := _NUMBER.match(text):
            return (2, float(match.group(1)), text)
        return (3, 0.0, text)

    return sorted(groups, key=key)


def group_gap(table: pd.DataFrame, metric: str = "mae") -> float:
    """The largest difference in `metric` between any two groups (fairlearn's MetricFrame.difference)."""
    return float(table[metric].max() - table[metric].min())


def hit_rate_gap(hits, groups, n_boot: int = 1000, seed: int = 0) -> dict:
    """Best minus worst hit rate (e.g. top-1) over the known groups, with a percentile-bootstrap 95 % CI
    that resamples photos within each group, as `disaggregate` does. The max-minus-min of noisy group
    estimates is biased upwards, most where a group is small, so the interval matters as much as the point."""
    hits, groups = np.asarray(hits, float), _known_or_unknown(groups)
    members = {g: np.flatnonzero(groups == g) for g in sorted(set(groups)) if g != "unknown"}
    rates = {g: float(hits[m].mean()) for g, m in members.items()}
    rng = np.random.default_rng(seed)
    draws = [max(r) - min(r) for r in ([hits[rng.choice(m, len(m))].mean() for m in members.values()] for _ in range(n_boot))]
    return {"best": max(rates, key=rates.get), "worst": min(rates, key=rates.get), "gap": max(rates.values()) - min(rates.values()),
            "ci": [float(np.percentile(draws, q)) for q in (2.5, 97.5)] if n_boot else None, "n": {g: int(len(m)) for g, m in members.items()}}


def case_mix_decomposition(hits, groups, strata) -> pd.DataFrame:
    """Does a group score lower because its cases are harder, or because the model serves it worse?

    One row per group: n; `observed` hit rate; `expected_from_case_mix`, the rate if each of its photos
    scored at its stratum's (e.g. diagnosis's) pooled hit rate, so it differs between groups only through
    their case mix; `standardised`, the group's own per-stratum hit rates weighted by the pooled stratum
    mix (direct standardisation), so it differs only through how well each stratum is served; and
    `coverage`, the pooled share of the strata the group has photos of (standardised is renormalised
    over those). Written here because fairlearn's MetricFrame has no standardisation by a third variable."""
    frame = pd.DataFrame({"hit": np.asarray(hits, float), "group": _known_or_unknown(groups), "stratum": _known_or_unknown(strata)})
    pooled_rate = frame.groupby("stratum")["hit"].mean()
    pooled_share = frame["stratum"].value_counts(normalize=True)
    rows = {}
    for group, members in frame.groupby("group"):
        rates = members.groupby("stratum")["hit"].mean()
        share = pooled_share[rates.index]
        rows[group] = {"n": len(members), "observed": members["hit"].mean(), "expected_from_case_mix": members["stratum"].map(pooled_rate).mean(),
                       "standardised": float((rates * share).sum() / share.sum()), "coverage": float(share.sum())}  # fmt: skip
    return pd.DataFrame.from_dict(rows, orient="index")


def _known_or_unknown(values) -> np.ndarray:
    """Group labels as strings, a missing one as "unknown" (so no photo drops out of a groupby)."""
    return pd.Series(np.asarray(values, dtype=object)).fillna("unknown").astype(str).to_numpy()
