"""Clinical interpretation of a haemoglobin estimate under the WHO 2024 anaemia guideline.

All thresholds, band edges and adjustments live in ``rules/who_2024_anaemia.json``, which the
browser app reads too; this module only applies them. Shared by the CLI, the HTTP API and the
evaluation code (``who_severity`` bands arrays of Hb for "error per severity band").

No library implements the 2024 guideline in Python, hence the hand-written lookup.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from functools import cache
from importlib.resources import files
from typing import Any, Literal

import numpy as np

from vitalens import DISCLAIMER

Severity = Literal["none", "mild", "moderate", "severe"]
SEVERITIES: tuple[Severity, ...] = ("severe", "moderate", "mild", "none")  # order of rising Hb
SMOKING_STATUSES = ("non-smoker", "smoker")
SEX_DEFAULT_ASSUMPTION = "sex not given: used the"  # how the assumption starts when an adult's cut-off was a default


@dataclass(frozen=True)
class PopulationGroup:
    id: str
    label: str
    mild_below: float  # the anaemia cut-off
    moderate_below: float
    severe_below: float
    source: str

    @property
    def edges(self) -> tuple[float, float, float]:
        return (self.severe_below, self.moderate_below, self.mild_below)


@dataclass(frozen=True)
class Adjustment:
    kind: Literal["altitude", "smoking"]
    subtracted_g_dl: float
    detail: str
    source: str


@dataclass(frozen=True)
class Interpretation:
    measured_hb_g_dl: float
    adjusted_hb_g_dl: float
    threshold_g_dl: float
    severity: Severity
    population_group: str
    population_label: str
    band_edges_g_dl: dict[str, float]
    adjustments: tuple[Adjustment, ...]
    assumptions: tuple[str, ...]
    guideline: str
    disclaimer: str = DISCLAIMER

    @property
    def anaemic(self) -> bool:
        return self.severity != "none"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["adjustments"] = [asdict(a) for a in self.adjustments]
        out["assumptions"] = list(self.assumptions)
        return out


@cache
def load_rules() -> dict[str, Any]:
    """The WHO 2024 rules file shipped inside the package (the browser reads the same file)."""
    text = files("vitalens").joinpath("rules", "who_2024_anaemia.json").read_text(encoding="utf-8")
    return json.loads(text)


@cache
def population_groups() -> dict[str, PopulationGroup]:
    return {
        g["id"]: PopulationGroup(g["id"], g["label"], g["mild_below"], g["moderate_below"],
                                 g["severe_below"], g["source"])
        for g in load_rules()["groups"]
    }


def _check_range(field: str, value: float, unit: str, hint: str = "") -> float:
    low, high = load_rules()["input_limits"][field]
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"{field} must be a number in {unit}, got {value!r}")
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{field}={value!r} is outside the plausible range {low}-{high} {unit}{hint}")
    return float(value)


def _normalise_sex(sex: str | None) -> str | None:
    if sex is None:
        return None
    cleaned = str(sex).strip().lower()
    if cleaned not in ("female", "male"):
        raise ValueError(f"sex={sex!r}: use 'female', 'male' or None (unknown)")
    return cleaned


def _resolve_group(age_years: float | None, sex: str | None,
                   pregnancy_trimester: int | None) -> tuple[PopulationGroup, list[str]]:
    """Pick the guideline population group and say which defaults stood in for missing facts."""
    rules, groups = load_rules(), population_groups()
    sex = _normalise_sex(sex)
    assumptions: list[str] = []
    if age_years is not None:
        age_years = _check_range("age_years", age_years, "years")

    if pregnancy_trimester is not None:
        if pregnancy_trimester not in (1, 2, 3) or isinstance(pregnancy_trimester, bool):
            raise ValueError(f"pregnancy_trimester={pregnancy_trimester!r}: use 1, 2, 3 or None (not pregnant)")
        if sex == "male":
            raise ValueError("pregnancy_trimester was given with sex='male'; drop one of them")
        if sex is None:
            assumptions.append("sex not given: pregnancy implies female")
        group = next(g for g in rules["groups"] if g["pregnancy_trimester"] == pregnancy_trimester)
        return groups[group["id"]], assumptions

    defaults = rules["defaults"]
    if age_years is None:
        age_years = defaults["age_unknown_group_age_years"]
        assumptions.append("age not given: assumed an adult (15 years or older)")
    candidates = [
        g for g in rules["groups"]
        if g["pregnancy_trimester"] is None
        and (g["age_years_from"] is None or age_years >= g["age_years_from"])
        and (g["age_years_below"] is None or age_years < g["age_years_below"])
    ]
    if not candidates:
        raise ValueError(f"age_years={age_years}: the WHO 2024 guideline has no cut-off below 6 months (0.5 years)")
    if len(candidates) > 1:  # adult bands differ by sex
        if sex is None:
            default = groups[defaults["sex_unknown_group"]]
            men = next(groups[g["id"]] for g in candidates if g["sex"] == "male")
            assumptions.append(
                f"{SEX_DEFAULT_ASSUMPTION} {default.mild_below:.1f} g/dL {default.label} cut-off as the default "
                f"(the cut-off for {men.label} is {men.mild_below:.1f} g/dL, so mild anaemia in a man "
                f"between {default.mild_below:.1f} and {men.mild_below - 0.1:.1f} g/dL is missed)"
            )
            chosen = default
        else:
            chosen = next(groups[g["id"]] for g in candidates if g["sex"] == sex)
        if chosen.id == defaults["sex_unknown_group"]:
            assumptions.append("pregnancy not given: assumed not pregnant (pass pregnancy_trimester if pregnant)")
        if age_years > defaults["adult_evidence_age_max_years"]:
            assumptions.append(
                f"age over {defaults['adult_evidence_age_max_years']}: the adult cut-offs were derived from people "
                f"aged 15-{defaults['adult_evidence_age_max_years']} and are applied unchanged"
            )
        return chosen, assumptions
    return groups[candidates[0]["id"]], assumptions


def severity_band_edges(*, age_years: float | None = None, sex: str | None = None,
                        pregnancy_trimester: int | None = None) -> PopulationGroup:
    """Band edges for a population; with no arguments, the default (adult, sex unknown: 12.0 g/dL)."""
    return _resolve_group(age_years, sex, pregnancy_trimester)[0]


def who_severity(hb_g_dl: float | np.ndarray, *, age_years: float | None = None, sex: str | None = None,
                 pregnancy_trimester: int | None = None) -> str | np.ndarray:
    """WHO 2024 severity ('none'|'mild'|'moderate'|'severe') of Hb already adjusted for altitude/smoking.

    Accepts a scalar (returns str) or an array (returns an array of str of the same shape).
    A value exactly on an edge belongs to the milder band (the guideline's bands are "< edge").
    """
    group = severity_band_edges(age_years=age_years, sex=sex, pregnancy_trimester=pregnancy_trimester)
    return _band(hb_g_dl, group)


def _band(hb_g_dl: float | np.ndarray, group: PopulationGroup) -> str | np.ndarray:
    hb = np.asarray(hb_g_dl, dtype=float)
    if not np.all(np.isfinite(hb)):
        raise ValueError("hb_g_dl contains NaN or infinite values; drop or impute them before banding")
    bands = np.asarray(SEVERITIES)[np.searchsorted(group.edges, hb, side="right")]
    return str(bands) if bands.ndim == 0 else bands


def altitude_adjustment(altitude_m: float) -> tuple[float, list[str]]:
    """Hb (g/dL) to subtract for the elevation of residence, and any assumption made."""
    rule = load_rules()["altitude_adjustment"]
    for row in rule["table_g_l"]:
        if altitude_m < row["below_m"]:
            return row["g_l"] / 10, []
    eq = rule["equation_g_l"]
    g_l = eq["linear"] * altitude_m + eq["quadratic"] * altitude_m**2
    last = rule["table_g_l"][-1]["below_m"]
    return g_l / 10, [f"altitude above the guideline table ({last} m): used the guideline's elevation equation"]


def smoking_adjustment(smoking: str | None, cigarettes_per_day: float | None) -> tuple[float, str] | None:
    """Hb (g/dL) to subtract for smoking and a description, or None when smoking was not reported."""
    rule = load_rules()["smoking_adjustment"]
    if smoking is not None and smoking not in SMOKING_STATUSES:
        raise ValueError(f"smoking={smoking!r}: use one of {SMOKING_STATUSES} or None (unknown)")
    if cigarettes_per_day is None:
        if smoking is None:
            return None
        if smoking == "non-smoker":
            return rule["non_smoker_g_l"] / 10, "non-smoker"
        return rule["smoker_quantity_unknown_g_l"] / 10, "smoker, quantity not given"
    n = _check_range("cigarettes_per_day", cigarettes_per_day, "cigarettes/day")
    if n == 0:
        if smoking == "smoker":
            raise ValueError("smoking='smoker' with cigarettes_per_day=0; drop one of them")
        return rule["non_smoker_g_l"] / 10, "non-smoker"
    if smoking == "non-smoker":
        raise ValueError(f"smoking='non-smoker' with cigarettes_per_day={n:g}; drop one of them")
    row = next(r for r in rule["by_cigarettes_per_day_g_l"] if r["below"] is None or n < r["below"])
    return row["g_l"] / 10, f"smoker, {n:g} cigarettes per day"


def interpret_estimate(hb_g_dl: float, **population: Any) -> Interpretation:
    """`interpret_hb` for an interval bound, which can lie beyond the plausible input range (a point
    estimate there is refused, see `implausible_estimate`): it is clipped into the range first, which
    leaves its band unchanged (every band edge lies well inside the range)."""
    low, high = load_rules()["input_limits"]["hb_g_dl"]
    return interpret_hb(min(max(float(hb_g_dl), low), high), **population)


def interpret_hb(hb_g_dl: float, *, age_years: float | None = None, sex: str | None = None,
                 pregnancy_trimester: int | None = None, altitude_m: float | None = None,
                 smoking: str | None = None, cigarettes_per_day: float | None = None) -> Interpretation:
    """Interpret one haemoglobin value (g/dL) under the WHO 2024 guideline.

    Altitude and smoking adjustments are subtracted from the measured Hb before banding, as the
    guideline prescribes. Every default used for a missing fact is listed in ``assumptions``.
    """
    rules = load_rules()
    looks_like_g_per_l = isinstance(hb_g_dl, (int, float)) and 40 <= hb_g_dl <= 250
    hb = _check_range("hb_g_dl", hb_g_dl, "g/dL", " (this looks like g/L: divide by 10)" if looks_like_g_per_l else "")
    group, assumptions = _resolve_group(age_years, sex, pregnancy_trimester)

    adjustments: list[Adjustment] = []
    if altitude_m is None:
        assumptions.append("altitude not given: no elevation adjustment (correct for residence below 500 m)")
    else:
        altitude = _check_range("altitude_m", altitude_m, "m")
        amount, notes = altitude_adjustment(altitude)
        assumptions.extend(notes)
        adjustments.append(Adjustment("altitude", amount, f"residence at {altitude:g} m",
                                      rules["altitude_adjustment"]["source"]))
    smoke = smoking_adjustment(smoking, cigarettes_per_day)
    if smoke is None:
        assumptions.append("smoking not given: no smoking adjustment (correct for non-smokers)")
    else:
        adjustments.append(Adjustment("smoking", smoke[0], smoke[1], rules["smoking_adjustment"]["source"]))

    # Rounding removes float noise (12.3 - 0.3) that would otherwise flip a value sitting on an edge.
    adjusted = round(hb - sum(a.subtracted_g_dl for a in adjustments), 9)
    return Interpretation(
        measured_hb_g_dl=hb,
        adjusted_hb_g_dl=adjusted,
        threshold_g_dl=group.mild_below,
        severity=_band(adjusted, group),
        population_group=group.id,
        population_label=group.label,
        band_edges_g_dl={"mild_below": group.mild_below, "moderate_below": group.moderate_below,
                         "severe_below": group.severe_below},
        adjustments=tuple(adjustments),
        assumptions=tuple(assumptions),
        guideline=rules["guideline"]["citation"],
    )


def interpret_interval(hb_g_dl: float, low_g_dl: float, high_g_dl: float, **population: Any) -> dict[str, Any]:
    """The estimate's interpretation, and what its interval allows: a single band is named only when the
    whole interval lies in it; otherwise "interval spans moderate to none". The headline says which
    cut-off was assumed when sex was not given. The estimate itself must be plausible (`interpret_hb`
    refuses it otherwise); its bounds may lie beyond the plausible range (see `interpret_estimate`)."""
    if not low_g_dl <= hb_g_dl <= high_g_dl:
        raise ValueError(f"interval [{low_g_dl}, {high_g_dl}] does not contain the estimate {hb_g_dl}")
    point = interpret_hb(hb_g_dl, **population)
    ends = (interpret_estimate(low_g_dl, **population).severity, interpret_estimate(high_g_dl, **population).severity)
    spanned = list(SEVERITIES[SEVERITIES.index(ends[0]):SEVERITIES.index(ends[1]) + 1])  # worst to mildest
    statement = spanned[0] if len(spanned) == 1 else f"interval spans {spanned[0]} to {spanned[-1]}"
    sex_assumed = any(a.startswith(SEX_DEFAULT_ASSUMPTION) for a in point.assumptions)
    headline = f"{statement} (cut-off {point.threshold_g_dl:g} g/dL{', assumed: sex not given' if sex_assumed else ''})"
    return {**point.to_dict(), "interval_bands": spanned, "statement": statement, "headline": headline}
