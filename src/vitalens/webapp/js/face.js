// twin: vitalens/tasks/face_age_gender/runtime.py
// Age and gender from any face photo on the device, as FacePredictor.predict_image: the bundle's MTCNN detector
// (face_detector.js) finds the faces, the one to read is chosen as regions.py choose_face does (same limits,
// same refusal reasons and tips, word for word), its landmarks are aligned to the bundle's template, and the
// aligned crop, resized bilinearly (Pillow's resampling), x / 255, goes through the model; P(female) comes from
// the logits over the bundle's temperature. A photo the model cannot use (no face, several faces, a face too
// small, tilted or turned) is refused with the reason and a tip, never guessed at, because an age or gender
// guessed for the wrong face is worse than none; so is an age outside the plausible range (the WHO rules
// file's input_limits.age_years), never clipped. Returns its Prediction.to_json(), face box, score and
// landmarks included; the aligned crop rides along as `aligned`, not enumerable, so the JSON shape stays Python's.
import { toPlanar } from './image.js';
import { resize } from './resample.js';
import { prediction, refused, roundTo } from './results.js';
import { implausibleEstimate, implausibleTip } from './who.js';
import { align, detectFaces, faceSide } from './face_detector.js';
import { halfWidthAt } from './hb.js';

// vitalens/tasks/face_age_gender/regions.py: the model reads 112 px, so a face under MIN_FACE_PX would be
// upsampled and lose the texture age is read from; smaller faces (down to DETECT_MIN_PX) are still found, so
// they are refused by name. The pose limits bound what the UTKFace training crops showed.
export const MIN_FACE_PX = 64, DETECT_MIN_PX = 40, MAX_TILT_DEG = 30.0, MAX_TURN = 0.35;
export const FACE_RETAKE = 'use a photo with one face, front-on and well lit'; // regions.py RETAKE
export const RETAKE = 'front-on, one face, well lit, from forehead to chin'; // runtime.py RETAKE
export const DETECTOR_STAGES = { pnet: 'detector_pnet', rnet: 'detector_rnet', onet: 'detector_onet' };

// The bundle's face_limits (what it was validated with) where it carries them, else regions.py's constants.
export function faceLimits(manifest) {
  const limits = manifest.face_limits ?? {};
  return { minFacePx: limits.min_face_px ?? MIN_FACE_PX, maxTiltDeg: limits.max_tilt_deg ?? MAX_TILT_DEG, maxTurn: limits.max_turn_eye_distances ?? MAX_TURN };
}

// Python's f'{x:.0f}' (halves to even; JS's toFixed sends them up).
const whole = (x) => {
  const f = Math.floor(x), d = x - f;
  return String(d > 0.5 || (d === 0.5 && f % 2 === 1) ? f + 1 : f);
};
// Python's str(float): 30.0 -> '30.0', 0.35 -> '0.35'
const pyFloat = (x) => (Number.isInteger(x) ? x.toFixed(1) : String(x));

// regions.py pose: (tilt in degrees: the eye line against the horizontal; turn: the nose's sideways offset
// from the eyes' midpoint, in eye distances, along the eye line so tilt does not count as turn).
export function pose(face) {
  const [left, right, nose] = face.landmarks;
  const ex = right[0] - left[0], ey = right[1] - left[1];
  const distance = Math.hypot(ex, ey) || 1.0;
  const mx = nose[0] - (left[0] + right[0]) / 2, my = nose[1] - (left[1] + right[1]) / 2;
  return { tilt: (Math.atan2(ey, ex) * 180) / Math.PI, turn: (mx * (ex / distance) + my * (ey / distance)) / distance };
}

