// twin: vitalens/tasks/hb_lips/runtime.py
// Lip Hb on the device, as vitalens/tasks/hb_lips/runtime.py: find the lips (lip_regions.js, the twin of
// regions.py) -> the mouth check (lip_check.py: a minimum lip width, then the bundle's `lip_check` stage on the
// lip box grown by 25 % per side, Pillow-bilinear to 128 px) -> the lip colour features (lip_colour.py: median
// CIELAB and log median linear RGB of the redder half of the usable lip-box pixels) -> ONNX linear head ->
// refused when implausible -> conformal interval (never below 0) -> WHO 2024 reading. Returns
// LipHbPredictor.predict_image's Prediction.to_json(). The model is a demonstration, not a measurement.
import { hbInterval } from './hb.js';
import { crop, toPlanar } from './image.js';
import { findLips, lab8, linear8 } from './lip_regions.js';
import { resize } from './resample.js';
import { prediction, refused, roundTo } from './results.js';
import { median } from './stats.js';
import { implausibleEstimate, implausibleTip, interpretInterval } from './who.js';

export const NO_LIPS_TIP = 'take a well-lit, front-on photo in which the closed lips fill a good part of the frame';
const UNMEASURABLE = 'too few usable lip pixels';
const UNMEASURABLE_TIP = 'the lips were found but too few of their pixels are usable (too dark, blown out or grey): retake in even light';
export const RETAKE = 'front-on in even light, with the closed, bare lips filling a good part of the frame';
const NOT_A_MOUTH_TIP = 'this model reads lips: take a front-on photo of the closed, bare lips filling a good part of the frame';
const DECIMALS = 3, MIN_PIXELS = 20, MAX_SAMPLED_PIXELS = 50000, EPSILON = 1e-4, CHECK_SIZE = 128, CHECK_MARGIN = 0.25;
const RAW = ['lip_L', 'lip_a', 'lip_b', 'lip_log_r', 'lip_log_g', 'lip_log_b'], SKIN = ['skin_L', 'skin_a', 'skin_b'];
const NORMALISED = ['delta_L', 'delta_a', 'delta_b', 'ratio_log_r', 'ratio_log_g', 'ratio_log_b'];

const clipBox = ([ymin, xmin, ymax, xmax], { width, height }) => [Math.max(0, ymin), Math.max(0, xmin), Math.min(height, ymax), Math.min(width, xmax)];

// lip_colour._half_by_redness: a regular sample of at most about MAX_SAMPLED_PIXELS, the usable ones (L* in
// (15, 95), chroma > 5), then the redder (or less red) half by a* - b*; each pixel as { rgb, lab }.
function halfByRedness(image, indices, redder) {
  const step = Math.max(1, Math.floor(indices.length / MAX_SAMPLED_PIXELS)), usable = [];
  for (let k = 0; k < indices.length; k += step) {
    const p = 3 * indices[k], rgb = [image.data[p], image.data[p + 1], image.data[p + 2]], lab = lab8(...rgb);
    if (lab[0] > 15 && lab[0] < 95 && Math.hypot(lab[1], lab[2]) > 5) usable.push({ rgb, lab });
  }
  if (usable.length < MIN_PIXELS) return usable;
  const cut = median(usable.map((q) => q.lab[1] - q.lab[2]));
  return usable.filter((q) => (redder ? q.lab[1] - q.lab[2] >= cut : q.lab[1] - q.lab[2] <= cut));
}

// lip_colour._colour_stats: median CIELAB and median linear RGB (+ EPSILON), null when too few pixels.
function colourStats(pixels) {
  if (pixels.length < MIN_PIXELS) return null;
  const lab = [0, 1, 2].map((c) => median(pixels.map((q) => q.lab[c])));
  return { lab, linear: [0, 1, 2].map((c) => median(pixels.map((q) => linear8(q.rgb[c]))) + EPSILON) };
}

