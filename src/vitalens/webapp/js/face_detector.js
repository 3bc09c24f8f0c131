// twin: vitalens/regions/faces.py
// Faces and their 5 landmarks in any photo, with MTCNN's three small ONNX nets (Zhang et al. 2016), step for
// step as the Python twin: an image pyramid through the fully convolutional PNet gives proposals, RNet and
// ONet re-score them on 24x24 and 48x48 patches (zero outside the photo, so a face at the border keeps its
// proportions), and ONet adds the landmarks (left eye, right eye, nose, left and right mouth corner, as the
// viewer sees them). Boxes here are [x1, y1, x2, y2, score, ...offsets] arrays, as the numpy rows; a Face
// is { box: [ymin, xmin, ymax, xmax], score, landmarks: [[x, y] x 5] }. The resampling is OpenCV's
// (cv_ports.js), so the nets see what they see in Python; JS numbers are doubles, so the box arithmetic
// on the nets' float32 outputs is numpy's float64 arithmetic.
import { rgbImage, roundHalfEven } from './image.js';
import { resizeArea, warpAffine } from './cv_ports.js';

export const THRESHOLDS = [0.6, 0.7, 0.7]; // PNet, RNet, ONet cut-offs, MTCNN's published defaults
export const PYRAMID_FACTOR = 0.709; // each level is this times the last (area halves every two levels)
export const CELL = 12, STRIDE = 2; // PNet's receptive field and output stride, in pixels of its level

export function faceSide(face) {
  return Math.min(face.box[2] - face.box[0], face.box[3] - face.box[1]);
}

// Indices of the boxes kept by greedy non-maximum suppression, best first (numpy's stable argsort of
// -score: ties keep their order); overlap is over the union, or over the smaller box (byMin, nested boxes).
export function nms(boxes, threshold, byMin = false) {
  let order = boxes.map((_, i) => i).sort((i, j) => boxes[j][4] - boxes[i][4] || i - j);
  const area = boxes.map((b) => (b[2] - b[0] + 1) * (b[3] - b[1] + 1));
  const keep = [];
  while (order.length) {
    const i = order[0], a = boxes[i];
    keep.push(i);
    order = order.slice(1).filter((j) => {
      const b = boxes[j];
      const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]) + 1);
      const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]) + 1);
      const inter = w * h;
      return inter / (byMin ? Math.min(area[i], area[j]) : area[i] + area[j] - inter) <= threshold;
    });
  }
  return keep;
}

// PNet's maps for one level (offsets [4, h, w], probs [h, w], flat row-major) -> boxes in photo pixels,
// each with its score and 4 offsets, in numpy's nonzero order (row by row).
export function pnetBoxes(offsets, probs, height, width, scale, threshold) {
  const out = [], plane = height * width;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const k = y * width + x;
      if (!(probs[k] >= threshold)) continue;
      out.push([Math.floor((STRIDE * x + 1) / scale), Math.floor((STRIDE * y + 1) / scale),
        Math.floor((STRIDE * x + CELL) / scale), Math.floor((STRIDE * y + CELL) / scale),
        probs[k], offsets[k], offsets[plane + k], offsets[2 * plane + k], offsets[3 * plane + k]]);
    }
  }
  return out;
}

// Each box's edges shifted by its offsets (fractions of its width and height); keeps x1..score.
export function refine(boxes, offsets) {
  return boxes.map((b, i) => {
    const w = b[2] - b[0] + 1, h = b[3] - b[1] + 1, o = offsets[i];
    return [b[0] + o[0] * w, b[1] + o[1] * h, b[2] + o[2] * w, b[3] + o[3] * h, b[4]];
  });
}

// Each box widened to a square on its longer side, about its centre (the nets see square patches).
export function squared(boxes) {
  return boxes.map((b) => {
    const w = b[2] - b[0], h = b[3] - b[1], side = Math.max(w, h);
    const x1 = b[0] + w / 2 - side / 2, y1 = b[1] + h / 2 - side / 2;
    return [x1, y1, x1 + side, y1 + side, ...b.slice(4)];
  });
}

// Scales at which PNet's 12-pixel cell sees faces from minFace pixels up to the photo's short side.
export function pyramidScales(height, width, minFace) {
  const scales = [];
  for (let scale = CELL / minFace; Math.min(height, width) * scale >= CELL; scale *= PYRAMID_FACTOR) scales.push(scale);
  return scales;
}

// [N, 3, size, size] float32 pixels (0-255, planar) of each box, zero outside the photo, area-resampled.
export function patches(image, boxes, size) {
  const out = new Float32Array(boxes.length * 3 * size * size), plane = size * size;
  boxes.forEach((box, k) => {
    const [x1, y1, x2, y2] = box.slice(0, 4).map(Math.trunc);
    const h = Math.max(1, y2 - y1 + 1), w = Math.max(1, x2 - x1 + 1);
    const canvas = rgbImage(w, h);
    const top = Math.max(0, y1), left = Math.max(0, x1), bottom = Math.min(image.height, y2 + 1), right = Math.min(image.width, x2 + 1);
    for (let y = top; y < bottom && right > left; y++) {
      canvas.data.set(image.data.subarray((y * image.width + left) * 3, (y * image.width + right) * 3), ((y - y1) * w + (left - x1)) * 3);
    }
    const small = resizeArea(canvas, size, size);
    for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out[(k * 3 + c) * plane + i] = small.data[i * 3 + c];
  });
  return out;
}

