// twin: vitalens/tasks/skin_condition/runtime.py
// Skin condition on the device, as vitalens/tasks/skin_condition/runtime.py: centre crop -> ONNX (colour calibration,
// normalisation and temperature are inside the graph) -> top-3 conditions, lighting verdict + tip and the
// top label's Grad-CAM map over the crop; a photo the skin check finds is not a skin close-up (the graph's
// site_logit under the bundle's threshold) or one unlike the training photos (typicality above the bundle's
// threshold) is refused with the reason and a tip, no labels.
// Returns SkinPredictor.predict_image's Prediction.to_json(): top-3 and lighting in the flat columns, the rest in details.
import { centreCropResized } from './centre_crop.js';
import { toPlanar } from './image.js';
import { assessLighting } from './lighting.js';
import { prediction, refused, roundTo, tooSmall } from './results.js';

export const TOP_K = 3;
export const HEATMAP_DECIMALS = 3;
export const TIP_POOR_LIGHT = 'poor lighting: retake in even daylight, without flash, holding the phone steady';
export const TIP_ATYPICAL = 'photograph the affected skin close up, filling the frame';
export const HEATMAP_OVER = "centre crop (see the bundle's inputs.image.preprocessing)";

// The network's input for a photo: the bundle's centre crop at its size (what the heat map lies over).
export function skinCrop(manifest, image) {
  const { size, crop_fraction: fraction } = manifest.inputs.image;
  return centreCropResized(image, size, fraction);
}

export async function predictSkin(model, image, imageId = '') {
  const { manifest, sessions, Tensor, disclaimer } = model;
  const small = tooSmall(image, imageId, disclaimer);
  if (small) return small;
  const crop = skinCrop(manifest, image);
  const size = manifest.inputs.image.size;
  const outputs = await sessions.model.run({ image: new Tensor('float32', toPlanar(crop), [1, 3, size, size]) });
  const probabilities = Array.from(outputs.diagnosis_probs.data);
  const order = probabilities.map((p, i) => [p, i]).sort((x, y) => y[0] - x[0] || x[1] - y[1]).slice(0, TOP_K).map(([, i]) => i);
  const typicality = outputs.typicality.data[0];
  const threshold = manifest.outputs.typicality.threshold;
  const skinCheck = manifest.outputs.site_logit ? outputs.site_logit.data[0] : null;  // a graph exported before the skin check has none
  if (skinCheck !== null && !(skinCheck >= manifest.outputs.site_logit.threshold)) {
    const reason = `not a skin close-up like the ones this model learned from (skin check ${skinCheck.toFixed(2)} < ${Number(manifest.outputs.site_logit.threshold).toFixed(2)})`;
    return refused(imageId, [reason], [TIP_ATYPICAL], disclaimer, { skin_check: skinCheck });
  }
  if (!(typicality <= threshold)) {
    // refused as SkinPredictor.prediction: the reason with the score and the retake tip, no labels
    const reason = `unlike the clinical close-ups this model learned from (photo check ${typicality.toFixed(2)} > ${Number(threshold).toFixed(2)})`;
    return refused(imageId, [reason], [TIP_ATYPICAL], disclaimer, { typicality });
  }
  const lightingGood = outputs.lighting_good.data[0];
  const good = lightingGood >= manifest.lighting.threshold;
  const lightingTip = good ? '' : (assessLighting(crop).tip || TIP_POOR_LIGHT);
  const top = order.map((i) => ({ label: manifest.labels[i], probability: probabilities[i] }));
  const columns = {};
  top.forEach((entry, k) => Object.assign(columns, { [`label_${k + 1}`]: entry.label, [`prob_${k + 1}`]: roundTo(entry.probability, 4) }));
  Object.assign(columns, { lighting: good ? 'good' : 'poor', lighting_tip: lightingTip });
  const details = {
    top,
    three_partition: partitionProbabilities(manifest, probabilities),
    lighting_probability_good: lightingGood,
    typicality,
    ...(skinCheck !== null ? { skin_check: skinCheck } : {}),
    heatmap: { label: top[0].label, over: HEATMAP_OVER, values: heatmapRows(outputs.cam, order[0]) },
  };
  return prediction(imageId, columns, details, disclaimer);
}

// Grad-CAM of one label: h rows of w values in [0, 1] over the centre crop, rounded as the Python runtime rounds them.
function heatmapRows(cam, label) {
  const [, , height, width] = cam.dims;
  const start = label * height * width;
  return Array.from({ length: height }, (_, y) => Array.from(cam.data.subarray(start + y * width, start + (y + 1) * width), (v) => roundTo(v, HEATMAP_DECIMALS)));
}

// The coarse view (benign / malignant / non-neoplastic): each partition's summed probability, largest first
// (ties by name), as SkinPredictor.partition_probabilities.
export function partitionProbabilities(manifest, probabilities) {
  const totals = new Map();
  manifest.labels.forEach((label, i) => {
    const partition = manifest.three_partition[label];
    totals.set(partition, (totals.get(partition) || 0) + probabilities[i]);
  });
  return [...totals].map(([partition, probability]) => ({ partition, probability }))
    .sort((a, b) => b.probability - a.probability || (a.partition < b.partition ? -1 : 1));
}
