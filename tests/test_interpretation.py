"""WHO 2024 anaemia interpretation: thresholds, band edges, adjustments, defaults, validation.

Expected values are typed in by hand from the guideline (g/L / 10), not read from the rules file,
so a wrong edit to the JSON fails here.
"""

import json

import numpy as np
import pytest

from vitalens import DISCLAIMER
from vitalens.interpretation import (
    interpret_hb,
    load_rules,
    population_groups,
    severity_band_edges,
    who_severity,
)

# (population kwargs, group id, mild_below = anaemia cut-off, moderate_below, severe_below)
GUIDELINE_GROUPS = [
    (dict(age_years=1.0), "children_6_23_months", 10.5, 9.5, 7.0),
    (dict(age_years=3.0), "children_24_59_months", 11.0, 10.0, 7.0),
    (dict(age_years=8.0), "children_5_11_years", 11.5, 11.0, 8.0),
    (dict(age_years=13.0, sex="male"), "adolescents_12_14_years", 12.0, 11.0, 8.0),
    (dict(age_years=30.0, sex="female"), "non_pregnant_women_15_plus", 12.0, 11.0, 8.0),
    (dict(age_years=30.0, sex="male"), "men_15_plus", 13.0, 11.0, 8.0),
    (dict(age_years=25.0, pregnancy_trimester=1), "pregnant_first_trimester", 11.0, 10.0, 7.0),
    (dict(age_years=25.0, pregnancy_trimester=2), "pregnant_second_trimester", 10.5, 9.5, 7.0),
    (dict(age_years=25.0, pregnancy_trimester=3), "pregnant_third_trimester", 11.0, 10.0, 7.0),
]


@pytest.mark.parametrize(("population", "group_id", "mild", "moderate", "severe"), GUIDELINE_GROUPS)
def test_group_thresholds_match_guideline(population, group_id, mild, moderate, severe):
    group = severity_band_edges(**population)
    assert (group.id, group.mild_below, group.moderate_below, group.severe_below) == (group_id, mild, moderate, severe)


@pytest.mark.parametrize(("population", "group_id", "mild", "moderate", "severe"), GUIDELINE_GROUPS)
def test_values_exactly_on_an_edge_fall_in_the_milder_band(population, group_id, mild, moderate, severe):
    hb = np.array([severe - 0.1, severe, moderate - 0.1, moderate, mild - 0.1, mild])
    expected = ["severe", "moderate", "moderate", "mild", "mild", "none"]
    assert who_severity(hb, **population).tolist() == expected
    assert [interpret_hb(float(v), **population).severity for v in hb] == expected


def test_every_group_in_the_rules_file_is_reachable_and_tested():
    reached = {severity_band_edges(**population).id for population, *_ in GUIDELINE_GROUPS}
    assert reached == set(population_groups()) == {g["id"] for g in load_rules()["groups"]}


def test_age_band_boundaries():
    assert severity_band_edges(age_years=0.5).id == "children_6_23_months"
    assert severity_band_edges(age_years=23.9 / 12).id == "children_6_23_months"
    assert severity_band_edges(age_years=2.0).id == "children_24_59_months"
    assert severity_band_edges(age_years=5.0).id == "children_5_11_years"
    assert severity_band_edges(age_years=12.0).id == "adolescents_12_14_years"
    assert severity_band_edges(age_years=15.0, sex="female").id == "non_pregnant_women_15_plus"


def test_default_population_is_adult_with_the_12_g_dl_cut_off():
    result = interpret_hb(11.95)
    assert result.population_group == "non_pregnant_women_15_plus"
    assert result.threshold_g_dl == 12.0
    assert result.severity == "mild"
    text = " | ".join(result.assumptions)
    assert "age not given: assumed an adult" in text
    assert "sex not given: used the 12.0 g/dL" in text
    assert "13.0 g/dL" in text  # says what the default misses for men
    assert "assumed not pregnant" in text
    assert who_severity(np.array([7.99, 8.0, 10.9, 11.0, 11.9, 12.0])).tolist() == [
        "severe", "moderate", "moderate", "mild", "mild", "none"]


def test_known_sex_and_age_make_no_population_assumption():
    result = interpret_hb(12.5, age_years=40, sex="male", altitude_m=0, smoking="non-smoker")
    assert result.severity == "mild"
    assert result.assumptions == ()


def test_sex_does_not_matter_below_15_so_no_assumption_is_made():
    result = interpret_hb(11.2, age_years=8)
    assert result.population_group == "children_5_11_years"
    assert not any(a.startswith("sex") for a in result.assumptions)


def test_old_adults_get_adult_cut_offs_with_a_stated_assumption():
    result = interpret_hb(12.5, age_years=80, sex="female")
    assert result.population_group == "non_pregnant_women_15_plus"
    assert any("over 65" in a for a in result.assumptions)