function planar(image) {
  const plane = image.width * image.height, out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out[c * plane + i] = image.data[i * 3 + c];
  return out;
}

// The session's outputs in its graph's order (Python's session.run(None, ...)).
async function run(session, Tensor, data, dims) {
  const outputs = await session.run({ [session.inputNames[0]]: new Tensor('float32', data, dims) });
  return session.outputNames.map((name) => outputs[name]);
}

const rows = (tensor) => Array.from({ length: tensor.dims[0] }, (_, i) => Array.from(tensor.data.subarray(i * tensor.dims[1], (i + 1) * tensor.dims[1])));

// Every face at least minFace pixels wide in an RGB image, highest ONet score first. `sessions` maps
// pnet, rnet and onet to onnxruntime-web sessions; Tensor is onnxruntime's Tensor class.
export async function detectFaces(image, sessions, Tensor, minFace = 40, thresholds = THRESHOLDS) {
  const { width, height } = image;
  let boxes = [];
  for (const scale of pyramidScales(height, width, minFace)) {
    const level = resizeArea(image, Math.trunc(width * scale + 1), Math.trunc(height * scale + 1));
    const [offsets, probs] = await run(sessions.pnet, Tensor, planar(level), [1, 3, level.height, level.width]);
    const [, , h, w] = probs.dims;
    const found = pnetBoxes(offsets.data, probs.data.subarray(h * w, 2 * h * w), h, w, scale, thresholds[0]);
    boxes.push(...nms(found, 0.5).map((i) => found[i]));
  }
  if (!boxes.length) return [];
  boxes = nms(boxes, 0.7).map((i) => boxes[i]);
  boxes = squared(refine(boxes, boxes.map((b) => b.slice(5, 9))));

  let [offsets, probs] = (await run(sessions.rnet, Tensor, patches(image, boxes, 24), [boxes.length, 3, 24, 24])).map(rows);
  let keep = probs.map((p, i) => (p[1] > thresholds[1] ? i : -1)).filter((i) => i >= 0);
  boxes = keep.map((i) => [...boxes[i].slice(0, 4), probs[i][1]]);
  offsets = keep.map((i) => offsets[i]);
  if (!boxes.length) return [];
  const picked = nms(boxes, 0.7);
  boxes = squared(refine(picked.map((i) => boxes[i]), picked.map((i) => offsets[i])));

  let points;
  [offsets, points, probs] = (await run(sessions.onet, Tensor, patches(image, boxes, 48), [boxes.length, 3, 48, 48])).map(rows);
  keep = probs.map((p, i) => (p[1] > thresholds[2] ? i : -1)).filter((i) => i >= 0);
  boxes = keep.map((i) => [...boxes[i].slice(0, 4), probs[i][1]]);
  const landmarks = keep.map((i, k) => {
    const b = boxes[k], w = b[2] - b[0] + 1, h = b[3] - b[1] + 1;
    return Array.from({ length: 5 }, (_, j) => [points[i][j] * w + b[0] - 1, points[i][5 + j] * h + b[1] - 1]);
  });
  boxes = refine(boxes, keep.map((i) => offsets[i]));
  return nms(boxes, 0.7, true).map((i) => ({ box: [boxes[i][1], boxes[i][0], boxes[i][3], boxes[i][2]], score: boxes[i][4], landmarks: landmarks[i] }));
}

// The 2x3 least-squares similarity taking `source` points onto `target` (rotation, scale, shift; never a
// reflection). In 2-D Umeyama's SVD solution has this closed form: the best rotation-and-scale is
// [[p, -q], [q, p]] with p, q the centred points' dot and cross sums over the source's spread.
export function similarity(source, target) {
  const mean = (points) => [0, 1].map((k) => points.reduce((s, p) => s + p[k], 0) / points.length);
  const [sx, sy] = mean(source), [tx, ty] = mean(target);
  let dot = 0, cross = 0, spread = 0;
  source.forEach(([x, y], i) => {
    const u = x - sx, v = y - sy, a = target[i][0] - tx, b = target[i][1] - ty;
    dot += u * a + v * b; cross += u * b - v * a; spread += u * u + v * v;
  });
  const p = dot / spread, q = cross / spread;
  return [[p, -q, tx - (p * sx - q * sy)], [q, p, ty - (q * sx + p * sy)]];
}

// [side x side] RGB: the face warped so its landmarks meet `template` (fractions of side). A face larger
// than the output is first area-shrunk, so the bilinear warp never skips pixels (aliasing), as in Python.
export function align(image, landmarks, template, side) {
  const target = template.map(([x, y]) => [x * side, y * side]);
  let matrix = similarity(landmarks, target);
  const shrink = Math.sqrt(Math.abs(matrix[0][0] * matrix[1][1] - matrix[0][1] * matrix[1][0]));
  if (shrink < 0.5) {
    const factor = 2 * shrink; // leaves a final bilinear step of 1/2, which samples every pixel
    image = resizeArea(image, Math.max(1, roundHalfEven(image.width * factor)), Math.max(1, roundHalfEven(image.height * factor)));
    matrix = similarity(landmarks.map(([x, y]) => [x * factor, y * factor]), target);
  }
  return warpAffine(image, matrix, side, side);
}
