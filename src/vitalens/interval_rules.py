"""Which conformal interval rule to ship, chosen so that the number that chose it does not also grade it.

A rule is bins of the estimate (Mondrian) and how the miss rate is split below and above the interval
(`vitalens.uncertainty.mondrian_reaches`). Picking, by their coverage, the rule that covers the rare low
values best would put the selection inside the reported coverage. So the check is nested like the model's:
each outer fold's rule is chosen on the other folds' residuals alone, by an inner leave-one-group-out, and
then calibrated on all of them; the reported coverage is that of the held-out folds. The shipped rule is
chosen the same way on every group. Every candidate's inner figures are logged.

The criterion: among the rules whose inner coverage reaches the target overall and `stratum_floor` in
every stratum (the true value's band, say) with at least `min_stratum` members, the narrowest; when none
does, the one whose worst such stratum is covered best.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vitalens.evaluation.splits import grouped_splits
from vitalens.uncertainty import bin_of, calibrated_rule, coverage_of, mondrian_reaches, outer_fold_coverage, reaches_of_bins


@dataclass(frozen=True)
class IntervalRule:
    bin_edges: tuple[float, ...] = ()
    lower_share: float | None = None  # None: symmetric; else the share of the miss rate spent below the interval

    @property
    def name(self) -> str:
        bins = "bins " + "/".join(f"{e:g}" for e in self.bin_edges) if self.bin_edges else "one bin"
        return f"{bins}, " + ("symmetric" if self.lower_share is None else f"{self.lower_share:g} of misses below")


@dataclass(frozen=True)
class Criterion:
    coverage: float = 0.9
    stratum_floor: float = 0.85
    min_stratum: int = 10


def rule_check(rule: IntervalRule, y, predicted, outer, strata, coverage: float) -> dict:
    return outer_fold_coverage(y, predicted, outer, coverage, rule.bin_edges, strata, rule.lower_share)


def choose_rule(rules: tuple[IntervalRule, ...], y, predicted, groups, strata, criterion: Criterion) -> tuple[IntervalRule, list[dict]]:
    """The criterion's pick among `rules` under leave-one-group-out over these photos, and every rule's figures."""
    splits = list(grouped_splits(groups, "loso"))
    log = []
    for rule in rules:
        check = rule_check(rule, y, predicted, splits, strata, criterion.coverage)
        counted = [row["coverage"] for row in check["by_stratum"].values() if row["n"] >= criterion.min_stratum]
        worst = min(counted, default=check["empirical_coverage"])
        meets = check["empirical_coverage"] >= criterion.coverage and worst >= criterion.stratum_floor
        log.append({"rule": rule.name, "coverage": check["empirical_coverage"], "worst_stratum": worst,
                    "mean_width": check["mean_width"], "meets": bool(meets)})  # fmt: skip
    qualified = [i for i, row in enumerate(log) if row["meets"]]
    if qualified:
        best = min(qualified, key=lambda i: (log[i]["mean_width"], i))
    else:
        best = max(range(len(log)), key=lambda i: (log[i]["worst_stratum"], -log[i]["mean_width"]))
    return rules[best], log


def nested_rule_check(rules: tuple[IntervalRule, ...], y, predicted, outer, groups, strata, criterion: Criterion) -> dict:
    """The interval check with the rule chosen inside each outer fold (on the other folds only), then the
    rule chosen on every group with its reaches calibrated on every residual: what the bundle ships."""
    y, predicted, groups, strata = np.asarray(y, float), np.asarray(predicted, float), np.asarray(groups), np.asarray(strata)
    below, above, chosen_by_fold = np.zeros(len(y)), np.zeros(len(y)), []
    for _, test in outer:
        others = np.setdiff1d(np.arange(len(y)), test)
        rule, _ = choose_rule(rules, y[others], predicted[others], groups[others], strata[others], criterion)
        reaches = mondrian_reaches(y[others] - predicted[others], bin_of(predicted[others], rule.bin_edges), criterion.coverage, rule.lower_share)
        below[test], above[test] = reaches_of_bins(reaches, bin_of(predicted[test], rule.bin_edges))
        chosen_by_fold.append(rule.name)
    checked = coverage_of(y - predicted, below, above, outer, strata)
    for row, name in zip(checked["by_fold"], chosen_by_fold):
        row["rule"] = name
    shipped, log = choose_rule(rules, y, predicted, groups, strata, criterion)
    return {
        **calibrated_rule(y - predicted, predicted, criterion.coverage, shipped.bin_edges, shipped.lower_share),
        **checked,
        "rule": shipped.name,
        "rule_selection": {"how": "nested: each outer fold's rule chosen by leave-one-group-out on the other folds' residuals; "
                                  f"criterion: narrowest with coverage >= {criterion.coverage:.0%} and >= {criterion.stratum_floor:.0%} in every band "
                                  f"with >= {criterion.min_stratum} photos", "chosen_by_fold": chosen_by_fold, "candidates_on_all_groups": log},  # fmt: skip
    }
