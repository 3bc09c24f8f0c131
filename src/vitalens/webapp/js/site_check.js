// twin: vitalens/site_check.py
// Is this a photo of the body site the model learned from? The same 102 numbers as the Python module
// (64 x 64 box-filtered: chromaticity, brightness, saturation, gradient orientations per quadrant, edge
// density, 3 x 3 mean colours) and the bundle's logistic weights; under the threshold the photo is refused.
import { resize } from './resample.js';

const SIDE = 64, CHROMA = 6, LUMA = 8, SATURATION = 6, ORIENTATION = 6, GRID = 3;

const bin = (value, bins) => Math.min(Math.max(Math.trunc(value * bins), 0), bins - 1);

function histogram(values, bins, weights = null) {
  const counts = new Float64Array(bins);
  let total = 0;
  values.forEach((v, i) => { const w = weights ? weights[i] : 1; counts[bin(v, bins)] += w; total += w; });
  return total > 0 ? Array.from(counts, (c) => c / total) : Array.from(counts);
}

export function siteFeatures(image) {
  const small = resize(image, SIDE, SIDE, 'box');
  const n = SIDE * SIDE, px = (y, x, c) => small.data[(y * SIDE + x) * 3 + c];
  const chroma = new Float64Array(CHROMA * CHROMA), luma = new Float64Array(n), saturation = new Float64Array(n);
  for (let i = 0; i < n; i += 1) {
    const r = small.data[3 * i], g = small.data[3 * i + 1], b = small.data[3 * i + 2];
    const total = r + g + b + 1.0;
    chroma[bin(r / total, CHROMA) * CHROMA + bin(g / total, CHROMA)] += 1 / n;
    luma[i] = (r * 299 + g * 587 + b * 114) / 1000.0;
    const peak = Math.max(r, g, b), trough = Math.min(r, g, b);
    saturation[i] = (peak - trough) / (peak + 1.0);
  }
  const lumaAt = (y, x) => luma[y * SIDE + x];
  const magnitude = new Float64Array(n), orientation = new Float64Array(n);
  for (let y = 0; y < SIDE; y += 1) {
    for (let x = 0; x < SIDE; x += 1) {
      const gy = y > 0 && y < SIDE - 1 ? lumaAt(y + 1, x) - lumaAt(y - 1, x) : 0;
      const gx = x > 0 && x < SIDE - 1 ? lumaAt(y, x + 1) - lumaAt(y, x - 1) : 0;
      const angle = Math.atan2(gy, gx);
      magnitude[y * SIDE + x] = Math.hypot(gx, gy);
      orientation[y * SIDE + x] = (((angle % Math.PI) + Math.PI) % Math.PI) / Math.PI;
    }
  }
  const half = SIDE / 2, edges = [];
  for (const [y0, x0] of [[0, 0], [0, half], [half, 0], [half, half]]) {
    const values = [], weights = [];
    for (let y = y0; y < y0 + half; y += 1) for (let x = x0; x < x0 + half; x += 1) { values.push(orientation[y * SIDE + x]); weights.push(magnitude[y * SIDE + x]); }
    edges.push(...histogram(values, ORIENTATION, weights));
  }
  const cell = Math.trunc(SIDE / GRID), layout = [];
  for (let i = 0; i < GRID; i += 1) {
    for (let j = 0; j < GRID; j += 1) {
      const sums = [0, 0, 0];
      for (let y = i * cell; y < (i + 1) * cell; y += 1) for (let x = j * cell; x < (j + 1) * cell; x += 1) for (let c = 0; c < 3; c += 1) sums[c] += px(y, x, c);
      layout.push(...sums.map((s) => s / (cell * cell) / 255.0));
    }
  }
  const meanMagnitude = magnitude.reduce((a, b) => a + b, 0) / n;
  return [...chroma, ...histogram(Array.from(luma, (v) => v / 256.0), LUMA), ...histogram(Array.from(saturation), SATURATION),
    ...edges, meanMagnitude / 255.0, ...layout];
}

// { ok, score } for the bundle.json "site_check" entry, or { ok: true } when the bundle has none.
export function siteCheck(image, check) {
  if (!check) return { ok: true, score: null };
  const features = siteFeatures(image);
  const score = features.reduce((sum, f, i) => sum + ((f - check.mean[i]) / check.scale[i]) * check.weights[i], check.bias);
  return { ok: score >= check.threshold, score };
}
