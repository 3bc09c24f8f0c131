// twin: none (ports of the OpenCV operations vitalens/tasks/hb_lips/regions.py uses, not of a vitalens module)
// cv2.resize(fx=fy=scale, INTER_AREA), GaussianBlur (float32, sigma 1), blur (float32, 5x5), the elliptic
// structuring element, binary erode/dilate/open/close (outside pixels ignored, as OpenCV's default border
// value does), a large elliptic dilation by row spans, and 8-connected components numbered in OpenCV's order
// (the first 2x2 block of a component, blocks in raster order). Borders are BORDER_REFLECT_101, as OpenCV's.
// Masks are Uint8Array(h*w) of 0/1; float planes are Float64Array holding float32 values (Math.fround).
import { areaTable, cast8, resampleWithTables } from './cv_ports.js';
import { rgbImage, roundHalfEven } from './image.js';

const f32 = Math.fround;

// cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) for scale < 1: the output size is the
// rounded product and the area weights use 1/scale itself (not the ratio of the sizes), as OpenCV does.
export function resizeAreaBy(image, scale) {
  const width = roundHalfEven(image.width * scale), height = roundHalfEven(image.height * scale), step = 1 / scale;
  const whole = roundHalfEven(step);
  if (Math.abs(step - whole) < Number.EPSILON) return resizeAreaFast(image, whole, width, height);
  return resampleWithTables(image, width, height, areaTable(image.width, width, step), areaTable(image.height, height, step));
}

// OpenCV's resizeAreaFast_ for a whole shrink factor k: 2x2 blocks as (sum + 2) >> 2, larger ones as
// cvRound(sum * (1/k²)) in float32, blocks cut by the frame as the float mean of their pixels inside it.
function resizeAreaFast(image, k, width, height) {
  const src = image.data, out = rgbImage(width, height), scale = f32(1 / (k * k));
  for (let dy = 0; dy < height; dy++) for (let dx = 0; dx < width; dx++) for (let c = 0; c < 3; c++) {
    let sum = 0, count = 0;
    for (let y = dy * k; y < Math.min(dy * k + k, image.height); y++) {
      for (let x = dx * k; x < Math.min(dx * k + k, image.width); x++) { sum += src[(y * image.width + x) * 3 + c]; count++; }
    }
    const o = (dy * width + dx) * 3 + c;
    if (count < k * k) out.data[o] = count ? cast8(f32(sum / count)) : 0;
    else out.data[o] = k === 2 ? (sum + 2) >> 2 : cast8(f32(sum * scale));
  }
  return out;
}

export function reflect101(p, len) {
  if (len === 1) return 0;
  while (p < 0 || p >= len) p = p < 0 ? -p : 2 * len - 2 - p;
  return p;
}

// A separable float32 filter of `channels` interleaved planes: rows, then columns, each pass rounded to float32.
function separable(plane, w, h, channels, kernel, scale = 1) {
  const r = kernel.length >> 1, mid = new Float64Array(plane.length), out = new Float64Array(plane.length);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < channels; c++) {
    let s = 0;
    for (let k = -r; k <= r; k++) s += kernel[k + r] * plane[(y * w + reflect101(x + k, w)) * channels + c];
    mid[(y * w + x) * channels + c] = scale === 1 ? f32(s) : s;
  }
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < channels; c++) {
    let s = 0;
    for (let k = -r; k <= r; k++) s += kernel[k + r] * mid[(reflect101(y + k, h) * w + x) * channels + c];
    out[(y * w + x) * channels + c] = f32(s * scale);
  }
  return out;
}

// cv2.GaussianBlur(float32 plane, (0, 0), sigma): a 9-tap kernel for sigma 1 (cvRound(sigma*4*2+1)|1), float32 weights.
export function gaussianBlur(plane, w, h, sigma) {
  // getGaussianKernelBitExact: the half-kernel's sum doubled plus the centre, each weight times 1/sum
  const n = roundHalfEven(sigma * 4 * 2 + 1) | 1, half = (n - 1) >> 1, scale2 = -0.5 / (sigma * sigma), values = [];
  let total = 0;
  for (let i = 0; i < half; i++) { const x = i - half, t = Math.exp(x * x * scale2); values.push(t); total += t; }
  const inverse = 1 / (total * 2 + 1), weights = new Array(n);
  for (let i = 0; i < half; i++) weights[i] = weights[n - 1 - i] = f32(values[i] * inverse);
  weights[half] = f32(inverse);
  return separable(plane, w, h, 1, weights);
}

