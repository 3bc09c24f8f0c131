// twin: vitalens/face_gate.py
// Not a face photo: the spine's check for bundles of tasks whose photos are not of faces (the skin bundle
// carries one). The bundle's face detector nets (its "face_gate" stages) look for faces; a photo in which
// the largest face's side is at least max_face_fraction of the photo's short side is refused before the
// model runs, with the reason and the task's photo tip, as the Python spine does after its site check. It
// is async (the nets run in onnxruntime-web), so it runs after screen.js's checks: `screen(...) ??
// await faceGate(...) ?? await predict...`, the order of vitalens.runtime.screen.
import { refused, roundTo } from './results.js';
import { detectFaces, faceSide } from './face_detector.js';

// Python's f'{x:.0%}' (halves to even)
const percent = (x) => `${roundTo(x * 100, 0)}%`;

// The side of the largest detected face over the photo's short side (0 when there is none).
export async function largestFaceFraction(image, sessions, Tensor, minFace) {
  const faces = await detectFaces(image, sessions, Tensor, minFace);
  return faces.reduce((best, face) => Math.max(best, faceSide(face)), 0) / Math.min(image.width, image.height);
}

// The refusal when the bundle's face gate finds a face that fills the photo, else null.
export async function faceGate(model, image, imageId) {
  const gate = model.manifest.face_gate;
  if (!gate) return null;
  const sessions = Object.fromEntries(Object.entries(gate.stages).map(([net, stage]) => [net, model.sessions[stage]]));
  const fraction = await largestFaceFraction(image, sessions, model.Tensor, Number(gate.min_face_px));
  if (fraction < Number(gate.max_face_fraction)) return null;
  const reason = `this looks like a photo of a face (a face ${percent(fraction)} of the photo's short side), not of the ${gate.body_site} this model reads`;
  return refused(imageId, [reason], [gate.tip], model.disclaimer, { face_fraction: roundTo(fraction, 3) });
}
