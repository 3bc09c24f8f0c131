// twin: vitalens/tasks/skin_condition/runtime.py
// Skin condition on the device, as vitalens/tasks/skin_condition/runtime.py: centre crop -> ONNX (colour calibration,
// normalisation and temperature are inside the graph) -> top-3 conditions, lighting verdict + tip, the
// top label's Grad-CAM map over the crop, and whether the photo looks like the training photos at all.
import { centreCropResized } from './centre_crop.js';
import { toPlanar } from './image.js';
import { assessLighting } from './lighting.js';

export const TOP_K = 3;
export const TIP_POOR_LIGHT = 'poor lighting: retake in even daylight, without flash, holding the phone steady';
export const TIP_ATYPICAL = 'this does not look like the clinical close-ups of skin the model learned from, so the conditions listed are unreliable: '
  + 'photograph the affected skin close up, filling the frame';

export async function predictSkin(model, image, imageId = '') {
  const { manifest, sessions, Tensor } = model;
  const { size, crop_fraction: fraction } = manifest.inputs.image;
  const crop = centreCropResized(image, size, fraction);
  const outputs = await sessions.model.run({ image: new Tensor('float32', toPlanar(crop), [1, 3, size, size]) });
  const probabilities = Array.from(outputs.diagnosis_probs.data);
  const order = probabilities.map((p, i) => [p, i]).sort((x, y) => y[0] - x[0] || x[1] - y[1]).slice(0, TOP_K).map(([, i]) => i);
  const lightingGood = outputs.lighting_good.data[0];
  const good = lightingGood >= manifest.lighting.threshold;
  const typicality = outputs.typicality.data[0];
  const typical = typicality <= manifest.outputs.typicality.threshold;
  const [, , height, width] = outputs.cam.dims;
  const cell = height * width;
  return {
    image_id: imageId,
    top: order.map((i) => ({ label: manifest.labels[i], probability: probabilities[i] })),
    three_partition: partitionProbabilities(manifest, probabilities),
    lighting: good ? 'good' : 'poor',
    lighting_probability_good: lightingGood,
    lighting_tip: good ? '' : (assessLighting(crop).tip || TIP_POOR_LIGHT),
    photo_check: typical ? 'typical' : 'atypical',
    typicality,
    photo_tip: typical ? '' : TIP_ATYPICAL,
    heatmap: { height, width, values: Array.from(outputs.cam.data.subarray(order[0] * cell, (order[0] + 1) * cell)) },
    crop,
    disclaimer: manifest.disclaimer,
  };
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