// cv2.blur(float32 image, (k, k)): exact sums of the window (double), times 1/k², rounded to float32.
export function boxBlur(plane, w, h, channels, k) {
  return separable(plane, w, h, channels, new Array(k).fill(1), 1 / (k * k));
}

// cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)): for each row offset, its half width.
export function ellipseSpans(size) {
  const r = size >> 1, inverse = r ? 1 / (r * r) : 0, spans = [];
  for (let i = 0; i < size; i++) {
    const dy = i - r;
    spans.push(roundHalfEven(r * Math.sqrt((r * r - dy * dy) * inverse)));
  }
  return spans;
}

// Binary dilation (any) or erosion (all) by an elliptic element; pixels beyond the frame are ignored. Row
// prefix counts make each row span an O(1) test, so large rings stay fast.
function morph(mask, w, h, size, dilate) {
  const spans = ellipseSpans(size), r = size >> 1, prefix = new Int32Array(h * (w + 1)), out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) prefix[y * (w + 1) + x + 1] = prefix[y * (w + 1) + x] + mask[y * w + x];
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    let value = dilate ? 0 : 1;
    for (let i = 0; i < size; i++) {
      const yy = y + i - r;
      if (yy < 0 || yy >= h) continue;
      const x0 = Math.max(0, x - spans[i]), x1 = Math.min(w - 1, x + spans[i]);
      const count = prefix[yy * (w + 1) + x1 + 1] - prefix[yy * (w + 1) + x0];
      if (dilate ? count > 0 : count < x1 - x0 + 1) { value = dilate ? 1 : 0; break; }
    }
    out[y * w + x] = value;
  }
  return out;
}

export const dilate = (mask, w, h, size) => morph(mask, w, h, size, true);
export const erode = (mask, w, h, size) => morph(mask, w, h, size, false);
export const open = (mask, w, h, size) => dilate(erode(mask, w, h, size), w, h, size);
export const close = (mask, w, h, size) => erode(dilate(mask, w, h, size), w, h, size);

// cv2.connectedComponentsWithStats(mask, connectivity=8): { count, labels (Int32Array, 0 = background),
// stats: [[x, y, width, height, area]] indexed by label }, labels in the order of their first 2x2 block.
export function components(mask, w, h) {
  const parent = new Int32Array(w * h).fill(-1);
  const find = (i) => { while (parent[i] !== i) { parent[i] = parent[parent[i]]; i = parent[i]; } return i; };
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const i = y * w + x;
    if (!mask[i]) continue;
    parent[i] = i;
    for (const [dx, dy] of [[-1, 0], [-1, -1], [0, -1], [1, -1]]) {
      const xx = x + dx, yy = y + dy;
      if (xx < 0 || xx >= w || yy < 0 || !mask[yy * w + xx]) continue;
      const a = find(i), b = find(yy * w + xx);
      if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
    }
  }
  const blocks = Math.ceil(w / 2), first = new Map();
  for (let i = 0; i < w * h; i++) {
    if (!mask[i]) continue;
    const root = find(i), key = Math.floor(Math.floor(i / w) / 2) * blocks + Math.floor((i % w) / 2);
    if (!first.has(root) || key < first.get(root)) first.set(root, key);
  }
  const order = [...first.entries()].sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  const labelOf = new Map(order.map(([root], k) => [root, k + 1]));
  const labels = new Int32Array(w * h), stats = [[0, 0, w, h, 0]];
  for (let k = 0; k < order.length; k++) stats.push([w, h, -1, -1, 0]);
  for (let i = 0; i < w * h; i++) {
    if (!mask[i]) continue;
    const label = labelOf.get(find(i)), s = stats[label], x = i % w, y = Math.floor(i / w);
    labels[i] = label;
    s[0] = Math.min(s[0], x); s[1] = Math.min(s[1], y); s[2] = Math.max(s[2], x); s[3] = Math.max(s[3], y); s[4]++;
  }
  for (let k = 1; k < stats.length; k++) { const s = stats[k]; s[2] = s[2] - s[0] + 1; s[3] = s[3] - s[1] + 1; }
  stats[0][4] = w * h - stats.slice(1).reduce((t, s) => t + s[4], 0);
  return { count: stats.length, labels, stats };
}
