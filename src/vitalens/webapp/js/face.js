// twin: vitalens/tasks/face_age_gender/runtime.py
// Age and gender from an aligned face crop on the device, as FacePredictor.predict_image: the crop resized
// bilinearly (Pillow's resampling), x / 255 -> ONNX -> age, and P(female) from the logits over the bundle's
// temperature. Returns its Prediction.to_json(). The browser has no face detector, so a photo that is not
// already a crop (vitalens/tasks/face_age_gender/regions.py looks_like_face_crop) is refused, never guessed at;
// so is an age outside the plausible range (the WHO rules file's input_limits.age_years), never clipped.
import { toPlanar } from './image.js';
import { resize } from './resample.js';
import { prediction, refused, roundTo } from './results.js';
import { implausibleEstimate, implausibleTip } from './who.js';

export const CROP_MAX_SIDE = 512, CROP_ASPECT_TOLERANCE = 0.15;
export const NO_DETECTOR_TIP = 'crop the photo to the face (square, forehead to chin)';
export const RETAKE = 'front-on, one face, well lit, from forehead to chin'; // face_age_gender/runtime.py RETAKE

export function looksLikeFaceCrop(image) {
  return Math.max(image.width, image.height) <= CROP_MAX_SIDE && Math.abs(image.height / image.width - 1) <= CROP_ASPECT_TOLERANCE;
}

export async function predictFace(model, image, imageId = '') {
  const { manifest, sessions, Tensor, disclaimer } = model;
  if (!looksLikeFaceCrop(image)) {
    return refused(imageId, [`${image.width}x${image.height} is not an aligned face crop and the browser app has no face detector`], [NO_DETECTOR_TIP], disclaimer);
  }
  const size = manifest.inputs.image.shape[2];
  const session = sessions.model;
  const outputs = await session.run({ [session.inputNames[0]]: new Tensor('float32', toPlanar(resize(image, size, size, 'bilinear')), [1, 3, size, size]) });
  const logits = Array.from(outputs.gender_logits.data, (v) => v / (manifest.temperature ?? 1));
  const peak = Math.max(...logits), exps = logits.map((v) => Math.exp(v - peak)), total = exps.reduce((a, b) => a + b, 0);
  const probabilities = exps.map((v) => v / total);
  const classes = manifest.outputs.gender_logits.classes;
  const age = roundTo(outputs.age_years.data[0], 1);
  const implausible = implausibleEstimate(model.rules, 'age_years', age, 'years');
  if (implausible) return refused(imageId, [implausible], [implausibleTip(RETAKE)], disclaimer);
  return prediction(imageId, {
    predicted_age: age,
    predicted_gender: classes[probabilities.indexOf(Math.max(...probabilities))],
    probability_female: roundTo(probabilities[classes.indexOf('female')], 4),
  }, {}, disclaimer);
}
