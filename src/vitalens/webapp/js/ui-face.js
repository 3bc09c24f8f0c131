// twin: none (the face screen)
// Age and gender from an aligned face crop, on the device (face.js); a full photo is refused with the reason
// and a tip, since the browser has no face detector. The result (the photo's Prediction, as the API returns
// it) is also left on window.vitalensFace (and #face-result's data-status) for the browser tests.
import { predictFace } from './face.js';
import { imageFromFile } from './photo.js';
import { screen } from './screen.js';
import { escapeHtml } from './html.js';

export const label = 'Face: age and gender (aligned crops)';

let current = null;

export function setUp(model) {
  current = model;
  const input = document.getElementById('face-photo');
  input.onchange = () => input.files[0] && run(input.files[0]);
}

async function run(file) {
  const out = document.getElementById('face-result');
  out.hidden = false;
  out.dataset.status = 'running';
  try {
    const { image } = await imageFromFile(file);
    const result = screen(current, image, file.name) ?? await predictFace(current, image, file.name);
    window.vitalensFace = result;
    out.dataset.status = result.status;
    if (result.status !== 'ok') {
      out.innerHTML = `<p class="error">${escapeHtml(file.name)}: ${escapeHtml(result.message)}.</p>`;
      return;
    }
    const { manifest } = current;
    out.innerHTML = `<div class="hb">age ≈ ${result.predicted_age.toFixed(0)} years</div>
      <p>${escapeHtml(result.predicted_gender)} (P(female) = ${result.probability_female.toFixed(2)})</p>
      <p class="small">Held-out age MAE ${manifest.metrics.age_mae_years.toFixed(1)} years (always the mean: ${manifest.metrics.baselines.mean_age_mae.toFixed(1)}).
      ${manifest.training_data}.</p><p class="small">${escapeHtml(result.disclaimer)}</p>`;
  } catch (error) {
    window.vitalensFace = null;
    out.dataset.status = 'error';
    out.innerHTML = `<p class="error">${escapeHtml(error.message)}</p>`;
  }
}
