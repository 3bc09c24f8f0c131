// twin: vitalens/tasks/face_age_gender/runtime.py
// Age and gender from an aligned face crop, on the device (vitalens/tasks/face_age_gender/runtime.py). The
// result is also left on window.vitalensFace for the browser tests.
import { toPlanar } from './image.js';
import { resize } from './resample.js';
import { imageFromFile } from './photo.js';
import { escapeHtml } from './html.js';

export const label = 'Face: age and gender (aligned crops)';

// vitalens/tasks/face_age_gender/regions.py looks_like_face_crop
const CROP_MAX_SIDE = 512, CROP_ASPECT_TOLERANCE = 0.15;
let current = null;

export function setUp(model) {
  current = model;
  const input = document.getElementById('face-photo');
  input.onchange = () => input.files[0] && run(input.files[0]);
}

async function run(file) {
  const out = document.getElementById('face-result');
  out.hidden = false;
  try {
    const { image } = await imageFromFile(file);
    if (Math.max(image.width, image.height) > CROP_MAX_SIDE || Math.abs(image.height / image.width - 1) > CROP_ASPECT_TOLERANCE) {
      throw new Error(`${file.name}: ${image.width}x${image.height} is not an aligned face crop, and the browser app has no face detector; crop the photo to the face (square, forehead to chin).`);
    }
    const { manifest, sessions, Tensor } = current;
    const size = manifest.inputs.image.shape[2];
    const session = sessions.model;
    const outputs = await session.run({ [session.inputNames[0]]: new Tensor('float32', toPlanar(resize(image, size, size, 'bilinear')), [1, 3, size, size]) });
    const logits = Array.from(outputs.gender_logits.data).map((v) => v / manifest.temperature);
    const peak = Math.max(...logits), exps = logits.map((v) => Math.exp(v - peak)), total = exps.reduce((a, b) => a + b, 0);
    const classes = manifest.outputs.gender_logits.classes;
    const probabilities = exps.map((v) => v / total);
    const age = outputs.age_years.data[0];
    window.vitalensFace = { predicted_age: age, probability_female: probabilities[classes.indexOf('female')] };
    out.dataset.status = 'ok';
    out.innerHTML = `<div class="hb">age ≈ ${age.toFixed(0)} years</div>
      <p>${classes[probabilities.indexOf(Math.max(...probabilities))]} (P(female) = ${probabilities[classes.indexOf('female')].toFixed(2)})</p>
      <p class="small">Held-out age MAE ${manifest.metrics.age_mae_years.toFixed(1)} years (always the mean: ${manifest.metrics.baselines.mean_age_mae.toFixed(1)}).
      ${manifest.training_data}.</p><p class="small">${escapeHtml(manifest.disclaimer)}</p>`;
  } catch (error) {
    out.dataset.status = 'refused';
    out.innerHTML = `<p class="error">${escapeHtml(error.message)}</p>`;
  }
}
