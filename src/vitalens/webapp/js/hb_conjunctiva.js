// twin: vitalens/tasks/hb_conjunctiva/runtime.py
// Conjunctiva Hb on the device, as vitalens/tasks/hb_conjunctiva/runtime.py: tissue mask and rim (features.py's
// tissue_masks: Pillow's bilinear resize via resample.js, MinFilter with edge-replicated borders) -> the colour
// features named in the bundle -> ONNX linear head -> refused when implausible -> conformal interval (never below 0)
// -> WHO 2024 reading. Returns ConjunctivaHbPredictor.predict_image's Prediction.to_json().
import { hbInterval } from './hb.js';
import { roundHalfEven } from './image.js';
import { resize } from './resample.js';
import { prediction, refused, roundTo } from './results.js';
import { implausibleEstimate, implausibleTip, interpretInterval } from './who.js';

export const TISSUE_MIN = 10, BACKGROUND_WHITE = 250, RIM_PX = 7, WORK_SIDE = 256, MIN_TISSUE_PIXELS = 400, EPS = 1e-4;
export const MAX_TISSUE_FRACTION = 0.7;
export const PHOTO_TIP = 'photograph the pulled-down lower eyelid close up in even light and cut the pink inner lining out onto a plain background';
export const RETAKE = 'close up, in even light, with the lower eyelid pulled down and its pink lining cut out onto a plain background';
const TOO_LITTLE = 'too few conjunctiva pixels to measure';
const M = [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]];
const WHITE = [0.95047, 1.0, 1.08883];

export function tissueMasks(image) {
  const scale = WORK_SIDE / Math.max(image.width, image.height);
  const small = scale < 1 ? resize(image, Math.max(1, roundHalfEven(image.width * scale)), Math.max(1, roundHalfEven(image.height * scale)), 'bilinear') : image;
  const { width: w, height: h, data } = small;
  const tissue = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) {
    const r = data[3 * i], g = data[3 * i + 1], b = data[3 * i + 2];
    tissue[i] = Math.max(r, g, b) > TISSUE_MIN && Math.min(r, g, b) < BACKGROUND_WHITE ? 1 : 0;
  }
  const core = minFilter(minFilter(tissue, w, h, 1, 0), w, h, 0, 1); // a square min is a row min then a column min
  const rim = tissue.map((t, i) => (t && !core[i] ? 1 : 0));
  return { small, tissue, rim };
}

// Pillow's MinFilter(RIM_PX) along one axis: the image expanded by replicating its border, then the window minimum.
function minFilter(mask, w, h, dx, dy) {
  const out = new Uint8Array(w * h), half = RIM_PX >> 1;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    let value = 1;
    for (let k = -half; k <= half && value; k++) {
      const xx = Math.min(w - 1, Math.max(0, x + k * dx)), yy = Math.min(h - 1, Math.max(0, y + k * dy));
      value = mask[yy * w + xx];
    }
    out[y * w + x] = value;
  }
  return out;
}

const toLinear = (v) => { const c = Math.min(1, Math.max(0, v)); return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
const mean = (values) => values.reduce((s, v) => s + v, 0) / values.length;
function percentile(values, q) { // numpy's default (linear)
  const sorted = Float64Array.from(values).sort(), at = (q / 100) * (sorted.length - 1), lo = Math.floor(at);
  return lo + 1 < sorted.length ? sorted[lo] + (sorted[lo + 1] - sorted[lo]) * (at - lo) : sorted[lo];
}
function lab([r, g, b]) {
  const lin = [r, g, b].map((v) => toLinear(v / 255));
  const f = M.map((row, i) => (row[0] * lin[0] + row[1] * lin[1] + row[2] * lin[2]) / WHITE[i]).map((t) => (t > (6 / 29) ** 3 ? Math.cbrt(t) : t / (3 * (6 / 29) ** 2) + 4 / 29));
  return [116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])];
}

