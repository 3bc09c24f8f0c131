// twin: vitalens/tasks/hb_nails/detection.py
// The nail detector's serving half, as vitalens/tasks/hb_nails/detection.py: letterbox -> ONNX -> decode
// (3x3 peak picking, score threshold, class-wise NMS, letterbox undone) -> the regressor's regions.
// Boxes are [ymin, xmin, ymax, xmax] in pixels of the upright photo. Box arithmetic is rounded to
// float32 where numpy works in float32, so integer boxes round the same way.
import { rgbImage, roundHalfEven } from './image.js';
import { resize } from './resample.js';
import { adjacentSkinBox } from './nails.js';

const f32 = Math.fround;

export function letterboxPlacement(height, width, size) {
  const scale = size / Math.max(height, width);
  return {
    scale,
    padY: Math.floor((size - roundHalfEven(height * scale)) / 2),
    padX: Math.floor((size - roundHalfEven(width * scale)) / 2),
    size,
  };
}

export function letterbox(image, size, padValue) {
  const placement = letterboxPlacement(image.height, image.width, size);
  const newH = Math.max(1, roundHalfEven(image.height * placement.scale));
  const newW = Math.max(1, roundHalfEven(image.width * placement.scale));
  const resized = resize(image, newW, newH, 'bilinear');
  const square = rgbImage(size, size, new Uint8Array(size * size * 3).fill(padValue));
  const h = Math.min(newH, size - placement.padY), w = Math.min(newW, size - placement.padX);
  for (let y = 0; y < h; y++) {
    square.data.set(resized.data.subarray(y * newW * 3, (y * newW + w) * 3), ((y + placement.padY) * size + placement.padX) * 3);
  }
  return { square, placement };
}

// S x S x 3 uint8 -> 1 x 3 x S x S float32, (pixel - centre) / scale as bundle.json's normalisation says.
export function toDetectorInput(square, centre = 127, scale = 128) {
  const plane = square.width * square.height;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) out[c * plane + i] = (square.data[i * 3 + c] - centre) / scale;
  }
  return out;
}

function isPeak(heatmap, c, y, x, H, W) {
  const value = heatmap[(c * H + y) * W + x];
  for (let dy = -1; dy <= 1; dy++) {
    for (let dx = -1; dx <= 1; dx++) {
      const yy = y + dy, xx = x + dx;
      if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
      if (heatmap[(c * H + yy) * W + xx] > value) return false;
    }
  }
  return true;
}

function iou(a, b) {
  const h = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const w = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = h * w;
  const area = (r) => (r[2] - r[0]) * (r[3] - r[1]);
  return inter / Math.max(area(a) + area(b) - inter, 1e-9);
}

// Stable order of indices by descending score (numpy's argsort(-scores, kind="stable")).
function byScore(scores) {
  return scores.map((s, i) => [s, i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]).map(([, i]) => i);
}

export function nms(boxes, scores, labels, iouThreshold) {
  const kept = [];
  for (const index of byScore(scores)) {
    const clash = kept.some((k) => labels[k] === labels[index] && iou(boxes[index], boxes[k]) > iouThreshold);
    if (!clash) kept.push(index);
  }
  return kept;
}

// heatmap: C x H x W scores; boxMaps: 4 x H x W (centre_y, centre_x, height, width) in input pixels.
export function decodeDetections(heatmap, boxMaps, H, W, placement, photoHeight, photoWidth, rules, maxPerClass = 20) {
  const classes = rules.classes;
  const threshold = f32(rules.score_threshold);
  const candidates = [];
  for (let c = 0; c < classes.length; c++) {
    const found = [];
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const score = heatmap[(c * H + y) * W + x];
        if (score >= threshold && isPeak(heatmap, c, y, x, H, W)) found.push({ y, x, score });
      }
    }
    for (const i of byScore(found.map((f) => f.score)).slice(0, maxPerClass)) {
      const { y, x, score } = found[i];
      const at = (k) => boxMaps[(k * H + y) * W + x];
      const [cy, cx, h, w] = [at(0), at(1), at(2), at(3)];
      const box = [f32(cy - f32(h / 2)), f32(cx - f32(w / 2)), f32(cy + f32(h / 2)), f32(cx + f32(w / 2))];
      candidates.push({ label: c, score, box: toPhoto(box, placement, photoHeight, photoWidth) });
    }
  }
  const kept = nms(candidates.map((d) => d.box), candidates.map((d) => d.score), candidates.map((d) => d.label), rules.iou_threshold);
  return kept
    .map((i) => candidates[i])
    .filter((d) => d.box[2] > d.box[0] && d.box[3] > d.box[1]) // a peak in the letterbox pad is no detection
    .map((d) => ({ label: classes[d.label], score: d.score, box: d.box }));
}

function toPhoto(box, placement, height, width) {
  const pads = [placement.padY, placement.padX, placement.padY, placement.padX];
  const limits = [height, width, height, width];
  const scale = f32(placement.scale);
  return box.map((v, k) => Math.min(Math.max(f32(f32(v - pads[k]) / scale), 0), limits[k]));
}

export async function detect(image, session, Tensor, rules) {
  const size = rules.input.size;
  const { square, placement } = letterbox(image, size, rules.input.letterbox_pad);
  const input = new Tensor('float32', toDetectorInput(square), [1, 3, size, size]);
  const outputs = await session.run({ [session.inputNames[0]]: input });
  const [heatmap, boxMaps] = session.outputNames.map((name) => outputs[name]);
  const [, , H, W] = heatmap.dims;
  return decodeDetections(heatmap.data, boxMaps.data, H, W, placement, image.height, image.width, rules);
}

const integerBox = (box) => box.map(roundHalfEven);
const centreDistance = (a, b) => Math.hypot((a[0] + a[2] - b[0] - b[2]) / 2, (a[1] + a[3] - b[1] - b[3]) / 2);

// The max_nails most confident nails, each with the nearest unused detected skin box (else its adjacent skin).
export function detectionsToRegions(detections, minScore, maxNails) {
  const nails = detections.filter((d) => d.label === 'nail' && d.score >= minScore)
    .map((d, i) => [d, i]).sort((a, b) => b[0].score - a[0].score || a[1] - b[1]).slice(0, maxNails).map(([d]) => d);
  const unused = detections.filter((d) => d.label === 'skin' && d.score >= minScore).map((d) => integerBox(d.box));
  const nailBoxes = nails.map((d) => integerBox(d.box));
  const skinBoxes = nailBoxes.map((nail) => {
    if (!unused.length) return adjacentSkinBox(nail);
    let best = 0;
    for (let i = 1; i < unused.length; i++) if (centreDistance(nail, unused[i]) < centreDistance(nail, unused[best])) best = i;
    return unused.splice(best, 1)[0];
  });
  return { nailBoxes, skinBoxes, scores: nails.map((d) => d.score) };
}
