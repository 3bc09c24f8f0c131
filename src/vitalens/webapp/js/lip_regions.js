// twin: vitalens/tasks/hb_lips/regions.py
// The lip finder, ported step for step: at a working size of WORK_SIDE px (OpenCV's INTER_AREA), content pixels
// (coloured, not clipped, not flat), the lip score CIELAB a* - b* (Gaussian, sigma 1, float32), lips cut out onto
// a background taken whole, else connected red regions at a sweep of content percentiles rated by contrast with
// a ring around them, shape, size and border contact, the best grown to the largest region holding it. Returns
// find_lips's LipFinding: { region: { box, confidence, skinBox, method } | null, reason }, boxes (ymin, xmin, ymax, xmax).
import { boxBlur, close, components, dilate, gaussianBlur, open, resizeAreaBy } from './lip_cv.js';
import { percentile } from './stats.js';

export const WORK_SIDE = 400;
export const THRESHOLD_PERCENTILES = [50, 60, 70, 78, 85, 91, 95];
const MIN_CONTENT_FRACTION = 0.02, MIN_SCORE_SPREAD = 3.0, CONTRAST_UNIT = 8.0, MIN_QUALITY = 0.15;
const GROW_QUALITY = 0.6, GROW_CONTRAST = 0.4, MIN_COMPONENT_FRACTION = 0.002, ISOLATED_RING_CONTENT = 0.35;
const CUT_OUT_MIN_SHARE = 0.6, CUT_OUT_MIN_ASPECT = 1.3, CUT_OUT_MIN_REDNESS = 9.0, CUT_OUT_FULL_REDNESS = 15.0;
const SKIN_MARGIN = [0.6, 0.25], MIN_SKIN_CONTENT = 0.5;
const M = [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]];
const WHITE = [0.95047, 1.0, 1.08883];
const f32 = Math.fround, clip = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

// vitalens.colour.srgb_to_lab of one 8-bit pixel: [L*, a*, b*] under D65.
const LINEAR = Float64Array.from({ length: 256 }, (_, v) => { const c = v / 255; return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; });
export const linear8 = (v) => LINEAR[v];
const fLab = (t) => (t > (6 / 29) ** 3 ? Math.cbrt(t) : t / (3 * (6 / 29) ** 2) + 4 / 29);
export function lab8(r, g, b) {
  const lin = [LINEAR[r], LINEAR[g], LINEAR[b]];
  const f = M.map((row, i) => fLab((row[0] * lin[0] + row[1] * lin[1] + row[2] * lin[2]) / WHITE[i]));
  return [116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])];
}

// np.median of float32 values: the mean of the middle two in float32.
export function median32(values) {
  const sorted = Float64Array.from(values).sort(), mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : f32(f32(sorted[mid - 1] + sorted[mid]) / 2);
}

export function findLips(image) {
  if (Math.min(image.width, image.height) < 8) {
    return { region: null, reason: `expected an RGB image of at least 8x8 pixels, got shape (${image.height}, ${image.width}, 3)` };
  }
  const scale = Math.min(1.0, WORK_SIDE / Math.max(image.width, image.height));
  const small = scale < 1 ? resizeAreaBy(image, scale) : image, { width: w, height: h } = small, n = w * h;
  const lab = new Float64Array(n * 3), redness = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const [L, a, b] = lab8(small.data[3 * i], small.data[3 * i + 1], small.data[3 * i + 2]);
    lab[3 * i] = L; lab[3 * i + 1] = a; lab[3 * i + 2] = b; redness[i] = f32(a - b);
  }
  const content = contentMask(small, lab);
  const nContent = content.reduce((s, v) => s + v, 0);
  if (nContent / n < MIN_CONTENT_FRACTION) return { region: null, reason: 'no coloured content: the image is blank, flat, grey or too dark/bright' };
  const score = gaussianBlur(redness, w, h, 1.0);
  const grid = { w, h, content, nContent, score, contentScores: score.filter((_, i) => content[i]) };
  const cutOut = findCutOut(grid);
  if (cutOut) return { region: { box: toOriginal(cutOut.box, scale, image), confidence: cutOut.confidence, skinBox: null, method: 'cut-out' }, reason: '' };
  const [low, high] = [5, 95].map((q) => percentile(grid.contentScores, q));
  if (high - low < MIN_SCORE_SPREAD) return { region: null, reason: 'no region is redder than its surroundings (colour is uniform)' };
  const candidates = findCandidates(grid);
  if (!candidates.length) return { region: null, reason: 'no lip-shaped red region found' };
  const best = candidates.reduce((a, c) => (c.quality > a.quality ? c : a));
  if (best.quality < MIN_QUALITY) {
    return { region: null, reason: `best red region is not lip-like (quality ${best.quality.toFixed(2)} < ${MIN_QUALITY})` };
  }
  const grown = grow(best, candidates, score), skinBox = findSkinBox(grown.box, grid);
  const confidence = clip(grown.contrast / 1.2, 0.0, 1.0) * grown.shape;
  return { region: { box: toOriginal(grown.box, scale, image), confidence, skinBox: skinBox && toOriginal(skinBox, scale, image), method: 'colour' }, reason: '' };
}