// lip_colour.lip_colour_features as { name: value } (NaN where not measurable).
export function lipColourFeatures(image, lipBox, skinBox) {
  const [ymin, xmin, ymax, xmax] = clipBox(lipBox, image), inLip = [], inSkin = [];
  for (let y = ymin; y < ymax; y++) for (let x = xmin; x < xmax; x++) inLip.push(y * image.width + x);
  const lip = colourStats(halfByRedness(image, inLip, true));
  let skin = null;
  if (skinBox) {
    const [sy0, sx0, sy1, sx1] = clipBox(skinBox, image);
    for (let y = sy0; y < sy1; y++) for (let x = sx0; x < sx1; x++) if (!(y >= ymin && y < ymax && x >= xmin && x < xmax)) inSkin.push(y * image.width + x);
    skin = colourStats(halfByRedness(image, inSkin, false));
  }
  const out = Object.fromEntries([...RAW, ...SKIN, ...NORMALISED].map((name) => [name, NaN]));
  if (!lip) return out;
  [...lip.lab, ...lip.linear.map(Math.log)].forEach((v, i) => { out[RAW[i]] = v; });
  if (!skin) return out;
  skin.lab.forEach((v, i) => { out[SKIN[i]] = v; out[NORMALISED[i]] = lip.lab[i] - v; });
  lip.linear.forEach((v, i) => { out[NORMALISED[3 + i]] = Math.log(v / skin.linear[i]); });
  return out;
}

// lip_check.check_lips: null when the box passes both checks, else [reason, tip].
export async function checkLips(image, box, check, session, Tensor) {
  const width = box[3] - box[1], minimum = Math.trunc(check.min_lip_width_px);
  if (width < minimum) {
    return [`lips ${width} px wide, under the ${minimum} px this model needs`,
      `move closer, or crop the photo, so that the closed lips are at least ${minimum} px wide`];
  }
  const [ymin, xmin, ymax, xmax] = box, growY = Math.trunc(CHECK_MARGIN * (ymax - ymin)), growX = Math.trunc(CHECK_MARGIN * (xmax - xmin));
  const mouth = crop(image, clipBox([ymin - growY, xmin - growX, ymax + growY, xmax + growX], image));
  const input = toPlanar(resize(mouth, CHECK_SIZE, CHECK_SIZE, 'bilinear'));
  const outputs = await session.run({ [session.inputNames[0]]: new Tensor('float32', input, [1, 3, CHECK_SIZE, CHECK_SIZE]) });
  const score = outputs[session.outputNames[0]].data[0], threshold = Number(check.threshold);
  if (score < threshold) return [`the red region found does not look like a mouth (lip check ${score.toFixed(2)} < ${threshold.toFixed(2)})`, NOT_A_MOUTH_TIP];
  return null;
}

// model: { manifest, sessions: { model, lip_check? }, Tensor, rules (WHO), disclaimer }
export async function predictLips(model, image, population = {}, imageId = '') {
  const { manifest, sessions, Tensor, disclaimer } = model;
  const { region, reason } = findLips(image);
  if (!region) return refused(imageId, [`no lips found (${reason})`], [NO_LIPS_TIP], disclaimer);
  const lipBox = region.box;
  if (manifest.lip_check) {
    const problem = await checkLips(image, lipBox, manifest.lip_check, sessions.lip_check, Tensor);
    if (problem) return refused(imageId, [problem[0]], [problem[1]], disclaimer, { lip_box: lipBox });
  }
  const names = manifest.inputs.features.names, measured = lipColourFeatures(image, lipBox, region.skinBox);
  const features = names.map((name) => measured[name]);
  if (!features.every(Number.isFinite)) {
    // where it looked, not an estimate: regions_from is a column, so it comes before the tips
    return { image_id: imageId, status: 'refused', reasons: [UNMEASURABLE], message: `${UNMEASURABLE}; ${UNMEASURABLE_TIP}`,
      regions_from: region.method, tips: [UNMEASURABLE_TIP], lip_box: lipBox, disclaimer };
  }
  const outputs = await sessions.model.run({ features: new Tensor('float32', Float32Array.from(features), [1, names.length]) });
  const hb = outputs[sessions.model.outputNames[0]].data[0];
  const implausible = implausibleEstimate(model.rules, 'hb_g_dl', hb, 'g/dL');
  if (implausible) return refused(imageId, [implausible], [implausibleTip(RETAKE)], disclaimer, { lip_box: lipBox });
  const [low, high] = hbInterval(hb, manifest.uncertainty);
  const interpretation = interpretInterval(model.rules, hb, low, high, population, disclaimer);
  const columns = { predicted_hgb: roundTo(hb, DECIMALS), interval_low: roundTo(low, DECIMALS), interval_high: roundTo(high, DECIMALS),
    who_severity: interpretation.statement, regions_from: region.method, lip_confidence: roundTo(region.confidence, DECIMALS) };
  return prediction(imageId, columns, { lip_box: lipBox, interpretation }, disclaimer);
}