// regions.py choose_face (choice "one", the browser's only one): { face } or { reason, tip }.
export function chooseFace(faces, limits) {
  if (!faces.length) return { reason: 'no face found', tip: FACE_RETAKE };
  const readable = faces.filter((f) => faceSide(f) >= limits.minFacePx);
  if (readable.length > 1) return { reason: `${readable.length} faces found`, tip: 'crop the photo to the one person to estimate, or ask for the largest face (face=largest)' };
  const face = faces.reduce((best, f) => (faceSide(f) > faceSide(best) ? f : best));
  if (faceSide(face) < limits.minFacePx) {
    return { reason: `the face is ${whole(faceSide(face))} px across, under the ${limits.minFacePx} px this model needs`, tip: 'move closer or use a higher-resolution photo' };
  }
  const { tilt, turn } = pose(face);
  if (Math.abs(tilt) > limits.maxTiltDeg) return { reason: `the face is tilted ${whole(Math.abs(tilt))} degrees (at most ${whole(limits.maxTiltDeg)})`, tip: 'hold the head upright' };
  if (Math.abs(turn) > limits.maxTurn) {
    return { reason: `the face is turned to the side (nose offset ${Math.abs(turn).toFixed(2)} eye distances, at most ${pyFloat(limits.maxTurn)})`, tip: 'face the camera' };
  }
  return { face };
}

export function detectorSessions(sessions, stages = DETECTOR_STAGES) {
  return Object.fromEntries(Object.entries(stages).map(([net, stage]) => [net, sessions[stage]]));
}

// regions.py find_face: { crop, face } or { reason, tip }.
export async function findFace(model, image) {
  const { manifest, sessions, Tensor } = model;
  const faces = await detectFaces(image, detectorSessions(sessions), Tensor, DETECT_MIN_PX);
  const chosen = chooseFace(faces, faceLimits(manifest));
  if (!chosen.face) return chosen;
  const { template, side } = manifest.alignment;
  return { face: chosen.face, crop: align(image, chosen.face.landmarks, template, side) };
}

export async function predictFace(model, image, imageId = '') {
  const { manifest, sessions, Tensor, disclaimer } = model;
  const found = await findFace(model, image);
  if (!found.face) return refused(imageId, [found.reason], [found.tip], disclaimer);
  const size = manifest.inputs.image.shape[2];
  const session = sessions.model;
  const outputs = await session.run({ [session.inputNames[0]]: new Tensor('float32', toPlanar(resize(found.crop, size, size, 'bilinear')), [1, 3, size, size]) });
  const logits = Array.from(outputs.gender_logits.data, (v) => v / (manifest.temperature ?? 1));
  const peak = Math.max(...logits), exps = logits.map((v) => Math.exp(v - peak)), total = exps.reduce((a, b) => a + b, 0);
  const probabilities = exps.map((v) => v / total);
  const classes = manifest.outputs.gender_logits.classes;
  const age = roundTo(outputs.age_years.data[0], 1);
  const implausible = implausibleEstimate(model.rules, 'age_years', age, 'years');
  if (implausible) return refused(imageId, [implausible], [implausibleTip(RETAKE)], disclaimer);
  const { face } = found;
  const interval = manifest.age_interval; // twin of runtime._answer: a conformal interval by the age's band, inside 0-120 years
  const bounds = interval ? { age_low: roundTo(Math.min(120, Math.max(0, age - halfWidthAt(interval, age))), 1),
    age_high: roundTo(Math.min(120, Math.max(0, age + halfWidthAt(interval, age))), 1) } : {};
  const result = prediction(imageId, {
    predicted_age: age,
    ...bounds,
    predicted_gender: classes[probabilities.indexOf(Math.max(...probabilities))],
    probability_female: roundTo(probabilities[classes.indexOf('female')], 4),
  }, {
    face_box: face.box.map((v) => roundTo(v, 1)),
    face_score: roundTo(face.score, 4),
    landmarks: face.landmarks.map((point) => point.map((v) => roundTo(v, 1))),
  }, disclaimer);
  Object.defineProperty(result, 'aligned', { value: found.crop, enumerable: false }); // for display only
  return result;
}
