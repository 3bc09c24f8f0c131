// twin: vitalens/tasks/hb_nails/runtime.py
// Fingernail Hb on the device, as vitalens/tasks/hb_nails/runtime.py does it for a raw photo: quality gate ->
// nail detector -> three most confident nails with their skin -> regressor per nail -> median -> refused when
// outside the plausible Hb range -> conformal interval (never below 0) -> WHO 2024 reading of the interval. Returns NailHbPredictor.predict_image's Prediction.to_json():
// the photo's Hb in the flat columns, each nail's box, skin box, estimate and score in `nails`.
import { detect, detectionsToRegions } from './detection.js';
import { nailRegions } from './nails.js';
import { assessPhoto, gateDetections } from './quality.js';
import { prediction, refused } from './results.js';
import { median } from './stats.js';
import { implausibleEstimate, implausibleTip, interpretInterval } from './who.js';

export const NO_DETECTOR_TIP = 'this photo has no annotated nail boxes and the bundle has no nail detector: '
  + 'annotate the nails or use a bundle with a detector stage (the shipped one has it)';
// how to retake a photo whose estimate is implausible (vitalens/tasks/hb_nails/runtime.py RETAKE)
export const RETAKE = 'with three or four fingernails sharp and filling the frame, in even daylight, without nail polish';

// The conformal interval around hb, its lower bound clipped at 0 (Hb cannot be negative), as response.interval.
export function hbInterval(hb, uncertainty) {
  const [below, above] = reachAt(uncertainty, hb);
  return [Math.max(0, hb - below), hb + above];
}

// Twin of vitalens.uncertainty.reach_at: how far the interval reaches below and above the estimate, per
// Mondrian bin when the bundle has bin_below / bin_above (asymmetric), else the symmetric half-width.
export function reachAt(uncertainty, estimate) {
  const below = uncertainty.bin_below || [];
  if (!below.length) {
    const half = halfWidthAt(uncertainty, estimate);
    return [half, half];
  }
  const bin = (uncertainty.bin_edges || []).filter((edge) => estimate >= edge).length;
  return [below[bin], uncertainty.bin_above[bin]];
}

// Twin of vitalens.uncertainty.half_width_at: Mondrian bins (by the estimate) when the bundle has them.
export function halfWidthAt(uncertainty, estimate) {
  const edges = uncertainty.bin_edges || [];
  if (!edges.length) return uncertainty.half_width;
  return uncertainty.bin_half_widths[edges.filter((edge) => estimate >= edge).length];
}

// The quality gate's refusal of a raw photo, which screen() gives before the site check (pre_screen in Python).
export function preScreenHb(model, image, imageId = '') {
  const verdict = assessPhoto(image);
  return verdict.ok ? null : refused(imageId, verdict.reasons, verdict.tips, model.disclaimer);
}

// model: { manifest, sessions: { model, detector }, Tensor, rules (WHO), disclaimer }
export async function predictHb(model, image, population = {}, imageId = '') {
  const { manifest, sessions, Tensor, disclaimer } = model;
  const rules = manifest.detector;
  if (!rules || !sessions.detector) return refused(imageId, ['no_boxes'], [NO_DETECTOR_TIP], disclaimer);
  const photoVerdict = assessPhoto(image);
  if (!photoVerdict.ok) return refused(imageId, photoVerdict.reasons, photoVerdict.tips, disclaimer);
  const detections = await detect(image, sessions.detector, Tensor, rules);
  const detectionVerdict = gateDetections(detections, rules.score_threshold);
  if (!detectionVerdict.ok) return refused(imageId, detectionVerdict.reasons, detectionVerdict.tips, disclaimer);
  const { nailBoxes, skinBoxes, scores } = detectionsToRegions(detections, rules.score_threshold, rules.max_nails);
  const perNail = await regress(model, image, nailBoxes, skinBoxes);
  const hb = median(perNail.hb);
  const implausible = implausibleEstimate(model.rules, 'hb_g_dl', hb, 'g/dL');
  if (implausible) return refused(imageId, [implausible], [implausibleTip(RETAKE)], disclaimer);
  const [low, high] = hbInterval(hb, manifest.uncertainty);
  const interpretation = interpretInterval(model.rules, hb, low, high, population, disclaimer);
  const nails = nailBoxes.map((box, i) => ({ box, skin_box: perNail.skinBoxes[i], hb: perNail.hb[i], score: scores[i] }));
  const columns = {
    predicted_hgb: hb,
    interval_low: low,
    interval_high: high,
    who_severity: interpretation.statement,
    n_nails: nails.length,
    per_nail_hgb: nails.map((nail) => nail.hb),
    regions_from: 'detector',
  };
  return prediction(imageId, columns, { nails, interpretation, tips: [] }, disclaimer);
}

async function regress({ manifest, sessions, Tensor }, image, nailBoxes, skinBoxes) {
  const regions = nailRegions(image, nailBoxes, skinBoxes, manifest.region);
  const n = nailBoxes.length, size = manifest.region.crop_size;
  const perRegion = (colour) => {
    const repeated = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) repeated.set(colour, i * 3);
    return new Tensor('float32', repeated, [n, 3]);
  };
  const arrays = {
    nails: () => new Tensor('float32', regions.nails, [n, 3, size, size]),
    skins: () => new Tensor('float32', regions.skins, [n, 3, size, size]),
    white: () => perRegion(regions.white),
    red: () => perRegion(regions.red),
  };
  // a bundle's graph declares the inputs it reads (a CNN bundle has no skin input), as the Python runtime feeds it
  const feeds = Object.fromEntries(sessions.model.inputNames.map((name) => [name, arrays[name]()]));
  const outputs = await sessions.model.run(feeds);
  return { hb: Array.from(outputs[sessions.model.outputNames[0]].data), skinBoxes: regions.skinBoxes };
}