// regions.content_mask: L* in (12, 98), chroma > 5, a 5x5 local standard deviation (float32) > 0.5, opened by a 3x3 ellipse.
export function contentMask(small, lab) {
  const { width: w, height: h, data } = small, n = w * h;
  const pixels = Float64Array.from(data), squares = pixels.map((v) => v * v);
  const mean = boxBlur(pixels, w, h, 3, 5), meanSquare = boxBlur(squares, w, h, 3, 5);
  const mask = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let std = -Infinity;
    for (let c = 0; c < 3; c++) {
      const m = mean[3 * i + c];
      std = Math.max(std, f32(Math.sqrt(Math.max(f32(meanSquare[3 * i + c] - f32(m * m)), 0))));
    }
    const L = lab[3 * i], chroma = Math.hypot(lab[3 * i + 1], lab[3 * i + 2]);
    mask[i] = L > 12 && L < 98 && chroma > 5 && std > 0.5 ? 1 : 0;
  }
  return open(mask, w, h, 3);
}

function findCandidates(grid) {
  const { w, h, content, score } = grid, found = [];
  for (const q of THRESHOLD_PERCENTILES) {
    const threshold = percentile(grid.contentScores, q);
    const mask = close(score.map((s, i) => (s > threshold && content[i] ? 1 : 0)), w, h, 5);
    const { count, labels, stats } = components(open(mask, w, h, 5), w, h);
    const members = Array.from({ length: count }, () => []);
    for (let i = 0; i < w * h; i++) if (labels[i]) members[labels[i]].push(i);
    for (let label = 1; label < count; label++) {
      if (stats[label][4] >= MIN_COMPONENT_FRACTION * w * h) found.push(rate(Int32Array.from(members[label]), stats[label], grid));
    }
  }
  return found;
}

function rate(pixels, [x, y, bw, bh, area], grid) {
  const { w, h, content, score, nContent } = grid;
  const mask = new Uint8Array(w * h);
  for (const i of pixels) mask[i] = 1;
  const ringPixels = ring(mask, w, h, [y, x, y + bh, x + bw], Math.max(3, Math.trunc(0.35 * bh))).filter((i) => content[i]);
  const inside = median32(Array.from(pixels, (i) => score[i]));
  const outside = ringPixels.length > 20 ? median32(ringPixels.map((i) => score[i])) : median32(grid.contentScores);
  const contrast = (inside - outside) / CONTRAST_UNIT, shape = shapePrior(bw, bh, area);
  const quality = Math.max(contrast, 0.0) * shape * sizePrior(area / Math.max(1, nContent)) * borderPrior(mask, w, h);
  return { mask, pixels, box: [y, x, y + bh, x + bw], quality, contrast, shape, inside, outside };
}

function grow(best, candidates, score) {
  const lipStep = best.inside - best.outside, size = best.pixels.length;
  const addsLip = (c) => {
    const added = Array.from(c.pixels).filter((i) => !best.mask[i]);
    return added.length < 0.05 * size || median32(added.map((i) => score[i])) - best.outside >= GROW_CONTRAST * lipStep;
  };
  const overlap = (c) => Array.from(c.pixels).reduce((s, i) => s + best.mask[i], 0);
  const holders = candidates.filter((c) => c.quality >= GROW_QUALITY * best.quality && overlap(c) >= 0.8 * size && addsLip(c));
  return holders.reduce((a, c) => (c.pixels.length > a.pixels.length ? c : a));
}

