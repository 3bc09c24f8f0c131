// twin: vitalens/quality.py
// The photo-quality gate of vitalens/quality.py: refuse a photo we cannot read well, say why, and how
// to retake it. Same measures, thresholds and tips (the tips are the Python module's words).
import { percentile } from './stats.js';

export const TIPS = {
  dark: 'too dark: move to daylight or a brighter room',
  overexposed: 'overexposed: avoid the flash glare and direct sunlight',
  glare: 'glare: tilt the fingers or the phone so no shiny spot sits on the nails',
  blurred: 'blurred: hold still and tap to focus on the nails',
  no_hand: 'no hand found: put three fingers on a white card so they fill the frame',
  no_nail: 'no nail found: move closer so three fingernails fill the frame',
  low_confidence: 'nails not found clearly: move closer, in even light, so three fingernails fill the frame',
};

export const THRESHOLDS = {
  minMeanBrightness: 60.0, maxMeanBrightness: 235.0, maxClippedFraction: 0.7,
  maxHighlightFraction: 0.3, minSharpness: 10.0, minSkinFraction: 0.01,
};

const ANALYSIS_LONG_SIDE = 800;
const f32 = Math.fround;
const LUMA = [f32(0.299), f32(0.587), f32(0.114)];
const SRGB_TO_XYZ = [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]];
const D65 = [0.95047, 1.0, 1.08883];
const EPSILON = (6 / 29) ** 3;

const linear = (v) => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
const labF = (t) => (t > EPSILON ? Math.cbrt(t) : t / (3 * (6 / 29) ** 2) + 4 / 29);

// sRGB in [0, 1] -> CIELAB (D65), as vitalens/colour.py srgb_to_lab.
export function srgbToLab(r, g, b) {
  const lin = [linear(r), linear(g), linear(b)];
  const f = SRGB_TO_XYZ.map((row, k) => labF((row[0] * lin[0] + row[1] * lin[1] + row[2] * lin[2]) / D65[k]));
  return [116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])];
}

export function measureQuality(image) {
  const step = Math.max(1, Math.ceil(Math.max(image.height, image.width) / ANALYSIS_LONG_SIDE));
  const rows = Math.ceil(image.height / step), cols = Math.ceil(image.width / step);
  const luma = new Float32Array(rows * cols);
  let total = 0, clipped = 0, highlights = 0, skin = 0, sampled = 0;
  for (let row = 0, i = 0; row < rows; row++) {
    for (let col = 0; col < cols; col++, i++) {
      const p = (row * step * image.width + col * step) * 3;
      const r = image.data[p], g = image.data[p + 1], b = image.data[p + 2];
      luma[i] = f32(f32(f32(r * LUMA[0]) + f32(g * LUMA[1])) + f32(b * LUMA[2]));
      total += luma[i];
      if (row % 2 || col % 2) continue; // fractions use every other analysed pixel in each axis, as Python does
      sampled++;
      const high = (r >= 250) + (g >= 250) + (b >= 250);
      clipped += high > 0; highlights += high === 3;
      const [L, A, B] = srgbToLab(f32(r / 255), f32(g / 255), f32(b / 255));
      skin += A > 8 && B > 5 && L > 20 && L < 95;
    }
  }
  const n = rows * cols;
  return {
    mean_brightness: total / n,
    dark_percentile: percentile(luma, 5),
    bright_percentile: percentile(luma, 95),
    clipped_fraction: clipped / sampled,
    highlight_fraction: highlights / sampled,
    sharpness: laplacianVariance(luma, rows, cols),
    skin_fraction: skin / sampled,
  };
}

function laplacianVariance(luma, rows, cols) {
  if (rows < 3 || cols < 3) return 0;
  const values = new Float64Array((rows - 2) * (cols - 2));
  let k = 0;
  for (let y = 1; y < rows - 1; y++) {
    for (let x = 1; x < cols - 1; x++) {
      const at = (yy, xx) => luma[yy * cols + xx];
      values[k++] = f32(f32(f32(f32(at(y, x - 1) + at(y, x + 1)) + at(y - 1, x)) + at(y + 1, x)) - f32(4 * at(y, x)));
    }
  }
  const mean = values.reduce((a, v) => a + v, 0) / values.length;
  return values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length;
}

function verdict(failed, measures = null) {
  return { ok: failed.length === 0, reasons: failed, tips: failed.map((code) => TIPS[code]), measures };
}

export function assessPhoto(image, t = THRESHOLDS) {
  const m = measureQuality(image);
  let failed = [];
  if (m.mean_brightness < t.minMeanBrightness) failed.push('dark');
  if (m.mean_brightness > t.maxMeanBrightness || m.clipped_fraction > t.maxClippedFraction) failed.push('overexposed');
  if (!failed.length) { // detail, colour and highlights are unreadable in a too dark or blown-out photo
    if (m.highlight_fraction > t.maxHighlightFraction) failed.push('glare');
    if (m.sharpness < t.minSharpness) failed.push('blurred');
    if (m.skin_fraction < t.minSkinFraction) failed.push('no_hand');
  }
  return verdict(failed, m);
}

// Refuse when the detector found no nail scoring >= minScore.
export function gateDetections(detections, minScore) {
  const nails = detections.filter((d) => d.label === 'nail');
  if (nails.some((d) => d.score >= minScore)) return verdict([]);
  return verdict([nails.length ? 'low_confidence' : 'no_nail']);
}
