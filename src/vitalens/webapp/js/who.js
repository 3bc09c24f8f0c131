// twin: vitalens/interpretation.py
// WHO 2024 anaemia interpretation, a port of vitalens/interpretation.py that reads the SAME rules file
// (rules/who_2024_anaemia.json). A parity test runs both on a grid of inputs.

const SEVERITIES = ['severe', 'moderate', 'mild', 'none']; // order of rising Hb
const SMOKING_STATUSES = ['non-smoker', 'smoker'];
const SEX_DEFAULT_ASSUMPTION = 'sex not given: used the'; // how the assumption starts when an adult's cut-off was a default

const repr = (v) => (typeof v === 'string' ? `'${v}'` : v === null || v === undefined ? 'None' : String(v));
// Python's "{:g}": six significant digits, trailing zeros dropped.
const g = (v) => String(Number(v.toPrecision(6)));
// Python's "{:.1f}", non-finite values included
const fixed1 = (v) => (Number.isNaN(v) ? 'nan' : Number.isFinite(v) ? v.toFixed(1) : v > 0 ? 'inf' : '-inf');
const given = (v) => v !== null && v !== undefined && v !== '';

function checkRange(rules, field, value, unit, hint = '') {
  const [low, high] = rules.input_limits[field];
  if (typeof value !== 'number') throw new Error(`${field} must be a number in ${unit}, got ${repr(value)}`);
  if (!(Number.isFinite(value) && low <= value && value <= high)) {
    throw new Error(`${field}=${repr(value)} is outside the plausible range ${low}-${high} ${unit}${hint}`);
  }
  return value;
}

function normaliseSex(sex) {
  if (!given(sex)) return null;
  const cleaned = String(sex).trim().toLowerCase();
  if (cleaned !== 'female' && cleaned !== 'male') throw new Error(`sex=${repr(sex)}: use 'female', 'male' or None (unknown)`);
  return cleaned;
}

function resolveGroup(rules, ageYears, sex, trimester) {
  const groups = Object.fromEntries(rules.groups.map((grp) => [grp.id, grp]));
  sex = normaliseSex(sex);
  const assumptions = [];
  if (given(ageYears)) ageYears = checkRange(rules, 'age_years', ageYears, 'years');
  if (given(trimester)) {
    if (![1, 2, 3].includes(trimester)) throw new Error(`pregnancy_trimester=${repr(trimester)}: use 1, 2, 3 or None (not pregnant)`);
    if (sex === 'male') throw new Error("pregnancy_trimester was given with sex='male'; drop one of them");
    if (sex === null) assumptions.push('sex not given: pregnancy implies female');
    return [rules.groups.find((grp) => grp.pregnancy_trimester === trimester), assumptions];
  }
  const defaults = rules.defaults;
  if (!given(ageYears)) {
    ageYears = defaults.age_unknown_group_age_years;
    assumptions.push('age not given: assumed an adult (15 years or older)');
  }
  const candidates = rules.groups.filter((grp) => grp.pregnancy_trimester === null
    && (grp.age_years_from === null || ageYears >= grp.age_years_from)
    && (grp.age_years_below === null || ageYears < grp.age_years_below));
  if (!candidates.length) throw new Error(`age_years=${ageYears}: the WHO 2024 guideline has no cut-off below 6 months (0.5 years)`);
  if (candidates.length === 1) return [candidates[0], assumptions];
  let chosen;
  if (sex === null) {
    chosen = groups[defaults.sex_unknown_group];
    const men = candidates.find((grp) => grp.sex === 'male');
    assumptions.push(
      `${SEX_DEFAULT_ASSUMPTION} ${fixed1(chosen.mild_below)} g/dL ${chosen.label} cut-off as the default `
      + `(the cut-off for ${men.label} is ${fixed1(men.mild_below)} g/dL, so mild anaemia in a man `
      + `between ${fixed1(chosen.mild_below)} and ${fixed1(men.mild_below - 0.1)} g/dL is missed)`);
  } else {
    chosen = candidates.find((grp) => grp.sex === sex);
  }
  if (chosen.id === defaults.sex_unknown_group) {
    assumptions.push('pregnancy not given: assumed not pregnant (pass pregnancy_trimester if pregnant)');
  }
  if (ageYears > defaults.adult_evidence_age_max_years) {
    assumptions.push(`age over ${defaults.adult_evidence_age_max_years}: the adult cut-offs were derived from people `
      + `aged 15-${defaults.adult_evidence_age_max_years} and are applied unchanged`);
  }
  return [chosen, assumptions];
}

// A value exactly on an edge belongs to the milder band (the guideline's bands are "< edge").
function band(hb, grp) {
  const edges = [grp.severe_below, grp.moderate_below, grp.mild_below];
  return SEVERITIES[edges.filter((edge) => edge <= hb).length];
}

function altitudeAdjustment(rules, altitude) {
  const rule = rules.altitude_adjustment;
  const row = rule.table_g_l.find((r) => altitude < r.below_m);
  if (row) return [row.g_l / 10, []];
  const eq = rule.equation_g_l;
  const last = rule.table_g_l[rule.table_g_l.length - 1].below_m;
  return [(eq.linear * altitude + eq.quadratic * altitude ** 2) / 10,
    [`altitude above the guideline table (${last} m): used the guideline's elevation equation`]];
}

