// twin: none (the face screen)
// Age and gender from a face photo, on the device (face.js): the bundle's face detector finds the face in the
// whole photo, which is shown with the face's box and its 5 landmarks drawn over it, beside the aligned crop
// the model read, then the estimate. A photo the model cannot use (no face, several, too small, turned or
// tilted) is refused with the reason and a tip, and the photo is shown without a box, so the user sees what
// was sent. The result (the photo's Prediction, as the API returns it) is also left on window.vitalensFace
// (and #face-result's data-status) for the browser tests.
import { drawFace, drawImage } from './draw.js';
import { predictFace } from './face.js';
import { imageFromFile } from './photo.js';
import { screen } from './screen.js';
import { escapeHtml } from './html.js';

export const label = 'Face: age and gender (any photo of one face)';

const $ = (id) => document.getElementById(id);
let current = null;

export function setUp(model) {
  current = model;
  const input = $('face-photo');
  input.onchange = () => input.files[0] && run(input.files[0]);
}

function show(bitmap, result) {
  const ok = result.status === 'ok';
  drawFace($('face-preview'), bitmap, ok ? result : null);
  if (ok && result.aligned) drawImage($('face-aligned'), result.aligned);
  else $('face-aligned').hidden = true;
  $('face-views').hidden = false;
}

async function run(file) {
  const out = $('face-result');
  out.hidden = false;
  out.dataset.status = 'running';
  try {
    const { image, bitmap } = await imageFromFile(file);
    const result = screen(current, image, file.name) ?? await predictFace(current, image, file.name);
    window.vitalensFace = result;
    show(bitmap, result);
    out.dataset.status = result.status;
    if (result.status !== 'ok') {
      out.innerHTML = `<p class="error">No estimate for ${escapeHtml(file.name)}: ${escapeHtml(result.message)}.</p>
        <p class="small">${escapeHtml(result.disclaimer)}</p>`;
    } else {
      const { manifest } = current;
      const range = result.age_low === undefined ? '' : `<p>${(100 * manifest.age_interval.coverage).toFixed(0)} % interval: ${result.age_low.toFixed(0)}–${result.age_high.toFixed(0)} years</p>`;
      out.innerHTML = `<div class="hb">age ≈ ${result.predicted_age.toFixed(0)} years</div>${range}
        <p>${escapeHtml(result.predicted_gender)} (P(female) = ${result.probability_female.toFixed(2)})</p>
        <p class="small">Face found with detector score ${result.face_score.toFixed(2)}; the aligned crop beside the photo is what the model read.</p>
        <p class="small">Held-out age MAE ${manifest.metrics.age_mae_years.toFixed(1)} years (always the mean: ${manifest.metrics.baselines.mean_age_mae.toFixed(1)}).
        ${escapeHtml(manifest.training_data)}.</p><p class="small">${escapeHtml(result.disclaimer)}</p>`;
    }
  } catch (error) {
    window.vitalensFace = null;
    out.dataset.status = 'error';
    out.innerHTML = `<p class="error">${escapeHtml(error.message)}</p>`;
  }
  out.scrollIntoView({ block: 'nearest', behavior: 'smooth' }); // on a phone the result is otherwise below the fold
}