export function conjunctivaFeatures(image) {
  const { small, tissue, rim } = tissueMasks(image);
  const pixels = (mask) => { const out = []; mask.forEach((m, i) => m && out.push([small.data[3 * i], small.data[3 * i + 1], small.data[3 * i + 2]])); return out; };
  const centreMask = tissue.map((t, i) => (t && !rim[i] ? 1 : 0));
  const all = pixels(tissue), centre = pixels(centreMask), edge = pixels(rim);
  if (all.length < MIN_TISSUE_PIXELS || centre.length < MIN_TISSUE_PIXELS / 4 || edge.length < MIN_TISSUE_PIXELS / 4) return null;
  const linear = all.map((p) => p.map((v) => toLinear(v / 255) + EPS));
  const channel = (c) => linear.map((p) => p[c]);
  const [R, G, B] = [channel(0), channel(1), channel(2)];
  const means = [mean(R), mean(G), mean(B)];
  const labC = centre.map(lab), labR = edge.map(lab);
  const a = (set) => percentile(set.map((l) => l[1]), 50), chroma = (set) => percentile(set.map((l) => Math.hypot(l[1], l[2])), 50);
  const ei = R.map((r, i) => Math.log10(r / G[i]));
  const grey = [R.map((v) => v / means[0]), G.map((v) => v / means[1])];
  const logRatio = grey[0].map((v, i) => Math.log(v / grey[1][i])), logMean = mean(logRatio);
  const white = means.map((m, c) => m / percentile(channel(c), 99));
  const total = means[0] + means[1] + means[2];
  const f = {
    ei_mean: mean(ei), ei_p25: percentile(ei, 25), ei_p75: percentile(ei, 75),
    a_centre: a(labC), a_rim: a(labR), chroma_centre: chroma(labC), chroma_rim: chroma(labR),
    gw_r_p10: percentile(grey[0], 10), gw_r_p90: percentile(grey[0], 90), gw_g_p10: percentile(grey[1], 10), gw_g_p90: percentile(grey[1], 90),
    gw_rg_std: Math.sqrt(mean(logRatio.map((v) => (v - logMean) ** 2))),
    wp_r: white[0], wp_g: white[1], wp_b: white[2], wp_rg: Math.log(white[0] / white[1]),
    lin_r: means[0], lin_g: means[1], lin_b: means[2], chrom_r: means[0] / total, chrom_g: means[1] / total,
  };
  f.a_contrast = f.a_centre - f.a_rim;
  f.chroma_contrast = f.chroma_centre - f.chroma_rim;
  return { features: f, fraction: mean(tissue) };
}

// model: { manifest, sessions: { model }, Tensor, rules (WHO), disclaimer }
export async function predictConjunctiva(model, image, population = {}, imageId = '') {
  const { manifest, sessions, Tensor, disclaimer } = model;
  const fraction = mean(tissueMasks(image).tissue);
  if (fraction > MAX_TISSUE_FRACTION) {
    const reason = `not a segmented conjunctiva photo (${Math.round(fraction * 100)}% of the image is tissue; the model learned from cut-out eyelid linings)`;
    return refused(imageId, [reason], [PHOTO_TIP], disclaimer);
  }
  const measured = conjunctivaFeatures(image);
  if (!measured) return refused(imageId, [TOO_LITTLE], [PHOTO_TIP], disclaimer);
  const names = manifest.inputs.features.names;
  const outputs = await sessions.model.run({ features: new Tensor('float32', Float32Array.from(names.map((n) => measured.features[n])), [1, names.length]) });
  const hb = outputs.hb.data[0];
  const implausible = implausibleEstimate(model.rules, 'hb_g_dl', hb, 'g/dL');
  if (implausible) return refused(imageId, [implausible], [implausibleTip(RETAKE)], disclaimer);
  const [low, high] = hbInterval(hb, manifest.uncertainty);
  const interpretation = interpretInterval(model.rules, hb, low, high, population, disclaimer);
  const columns = { predicted_hgb: roundTo(hb, 3), interval_low: roundTo(low, 3), interval_high: roundTo(high, 3),
    who_severity: interpretation.statement, tissue_fraction: roundTo(fraction, 3) };
  return prediction(imageId, columns, { interpretation }, disclaimer);
}