// regions._ring: the mask dilated by an ellipse of radius `width`, minus the mask, as pixel indices. Only the
// window of `box` grown by `width` can change, so only it is dilated.
function ring(mask, w, h, [ymin, xmin, ymax, xmax], width) {
  const y0 = Math.max(0, ymin - width), x0 = Math.max(0, xmin - width), y1 = Math.min(h, ymax + width), x1 = Math.min(w, xmax + width);
  const ww = x1 - x0, wh = y1 - y0, window = new Uint8Array(ww * wh);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) window[(y - y0) * ww + x - x0] = mask[y * w + x];
  const grown = dilate(window, ww, wh, 2 * width + 1), out = [];
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (grown[(y - y0) * ww + x - x0] && !mask[y * w + x]) out.push(y * w + x);
  return out;
}

function shapePrior(width, height, area) {
  const aspect = width / Math.max(height, 1);
  const aspectFit = Math.exp(-(((Math.log(aspect) - Math.log(2.5)) / 0.8) ** 2));
  return aspectFit * clip((area / Math.max(width * height, 1) - 0.2) / 0.3, 0.0, 1.0);
}

function sizePrior(fraction) {
  if (fraction < 0.005) return fraction / 0.005;
  if (fraction > 0.6) return Math.max(0.0, 1.0 - (fraction - 0.6) / 0.3);
  return 1.0;
}

function borderPrior(mask, w, h) {
  let edges = 0;
  for (let x = 0; x < w; x++) edges += mask[x] + mask[(h - 1) * w + x];
  for (let y = 0; y < h; y++) edges += mask[y * w] + mask[y * w + w - 1];
  return clip(1.0 - (4.0 * edges) / (2 * (h + w)), 0.2, 1.0);
}

// regions._cut_out: one wide, red island holding most of the content, with almost no content around it.
function findCutOut({ w, h, content, nContent, score }) {
  const { count, labels, stats } = components(content, w, h);
  let biggest = 0;
  for (let label = 1; label < count; label++) if (stats[label][4] > (biggest ? stats[biggest][4] : 0)) biggest = label;
  if (!biggest || stats[biggest][4] < CUT_OUT_MIN_SHARE * nContent) return null;
  const [x, y, bw, bh] = stats[biggest], width = Math.max(3, Math.floor(bh / 10));
  const pw = w + 2 * width, ph = h + 2 * width, padded = new Uint8Array(pw * ph), blob = [];
  for (let i = 0; i < w * h; i++) {
    if (labels[i] !== biggest) continue;
    blob.push(score[i]);
    padded[(Math.floor(i / w) + width) * pw + (i % w) + width] = 1;
  }
  // beyond the frame the border pixels continue (np.pad mode "edge")
  const around = ring(padded, pw, ph, [y + width, x + width, y + bh + width, x + bw + width], width);
  const edge = (i) => content[clip(Math.floor(i / pw) - width, 0, h - 1) * w + clip((i % pw) - width, 0, w - 1)];
  const surrounded = around.reduce((s, i) => s + edge(i), 0) / around.length < ISOLATED_RING_CONTENT;
  const redness = median32(blob);
  if (surrounded && bw >= CUT_OUT_MIN_ASPECT * bh && redness >= CUT_OUT_MIN_REDNESS) {
    return { box: [y, x, y + bh, x + bw], confidence: clip(redness / CUT_OUT_FULL_REDNESS, 0.0, 1.0) };
  }
  return null;
}

function findSkinBox([ymin, xmin, ymax, xmax], { w, h, content }) {
  const growY = Math.trunc(SKIN_MARGIN[0] * (ymax - ymin)), growX = Math.trunc(SKIN_MARGIN[1] * (xmax - xmin));
  const outer = [Math.max(0, ymin - growY), Math.max(0, xmin - growX), Math.min(h, ymax + growY), Math.min(w, xmax + growX)];
  let total = 0, filled = 0;
  for (let y = outer[0]; y < outer[2]; y++) for (let x = outer[1]; x < outer[3]; x++) {
    if (y >= ymin && y < ymax && x >= xmin && x < xmax) continue;
    total++; filled += content[y * w + x];
  }
  return !total || filled / total < MIN_SKIN_CONTENT ? null : outer;
}

function toOriginal(box, scale, { width, height }) {
  const [ymin, xmin, ymax, xmax] = box.map((v) => v / scale);
  return [clip(Math.floor(ymin), 0, height - 1), clip(Math.floor(xmin), 0, width - 1), clip(Math.ceil(ymax), 1, height), clip(Math.ceil(xmax), 1, width)];
}
