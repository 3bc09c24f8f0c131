// twin: none (ports of the two OpenCV operations vitalens/regions/faces.py uses, not of a vitalens module)
// cv2.resize(..., INTER_AREA) and cv2.warpAffine(..., INTER_LINEAR, BORDER_REPLICATE) for 8-bit RGB. The face
// detector's pyramid and patches are area-resampled in Python; Pillow's BOX filter weighs whole pixels only,
// while OpenCV weighs each source pixel by the fraction of it a target pixel covers, so porting OpenCV's
// own arithmetic (floating-point weights, one rounding at the end) keeps the JS detector's inputs within
// a grey level of Python's (tests/test_face_detector_parity.py measures it), so its boxes stay within a pixel.
import { rgbImage } from './image.js';

// Python/OpenCV rounding of a non-negative value to 0-255 (cvRound: halves to even).
export function cast8(v) {
  if (!(v > 0)) return 0;
  if (v >= 255) return 255;
  const f = Math.floor(v), d = v - f;
  return d > 0.5 || (d === 0.5 && f % 2 === 1) ? f + 1 : f;
}

// OpenCV's computeResizeAreaTab: for each target index, the (source index, weight) pairs it averages.
export function areaTable(inSize, outSize, scale) {
  const table = [];
  for (let dx = 0; dx < outSize; dx++) {
    const fsx1 = dx * scale, fsx2 = fsx1 + scale, cellWidth = Math.min(scale, inSize - fsx1);
    let sx1 = Math.ceil(fsx1), sx2 = Math.floor(fsx2);
    sx2 = Math.min(sx2, inSize - 1);
    sx1 = Math.min(sx1, sx2);
    const taps = [];
    if (sx1 - fsx1 > 1e-3) taps.push([sx1 - 1, (sx1 - fsx1) / cellWidth]);
    for (let sx = sx1; sx < sx2; sx++) taps.push([sx, 1 / cellWidth]);
    if (fsx2 - sx2 > 1e-3) taps.push([sx2, Math.min(Math.min(fsx2 - sx2, 1), cellWidth) / cellWidth]);
    table.push(taps);
  }
  return table;
}

// INTER_AREA when enlarging on an axis is a bilinear step with OpenCV's area-mode coefficients.
function linearTable(inSize, outSize, scale) {
  const inverse = outSize / inSize, table = [];
  for (let dx = 0; dx < outSize; dx++) {
    let sx = Math.floor(dx * scale), fx = (dx + 1) - (sx + 1) * inverse;
    fx = fx <= 0 ? 0 : fx - Math.floor(fx);
    if (sx >= inSize - 1) { sx = inSize - 1; fx = 0; }
    table.push(fx === 0 ? [[sx, 1]] : [[sx, 1 - fx], [sx + 1, fx]]);
  }
  return table;
}

// cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
export function resizeArea(image, width, height) {
  const scaleX = 1 / (width / image.width), scaleY = 1 / (height / image.height);
  const shrink = scaleX >= 1 && scaleY >= 1; // OpenCV averages only when neither axis grows
  const xs = (shrink ? areaTable : linearTable)(image.width, width, scaleX);
  const ys = (shrink ? areaTable : linearTable)(image.height, height, scaleY);
  return resampleWithTables(image, width, height, xs, ys);
}

// Each target pixel the weighted sum of the source pixels its row and column tables name, rounded once.
export function resampleWithTables(image, width, height, xs, ys) {
  const src = image.data, stride = image.width * 3, out = rgbImage(width, height);
  const row = new Float64Array(width * 3);
  for (let dy = 0; dy < height; dy++) {
    const acc = new Float64Array(width * 3);
    for (const [sy, beta] of ys[dy]) {
      row.fill(0);
      for (let dx = 0; dx < width; dx++) {
        for (const [sx, alpha] of xs[dx]) {
          const p = sy * stride + sx * 3;
          row[dx * 3] += src[p] * alpha; row[dx * 3 + 1] += src[p + 1] * alpha; row[dx * 3 + 2] += src[p + 2] * alpha;
        }
      }
      for (let i = 0; i < row.length; i++) acc[i] += beta * row[i];
    }
    for (let i = 0; i < acc.length; i++) out.data[dy * width * 3 + i] = cast8(acc[i]);
  }
  return out;
}

// cv2.warpAffine(image, matrix, (side, side), flags=INTER_LINEAR, borderMode=BORDER_REPLICATE): each target
// pixel reads the source at the inverse map of its position, bilinearly, edges repeated outwards.
export function warpAffine(image, [[a, b, c], [d, e, f]], width, height) {
  const det = a * e - b * d;
  const ia = e / det, ib = -b / det, id = -d / det, ie = a / det;
  const ic = -(ia * c + ib * f), iff = -(id * c + ie * f);
  const out = rgbImage(width, height), src = image.data, w = image.width, h = image.height;
  const clampX = (x) => (x < 0 ? 0 : x >= w ? w - 1 : x), clampY = (y) => (y < 0 ? 0 : y >= h ? h - 1 : y);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // OpenCV 5 (constraints.txt's opencv) maps and interpolates in floating point, with no 1/32-pixel grid
      const sx = ia * x + ib * y + ic, sy = id * x + ie * y + iff;
      const x0 = Math.floor(sx), y0 = Math.floor(sy), fx = sx - x0, fy = sy - y0;
      const p00 = (clampY(y0) * w + clampX(x0)) * 3, p01 = (clampY(y0) * w + clampX(x0 + 1)) * 3;
      const p10 = (clampY(y0 + 1) * w + clampX(x0)) * 3, p11 = (clampY(y0 + 1) * w + clampX(x0 + 1)) * 3;
      const o = (y * width + x) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const top = src[p00 + ch] * (1 - fx) + src[p01 + ch] * fx, bottom = src[p10 + ch] * (1 - fx) + src[p11 + ch] * fx;
        out.data[o + ch] = cast8(top * (1 - fy) + bottom * fy);
      }
    }
  }
  return out;
}