def test_pregnancy_without_sex_assumes_female_and_second_trimester_uses_10_5():
    result = interpret_hb(10.6, pregnancy_trimester=2)
    assert result.population_group == "pregnant_second_trimester"
    assert result.threshold_g_dl == 10.5
    assert result.severity == "none"
    assert interpret_hb(10.6, pregnancy_trimester=1).severity == "mild"
    assert any("pregnancy implies female" in a for a in result.assumptions)


@pytest.mark.parametrize(("altitude_m", "subtracted"), [
    (-100, 0.0), (0, 0.0), (499, 0.0), (500, 0.4), (1500, 1.1), (2200, 1.4), (3999, 2.5), (4999, 3.3)])
def test_altitude_adjustment_table(altitude_m, subtracted):
    result = interpret_hb(13.0, age_years=30, sex="female", altitude_m=altitude_m)
    (adjustment,) = result.adjustments
    assert adjustment.kind == "altitude"
    assert adjustment.subtracted_g_dl == pytest.approx(subtracted)
    assert result.adjusted_hb_g_dl == pytest.approx(13.0 - subtracted)


def test_altitude_changes_the_verdict():
    # 12.3 g/dL: normal at sea level, 11.5 (mild) at 1000 m, 10.5 (moderate) at 2500 m.
    assert interpret_hb(12.3, sex="female", age_years=30, altitude_m=0).severity == "none"
    assert interpret_hb(12.3, sex="female", age_years=30, altitude_m=1000).severity == "mild"
    assert interpret_hb(12.3, sex="female", age_years=30, altitude_m=2500).severity == "moderate"


def test_altitude_table_agrees_with_the_guideline_equation_at_bin_midpoints():
    rule = load_rules()["altitude_adjustment"]
    eq = rule["equation_g_l"]
    rows = rule["table_g_l"]
    for lower, row in zip([r["below_m"] for r in rows[:-1]], rows[1:]):
        mid = (lower + row["below_m"]) / 2
        assert abs(eq["linear"] * mid + eq["quadratic"] * mid**2 - row["g_l"]) <= 0.6, (mid, row)


def test_altitude_above_the_table_uses_the_equation_and_says_so():
    result = interpret_hb(16.0, age_years=30, sex="male", altitude_m=5100)
    expected = (0.0056384 * 5100 + 0.0000003 * 5100**2) / 10
    assert result.adjustments[0].subtracted_g_dl == pytest.approx(expected)
    assert any("elevation equation" in a for a in result.assumptions)


@pytest.mark.parametrize(("kwargs", "subtracted"), [
    (dict(smoking="non-smoker"), 0.0),
    (dict(cigarettes_per_day=0), 0.0),
    (dict(smoking="smoker"), 0.3),
    (dict(cigarettes_per_day=5), 0.3),
    (dict(cigarettes_per_day=10), 0.5),
    (dict(smoking="smoker", cigarettes_per_day=19.5), 0.5),
    (dict(cigarettes_per_day=20), 0.6),
    (dict(cigarettes_per_day=60), 0.6),
])
def test_smoking_adjustment(kwargs, subtracted):
    result = interpret_hb(12.2, age_years=30, sex="female", **kwargs)
    (adjustment,) = result.adjustments
    assert adjustment.kind == "smoking"
    assert adjustment.subtracted_g_dl == pytest.approx(subtracted)
    assert result.adjusted_hb_g_dl == pytest.approx(12.2 - subtracted)


def test_adjustment_landing_exactly_on_an_edge_is_not_lost_to_float_noise():
    result = interpret_hb(12.3, age_years=30, sex="female", smoking="smoker")  # 12.3 - 0.3 = 12.0
    assert result.adjusted_hb_g_dl == 12.0
    assert result.severity == "none"


def test_to_dict_is_json_and_carries_the_disclaimer():
    result = interpret_hb(10.0, age_years=30, sex="female", altitude_m=1200, cigarettes_per_day=12)  # 10.0-0.8-0.5
    data = json.loads(json.dumps(result.to_dict()))
    assert data["disclaimer"] == DISCLAIMER
    assert data["severity"] == "moderate"
    assert [a["kind"] for a in data["adjustments"]] == ["altitude", "smoking"]
    assert "2024" in data["guideline"]


def test_who_severity_scalar_and_array_shapes():
    assert who_severity(7.0, age_years=1) == "moderate"
    assert who_severity(np.full((2, 3), 13.0), sex="male").shape == (2, 3)


