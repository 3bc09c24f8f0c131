// twin: vitalens/tasks/hb_nails/runtime.py
// Fingernail Hb on the device, as vitalens/tasks/hb_nails/runtime.py does it for a raw photo: quality gate ->
// nail detector -> three most confident nails with their skin -> regressor per nail -> median ->
// conformal interval -> WHO 2024 band. Returns the shape of HbResult.to_dict().
import { detect, detectionsToRegions } from './detection.js';
import { nailRegions } from './nails.js';
import { assessPhoto, gateDetections } from './quality.js';
import { median } from './stats.js';
import { interpretEstimate } from './who.js';

const refusal = (imageId, verdict, disclaimer) => ({
  image_id: imageId, status: 'refused', regions_from: '', hb: null, interval: null, nails: [],
  reasons: verdict.reasons, tips: verdict.tips, interpretation: null, disclaimer,
});

// model: { manifest, sessions: { model, detector }, Tensor, rules (WHO), disclaimer }
export async function predictHb(model, image, population = {}, imageId = '') {
  const { manifest, sessions, Tensor, disclaimer } = model;
  const rules = manifest.detector;
  const photoVerdict = assessPhoto(image);
  if (!photoVerdict.ok) return refusal(imageId, photoVerdict, disclaimer);
  const detections = await detect(image, sessions.detector, Tensor, rules);
  const detectionVerdict = gateDetections(detections, rules.score_threshold);
  if (!detectionVerdict.ok) return refusal(imageId, detectionVerdict, disclaimer);
  const { nailBoxes, skinBoxes, scores } = detectionsToRegions(detections, rules.score_threshold, rules.max_nails);
  const perNail = await regress(model, image, nailBoxes, skinBoxes);
  const hb = median(perNail.hb);
  const halfWidth = manifest.uncertainty.half_width;
  return {
    image_id: imageId,
    status: 'ok',
    regions_from: 'detector',
    hb,
    interval: [hb - halfWidth, hb + halfWidth],
    nails: nailBoxes.map((box, i) => ({ box, skin_box: perNail.skinBoxes[i], hb: perNail.hb[i], score: scores[i] })),
    reasons: [],
    tips: [],
    interpretation: interpretEstimate(model.rules, hb, population, disclaimer),
    disclaimer,
  };
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
