// twin: none (a port of Pillow's resize, not of a vitalens module)
// Pillow's Image.resize for 8-bit RGB, ported line for line (libImaging/Resample.c of Pillow 13, the
// version constraints.txt pins): separable passes (vertical first when the height shrinks more than twice
// as much as the width, as Pillow 13 does), double-precision filter weights turned into 22-bit fixed point, each pass rounded
// and clipped to 8 bits. Canvas scaling differs from Pillow by whole grey levels, enough to move an
// estimate, so the browser computes exactly what the Python runtime computes. No npm package does this.
import { rgbImage } from './image.js';

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

export const FILTERS = {
  bilinear: { support: 1.0, weight: (x) => { x = Math.abs(x); return x < 1.0 ? 1.0 - x : 0.0; } },
  box: { support: 0.5, weight: (x) => (x > -0.5 && x <= 0.5 ? 1.0 : 0.0) },
};

function coefficients(inSize, outSize, filter) {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1.0);
  const support = filter.support * filterScale;
  const kernelSize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kernel = new Float64Array(outSize * kernelSize);
  for (let xx = 0; xx < outSize; xx++) {
    const centre = (xx + 0.5) * scale;
    const inverse = 1.0 / filterScale;
    const xmin = Math.max(0, Math.trunc(centre - support + 0.5));
    const count = Math.min(inSize, Math.trunc(centre + support + 0.5)) - xmin;
    let total = 0.0;
    for (let x = 0; x < count; x++) {
      const w = filter.weight((x + xmin - centre + 0.5) * inverse);
      kernel[xx * kernelSize + x] = w;
      total += w;
    }
    for (let x = 0; x < count; x++) {
      if (total !== 0.0) kernel[xx * kernelSize + x] /= total;
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = count;
  }
  const fixed = new Float64Array(kernel.length);
  for (let i = 0; i < kernel.length; i++) fixed[i] = Math.trunc(kernel[i] * ONE + (kernel[i] < 0 ? -0.5 : 0.5));
  return { bounds, kernel: fixed, kernelSize };
}

function clip8(sum) {
  if (sum >= ONE * 256) return 255;
  if (sum <= 0) return 0;
  return Math.floor(sum / ONE);
}

function horizontal(image, outWidth, filter) {
  const { bounds, kernel, kernelSize } = coefficients(image.width, outWidth, filter);
  const out = rgbImage(outWidth, image.height);
  const src = image.data;
  for (let y = 0; y < image.height; y++) {
    const row = y * image.width * 3;
    for (let xx = 0; xx < outWidth; xx++) {
      const xmin = bounds[xx * 2], count = bounds[xx * 2 + 1], k = xx * kernelSize;
      let s0 = HALF, s1 = HALF, s2 = HALF;
      for (let x = 0; x < count; x++) {
        const p = row + (x + xmin) * 3, w = kernel[k + x];
        s0 += src[p] * w; s1 += src[p + 1] * w; s2 += src[p + 2] * w;
      }
      const o = (y * outWidth + xx) * 3;
      out.data[o] = clip8(s0); out.data[o + 1] = clip8(s1); out.data[o + 2] = clip8(s2);
    }
  }
  return out;
}

function vertical(image, outHeight, filter) {
  const { bounds, kernel, kernelSize } = coefficients(image.height, outHeight, filter);
  const out = rgbImage(image.width, outHeight);
  const src = image.data, stride = image.width * 3;
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = bounds[yy * 2], count = bounds[yy * 2 + 1], k = yy * kernelSize;
    for (let x = 0; x < image.width; x++) {
      let s0 = HALF, s1 = HALF, s2 = HALF;
      for (let y = 0; y < count; y++) {
        const p = (y + ymin) * stride + x * 3, w = kernel[k + y];
        s0 += src[p] * w; s1 += src[p + 1] * w; s2 += src[p + 2] * w;
      }
      const o = (yy * image.width + x) * 3;
      out.data[o] = clip8(s0); out.data[o + 1] = clip8(s1); out.data[o + 2] = clip8(s2);
    }
  }
  return out;
}

// Image.fromarray(rgb).resize((width, height), Image.BILINEAR | Image.BOX)
export function resize(image, width, height, filterName) {
  const filter = FILTERS[filterName];
  const shrinkY = image.height - height, shrinkX = image.width - width;
  const horizontalFirst = !(shrinkY > 0 && shrinkY > shrinkX * 2);
  let out = image;
  if (horizontalFirst && width !== image.width) out = horizontal(out, width, filter);
  if (height !== image.height) out = vertical(out, height, filter);
  if (!horizontalFirst && width !== image.width) out = horizontal(out, width, filter);
  return out === image ? rgbImage(image.width, image.height, image.data.slice()) : out;
}
