// twin: vitalens/regions/centre_crop.py
// The skin task's region, as vitalens/regions/centre_crop.py: the centred square of side
// round(fraction * min(H, W)) (Python's rounding), top-left ((H - side) // 2, (W - side) // 2), resized
// bilinearly with Pillow's resampling.
import { crop, roundHalfEven } from './image.js';
import { resize } from './resample.js';

export const CROP_FRACTION = 0.8;

export function centreCropBox(height, width, fraction = CROP_FRACTION) {
  if (Math.min(height, width) < 2) throw new Error(`centre crop needs an image of at least 2 x 2 pixels, got ${width} x ${height}`);
  const side = Math.max(1, roundHalfEven(fraction * Math.min(height, width)));
  const top = Math.floor((height - side) / 2), left = Math.floor((width - side) / 2);
  return [top, left, top + side, left + side];
}

export function centreCropResized(image, size, fraction = CROP_FRACTION) {
  return resize(crop(image, centreCropBox(image.height, image.width, fraction)), size, size, 'bilinear');
}