function smokingAdjustment(rules, smoking, cigarettes) {
  const rule = rules.smoking_adjustment;
  if (given(smoking) && !SMOKING_STATUSES.includes(smoking)) throw new Error(`smoking=${repr(smoking)}: use one of ('non-smoker', 'smoker') or None (unknown)`);
  if (!given(cigarettes)) {
    if (!given(smoking)) return null;
    if (smoking === 'non-smoker') return [rule.non_smoker_g_l / 10, 'non-smoker'];
    return [rule.smoker_quantity_unknown_g_l / 10, 'smoker, quantity not given'];
  }
  const n = checkRange(rules, 'cigarettes_per_day', cigarettes, 'cigarettes/day');
  if (n === 0) {
    if (smoking === 'smoker') throw new Error("smoking='smoker' with cigarettes_per_day=0; drop one of them");
    return [rule.non_smoker_g_l / 10, 'non-smoker'];
  }
  if (smoking === 'non-smoker') throw new Error(`smoking='non-smoker' with cigarettes_per_day=${g(n)}; drop one of them`);
  const row = rule.by_cigarettes_per_day_g_l.find((r) => r.below === null || n < r.below);
  return [row.g_l / 10, `smoker, ${g(n)} cigarettes per day`];
}

export const implausibleTip = (how) => `the photo is probably not one this model can read: retake it ${how}`; // a task says how

// Why a model's estimate is refused (interpretation.implausible_estimate), or null when it lies in the plausible
// range input_limits[field]: a number outside it says the photo is not one the model can read, so it is not clipped.
export function implausibleEstimate(rules, field, estimate, unit) {
  const [low, high] = rules.input_limits[field];
  if (Number.isFinite(estimate) && low <= estimate && estimate <= high) return null;
  return `estimate ${fixed1(estimate)} ${unit} is outside the plausible ${g(low)}-${g(high)} ${unit}`;
}

// population: { age_years, sex, pregnancy_trimester, altitude_m, smoking, cigarettes_per_day }, each optional.
// An interval bound can lie beyond the plausible input range: it is clipped there, which leaves its band unchanged
// (interpretation.interpret_estimate).
export function interpretEstimate(rules, hb, population = {}, disclaimer = '') {
  const [low, high] = rules.input_limits.hb_g_dl;
  return interpretHb(rules, Math.min(Math.max(hb, low), high), population, disclaimer);
}

export function interpretHb(rules, hb, population = {}, disclaimer = '') {
  const { age_years: age, sex, pregnancy_trimester: trimester, altitude_m: altitude, smoking, cigarettes_per_day: cigarettes } = population;
  const looksLikeGramsPerLitre = typeof hb === 'number' && hb >= 40 && hb <= 250;
  hb = checkRange(rules, 'hb_g_dl', hb, 'g/dL', looksLikeGramsPerLitre ? ' (this looks like g/L: divide by 10)' : '');
  const [grp, assumptions] = resolveGroup(rules, age, sex, trimester);
  const adjustments = [];
  if (!given(altitude)) {
    assumptions.push('altitude not given: no elevation adjustment (correct for residence below 500 m)');
  } else {
    const metres = checkRange(rules, 'altitude_m', altitude, 'm');
    const [amount, notes] = altitudeAdjustment(rules, metres);
    assumptions.push(...notes);
    adjustments.push({ kind: 'altitude', subtracted_g_dl: amount, detail: `residence at ${g(metres)} m`, source: rules.altitude_adjustment.source });
  }
  const smoke = smokingAdjustment(rules, smoking, cigarettes);
  if (smoke === null) {
    assumptions.push('smoking not given: no smoking adjustment (correct for non-smokers)');
  } else {
    adjustments.push({ kind: 'smoking', subtracted_g_dl: smoke[0], detail: smoke[1], source: rules.smoking_adjustment.source });
  }
  // Rounding removes float noise (12.3 - 0.3) that would otherwise flip a value sitting on an edge.
  const adjusted = Number((hb - adjustments.reduce((total, a) => total + a.subtracted_g_dl, 0)).toFixed(9));
  return {
    measured_hb_g_dl: hb,
    adjusted_hb_g_dl: adjusted,
    threshold_g_dl: grp.mild_below,
    severity: band(adjusted, grp),
    population_group: grp.id,
    population_label: grp.label,
    band_edges_g_dl: { mild_below: grp.mild_below, moderate_below: grp.moderate_below, severe_below: grp.severe_below },
    adjustments,
    assumptions,
    guideline: rules.guideline.citation,
    disclaimer,
  };
}

// The estimate's interpretation and what its interval allows (interpretation.interpret_interval): a single band
// only when the whole interval lies in it, otherwise "interval spans moderate to none"; the headline names the
// cut-off and says when it was assumed because sex was not given.
export function interpretInterval(rules, hb, low, high, population = {}, disclaimer = '') {
  if (!(low <= hb && hb <= high)) throw new Error(`interval [${low}, ${high}] does not contain the estimate ${hb}`);
  const point = interpretHb(rules, hb, population, disclaimer);
  const ends = [low, high].map((bound) => SEVERITIES.indexOf(interpretEstimate(rules, bound, population, disclaimer).severity));
  const spanned = SEVERITIES.slice(ends[0], ends[1] + 1); // worst to mildest
  const statement = spanned.length === 1 ? spanned[0] : `interval spans ${spanned[0]} to ${spanned[spanned.length - 1]}`;
  const sexAssumed = point.assumptions.some((a) => a.startsWith(SEX_DEFAULT_ASSUMPTION));
  const headline = `${statement} (cut-off ${g(point.threshold_g_dl)} g/dL${sexAssumed ? ', assumed: sex not given' : ''})`;
  return { ...point, interval_bands: spanned, statement, headline };
}
