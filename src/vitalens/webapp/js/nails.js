// twin: vitalens/tasks/hb_nails/regions.py
// Nail and skin regions and the photo's white (and red-mark) reference, as vitalens/tasks/hb_nails/regions.py and the
// bundle's "region" rules: crops resized with Pillow's BOX filter, float32 in [0, 1], NCHW.
import { crop, toPlanar } from './image.js';
import { resize } from './resample.js';

const f32 = Math.fround;

export function adjacentSkinBox([ymin, xmin, ymax, xmax]) {
  const width = xmax - xmin;
  const half = Math.floor(width / 2);
  return [ymin, xmax + half, ymax, xmax + width + half];
}

export function clipBox([ymin, xmin, ymax, xmax], height, width) {
  ymin = Math.max(0, Math.min(ymin, height - 1));
  ymax = Math.max(1, Math.min(ymax, height));
  xmin = Math.max(0, Math.min(xmin, width - 1));
  xmax = Math.max(1, Math.min(xmax, width));
  return [ymin, xmin, Math.max(ymax, ymin + 1), Math.max(xmax, xmin + 1)];
}

// N boxes -> Float32Array N x 3 x size x size.
export function cropRegions(image, boxes, size) {
  const plane = size * size;
  const out = new Float32Array(boxes.length * 3 * plane);
  boxes.forEach((box, n) => {
    toPlanar(resize(crop(image, clipBox(box, image.height, image.width)), size, size, 'box'), out, n * 3 * plane);
  });
  return out;
}

// Median colour of the bright, unsaturated pixels (the white card), in [0, 1], as float32 like numpy.
export function referenceWhite(image, rules) {
  const { stride, brightness_percentile: percentileRank, max_saturation: maxSaturation } = rules;
  const rows = Math.ceil(image.height / stride), cols = Math.ceil(image.width / stride), n = rows * cols;
  const channels = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  const brightness = new Float32Array(n), saturation = new Float32Array(n);
  for (let y = 0, i = 0; y < image.height; y += stride) {
    for (let x = 0; x < image.width; x += stride, i++) {
      const p = (y * image.width + x) * 3;
      for (let c = 0; c < 3; c++) channels[c][i] = image.data[p + c] / 255;
      const [fr, fg, fb] = [channels[0][i], channels[1][i], channels[2][i]];
      brightness[i] = f32(f32(fr + fg) + fb) / 3;
      saturation[i] = Math.max(fr, fg, fb) - Math.min(fr, fg, fb);
    }
  }
  const cut = percentileFloat32(brightness, percentileRank);
  const limit = f32(maxSaturation);
  const bright = [], selected = [];
  for (let i = 0; i < n; i++) {
    if (!(brightness[i] > cut)) continue;
    bright.push(i);
    if (saturation[i] < limit) selected.push(i);
  }
  let chosen = selected;
  if (selected.length < 50) chosen = bright.length >= 50 ? bright : Array.from({ length: n }, (_, i) => i); // no card in view
  return channels.map((values) => Math.min(Math.max(medianFloat32(chosen.map((i) => values[i])), f32(1e-3)), 1));
}

// The card's red mark (vitalens/tasks/hb_nails/regions.py reference_red): median colour of the largest 8-connected
// pure-red blob, eroded by a 3x3 square (pixels outside the photo count as inside, as OpenCV's erode);
// null when there is none or it covers less than min_area_fraction of the photo.
export function referenceRed(image, rules) {
  const { min_red_excess: minExcess, max_green_blue_gap: maxGap, min_area_fraction: minFraction } = rules;
  const { width, height, data } = image, n = width * height;
  const excess = f32(minExcess), gap = f32(maxGap);
  const mask = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = f32(data[i * 3] / 255), g = f32(data[i * 3 + 1] / 255), b = f32(data[i * 3 + 2] / 255);
    mask[i] = f32(r - Math.max(g, b)) > excess && Math.abs(f32(g - b)) < gap ? 1 : 0;
  }
  const blob = largestComponent(mask, width, height);
  if (blob.length === 0 || blob.length < minFraction * n) return null;
  const inBlob = new Uint8Array(n);
  for (const i of blob) inBlob[i] = 1;
  const core = blob.filter((i) => {
    const y = Math.floor(i / width), x = i % width;
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const yy = y + dy, xx = x + dx;
        if (yy >= 0 && yy < height && xx >= 0 && xx < width && !inBlob[yy * width + xx]) return false;
      }
    }
    return true;
  });
  const chosen = core.length ? core : blob;
  return [0, 1, 2].map((c) => Math.min(Math.max(medianFloat32(chosen.map((i) => f32(data[i * 3 + c] / 255))), f32(1e-3)), 1));
}

// Pixel indices of the largest 8-connected component (the first found, in raster order, on a tie).
function largestComponent(mask, width, height) {
  const seen = new Uint8Array(mask.length);
  let best = [];
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || seen[start]) continue;
    const component = [start];
    seen[start] = 1;
    for (let k = 0; k < component.length; k++) {
      const y = Math.floor(component[k] / width), x = component[k] % width;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const yy = y + dy, xx = x + dx, j = yy * width + xx;
          if (yy >= 0 && yy < height && xx >= 0 && xx < width && mask[j] && !seen[j]) {
            seen[j] = 1;
            component.push(j);
          }
        }
      }
    }
    if (component.length > best.length) best = component;
  }
  return best;
}

function percentileFloat32(values, q) {
  const sorted = Float32Array.from(values).sort();
  const position = (sorted.length - 1) * (q / 100);
  const lower = Math.floor(position), upper = Math.min(lower + 1, sorted.length - 1);
  const t = position - lower, diff = sorted[upper] - sorted[lower];
  return t >= 0.5 ? sorted[upper] - diff * (1 - t) : sorted[lower] + diff * t;
}

function medianFloat32(values) {
  const sorted = Float32Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : f32(f32(sorted[mid - 1] + sorted[mid]) / 2);
}

export function nailRegions(image, nailBoxes, skinBoxes, region) {
  if (!nailBoxes.length) throw new Error('no nail boxes: the detector found no nails');
  if (skinBoxes.length !== nailBoxes.length) skinBoxes = nailBoxes.map(adjacentSkinBox);
  const size = region.crop_size;
  const white = referenceWhite(image, region.white_reference);
  // only bundles whose graph reads the red mark carry its rules; without a mark the red is white x the expected ratio
  const redRules = region.red_reference;
  const found = redRules ? referenceRed(image, redRules) : null;
  const red = found ?? (redRules ? white.map((w, c) => f32(w * f32(redRules.relative_when_missing[c]))) : null);
  return {
    nails: cropRegions(image, nailBoxes, size),
    skins: cropRegions(image, skinBoxes, size),
    white,
    red,
    redFound: found !== null,
    skinBoxes,
  };
}