@pytest.mark.parametrize(("kwargs", "field"), [
    (dict(hb_g_dl=-1.0), "hb_g_dl"),
    (dict(hb_g_dl=0.0), "hb_g_dl"),
    (dict(hb_g_dl=float("nan")), "hb_g_dl"),
    (dict(hb_g_dl=130.0), "g/L"),
    (dict(hb_g_dl="12"), "hb_g_dl"),
    (dict(hb_g_dl=12.0, age_years=-2), "age_years"),
    (dict(hb_g_dl=12.0, age_years=200), "age_years"),
    (dict(hb_g_dl=12.0, age_years=0.3), "6 months"),
    (dict(hb_g_dl=12.0, altitude_m=12000), "altitude_m"),
    (dict(hb_g_dl=12.0, altitude_m=-3000), "altitude_m"),
    (dict(hb_g_dl=12.0, sex="x"), "sex"),
    (dict(hb_g_dl=12.0, pregnancy_trimester=4), "pregnancy_trimester"),
    (dict(hb_g_dl=12.0, sex="male", pregnancy_trimester=2), "pregnancy_trimester"),
    (dict(hb_g_dl=12.0, smoking="sometimes"), "smoking"),
    (dict(hb_g_dl=12.0, cigarettes_per_day=-1), "cigarettes_per_day"),
    (dict(hb_g_dl=12.0, smoking="non-smoker", cigarettes_per_day=5), "cigarettes_per_day"),
])
def test_invalid_inputs_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        interpret_hb(**kwargs)


def test_who_severity_rejects_nan():
    with pytest.raises(ValueError, match="NaN"):
        who_severity(np.array([12.0, np.nan]))


def test_an_interval_bound_beyond_the_plausible_range_is_banded_as_the_range_end():
    from vitalens.interpretation import interpret_estimate, interpret_hb

    assert interpret_estimate(30.0, sex="female", age_years=30).to_dict() == interpret_hb(25.0, sex="female", age_years=30).to_dict()
    assert interpret_estimate(0.0).severity == "severe"
    with pytest.raises(ValueError, match="outside the plausible range"):
        interpret_hb(30.0)


@pytest.mark.parametrize(("field", "estimate", "unit", "reason"), [
    ("hb_g_dl", 31.2, "g/dL", "estimate 31.2 g/dL is outside the plausible 0.5-25 g/dL"),
    ("hb_g_dl", -3.0, "g/dL", "estimate -3.0 g/dL is outside the plausible 0.5-25 g/dL"),
    ("hb_g_dl", float("nan"), "g/dL", "estimate nan g/dL is outside the plausible 0.5-25 g/dL"),
    ("age_years", 140.0, "years", "estimate 140.0 years is outside the plausible 0-120 years"),
    ("hb_g_dl", 0.5, "g/dL", None),
    ("hb_g_dl", 25.0, "g/dL", None),
    ("age_years", 0.0, "years", None),
])
def test_an_implausible_estimate_gets_a_reason_and_a_plausible_one_none(field, estimate, unit, reason):
    from vitalens.plausibility import implausible_estimate

    assert implausible_estimate(field, estimate, unit) == reason


def test_a_band_is_named_only_when_the_whole_interval_lies_in_it():
    from vitalens.interpretation import interpret_interval

    wide = interpret_interval(11.6, 8.2, 15.0)
    assert wide["statement"] == "interval spans moderate to none" and wide["interval_bands"] == ["moderate", "mild", "none"]
    assert wide["severity"] == "mild"  # the point estimate's band is still there, but not the headline
    narrow = interpret_interval(11.6, 11.1, 11.9, sex="female", age_years=30)
    assert narrow["statement"] == "mild" and narrow["headline"] == "mild (cut-off 12 g/dL)"


def test_the_assumed_cut_off_is_in_the_headline_when_sex_is_not_given():
    from vitalens.interpretation import interpret_interval

    assert interpret_interval(12.5, 12.2, 12.8)["headline"] == "none (cut-off 12 g/dL, assumed: sex not given)"
    assert interpret_interval(12.5, 12.2, 12.8, sex="male")["statement"] == "mild"


def test_a_wide_interval_names_no_band_and_its_ends_may_lie_beyond_the_plausible_range():
    from vitalens.interpretation import interpret_interval

    result = interpret_interval(2.0, 0.0, 5.4, sex="male", age_years=40)  # the lower bound clipped at 0 g/dL
    assert result["statement"] == "severe" and result["headline"] == "severe (cut-off 13 g/dL)"
    every = interpret_interval(12.0, 0.0, 26.0, age_years=30, sex="female")
    assert every["statement"] == "interval spans severe to none" and every["interval_bands"] == ["severe", "moderate", "mild", "none"]
    assert interpret_interval(12.0, 12.0, 12.0, sex="female")["statement"] == "none"


def test_the_estimate_must_be_plausible_and_inside_its_interval():
    from vitalens.interpretation import interpret_interval

    with pytest.raises(ValueError, match="outside the plausible range"):
        interpret_interval(31.0, 27.6, 34.4)
    with pytest.raises(ValueError, match="does not contain the estimate"):
        interpret_interval(12.0, 12.5, 13.0)


def test_a_cut_off_that_does_not_depend_on_sex_is_not_called_assumed():
    from vitalens.interpretation import interpret_interval

    assert interpret_interval(10.8, 10.6, 11.0, pregnancy_trimester=2)["headline"] == "none (cut-off 10.5 g/dL)"
    assert interpret_interval(11.2, 11.0, 11.4, age_years=8)["headline"] == "mild (cut-off 11.5 g/dL)"
