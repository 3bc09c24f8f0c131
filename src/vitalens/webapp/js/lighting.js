// twin: vitalens/tasks/skin_condition/lighting.py
// Lighting quality of a skin photo, as vitalens/tasks/skin_condition/lighting.py: measured on the network's input crop,
// the same thresholds, reasons and tips. Only worded when the model's lighting head says "poor".
import { TIPS, measureQuality, srgbToLab } from './quality.js';

export const LIGHTING_TIPS = {
  dark: TIPS.dark,
  overexposed: TIPS.overexposed,
  glare: 'glare: avoid the flash glare; light the skin from the side or tilt the phone so no shiny spot shows',
  low_contrast: 'flat, hazy light: move to daylight near a window and wipe the lens',
  colour_cast: 'coloured light: move to daylight and turn off coloured or mixed lamps',
  blurred: 'blurred: hold still, steady your arm, and tap the screen to focus on the skin',
};

export const LIGHTING_THRESHOLDS = {
  minMeanBrightness: 55.0, maxMeanBrightness: 215.0, maxClippedFraction: 0.25, maxHighlightFraction: 0.04,
  minContrast: 12.0, minMeanA: -2.0, minMeanB: -2.0, maxChroma: 45.0, minSharpness: 15.0,
};

const f32 = Math.fround;
const LUMA = [f32(0.299), f32(0.587), f32(0.114)];

export function measureLighting(image) {
  const pixels = image.width * image.height;
  const luma = new Float64Array(pixels);
  let lumaSum = 0, aSum = 0, bSum = 0;
  for (let i = 0; i < pixels; i++) {
    const r = image.data[i * 3], g = image.data[i * 3 + 1], b = image.data[i * 3 + 2];
    luma[i] = f32(f32(f32(r * LUMA[0]) + f32(g * LUMA[1])) + f32(b * LUMA[2]));
    lumaSum += luma[i];
    const [, A, B] = srgbToLab(f32(r / 255), f32(g / 255), f32(b / 255));
    aSum += A; bSum += B;
  }
  const lumaMean = lumaSum / pixels;
  const contrast = Math.sqrt(luma.reduce((total, v) => total + (v - lumaMean) ** 2, 0) / pixels);
  return { quality: measureQuality(image), contrast, mean_a: aSum / pixels, mean_b: bSum / pixels };
}

export function assessLighting(image, t = LIGHTING_THRESHOLDS) {
  const m = measureLighting(image), q = m.quality;
  const checks = [
    ['dark', q.mean_brightness < t.minMeanBrightness],
    ['overexposed', q.mean_brightness > t.maxMeanBrightness || q.clipped_fraction > t.maxClippedFraction],
    ['glare', q.highlight_fraction > t.maxHighlightFraction],
    ['low_contrast', m.contrast < t.minContrast],
    ['colour_cast', m.mean_a < t.minMeanA || m.mean_b < t.minMeanB || Math.hypot(m.mean_a, m.mean_b) > t.maxChroma],
    ['blurred', q.sharpness < t.minSharpness],
  ];
  const reasons = checks.filter(([, bad]) => bad).map(([code]) => code);
  const tips = [...new Set(reasons.map((code) => LIGHTING_TIPS[code]))];
  return { good: reasons.length === 0, reasons, tips, tip: tips.join('; '), measures: m };
}
