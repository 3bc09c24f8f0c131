// twin: none (the RGB array layout numpy gives Python)
// An RGB image as the pipeline passes it around: { width, height, data: Uint8Array of H*W*3 }, row-major,
// the layout of the Python runtime's H x W x 3 uint8 arrays.

export function rgbImage(width, height, data = new Uint8Array(width * height * 3)) {
  return { width, height, data };
}

export function fromRGBA(width, height, rgba) {
  const out = rgbImage(width, height);
  for (let i = 0, j = 0; i < width * height; i++, j += 4) {
    out.data[i * 3] = rgba[j];
    out.data[i * 3 + 1] = rgba[j + 1];
    out.data[i * 3 + 2] = rgba[j + 2];
  }
  return out;
}

// An image as the networks take it: float32 channel planes (C x H x W) in [0, 1], written into `out` from
// `offset` on (several images share one batch tensor).
export function toPlanar(image, out = new Float32Array(3 * image.width * image.height), offset = 0) {
  const plane = image.width * image.height;
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out[offset + c * plane + i] = image.data[i * 3 + c] / 255;
  return out;
}

// rgb[ymin:ymax, xmin:xmax]
export function crop(image, [ymin, xmin, ymax, xmax]) {
  const width = xmax - xmin;
  const out = rgbImage(width, ymax - ymin);
  for (let y = ymin; y < ymax; y++) {
    out.data.set(image.data.subarray((y * image.width + xmin) * 3, (y * image.width + xmax) * 3), (y - ymin) * width * 3);
  }
  return out;
}

// Python's round(): halves go to the even neighbour (JS's Math.round sends them up).
export function roundHalfEven(value) {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}
