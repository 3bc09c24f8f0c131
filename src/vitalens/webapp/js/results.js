// twin: vitalens/results.py
// One result shape for every task, as vitalens/results.py Prediction.to_json() (what the API returns per
// photo): image_id, status (ok or refused; the browser reads every file it accepts), reasons and message
// first, then the task's flat columns, then its details, then the disclaimer. A refusal has no estimate.
import { roundHalfEven } from './image.js';

export const OK = 'ok', REFUSED = 'refused';
export const MIN_SIDE = 16; // pixels: a thinner image is refused before any region finder runs
export const TIP_TOO_SMALL = 'the image is too small to show anything: send the original photo, not a thumbnail or a strip';

export function prediction(imageId, columns, details, disclaimer) {
  return { image_id: imageId, status: OK, reasons: [], message: '', ...columns, ...details, disclaimer };
}

// The message is the reasons, then the tips for the next photo, as vitalens.results.refused words it.
export function refused(imageId, reasons, tips, disclaimer, details = {}) {
  return { image_id: imageId, status: REFUSED, reasons: [...reasons], message: [...reasons, ...tips].join('; '), tips: [...tips], ...details, disclaimer };
}

export function tooSmall(image, imageId, disclaimer) {
  if (Math.min(image.width, image.height) >= MIN_SIDE) return null;
  return refused(imageId, [`too small (${image.width}x${image.height} pixels; at least ${MIN_SIDE} on each side)`], [TIP_TOO_SMALL], disclaimer);
}

// numpy's round(value, decimals): halves to the even neighbour.
export function roundTo(value, decimals) {
  const scale = 10 ** decimals;
  return roundHalfEven(value * scale) / scale;
}
