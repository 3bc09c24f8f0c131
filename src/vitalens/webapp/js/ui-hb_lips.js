// twin: none (the lips screen)
// Lip Hb: upload a front-on photo of the face or the closed lips, with the person's age and sex if known ->
// the lips are found, checked to be a mouth large enough to read, and measured, all on the device -> the estimate,
// its interval and the WHO 2024 reading, always shown as a demonstration, not a measurement (the model was fitted
// on 19 photos of 10 people and was not shown to beat predicting the mean). A photo the spine's screen or the task
// refuses gets the reason and a tip and no number. The result (the photo's Prediction, as the API returns it) is
// left on window.vitalensLips.
import { escapeHtml } from './html.js';
import { imageFromFile } from './photo.js';
import { predictLips } from './hb_lips.js';
import { screen } from './screen.js';

export const label = 'Haemoglobin from the lips (demonstration)';

const $ = (id) => document.getElementById(id);
let current = null;

export function setUp(model) {
  current = model;
  $('lips-photo').onchange = () => $('lips-photo').files[0] && run($('lips-photo').files[0]);
}

function population() {
  const age = $('lips-age').value;
  return { age_years: age === '' ? null : Number(age), sex: $('lips-sex').value || null };
}

// runtime.py's CAVEAT, worded from the bundle's validation block
function caveat(manifest) {
  const v = manifest.validation, p = v.permutation_test?.p_value;
  return `<p class="small"><strong>A demonstration, not a measurement.</strong> In validation (${escapeHtml(v.scheme)}) this model's
    MAE was ${v.model.mae.toFixed(2)} g/dL against ${v.mean_predictor.mae.toFixed(2)} g/dL for always predicting the training mean
    (permutation test p = ${p === undefined || p === null ? 'not run' : p.toFixed(2)}): the data behind it are far too few to show that
    lip colour tells Hb. The interval is a ${Math.round(manifest.uncertainty.coverage * 100)} % conformal interval, and only roughly.</p>
    <p class="small">${escapeHtml(manifest.disclaimer)}</p>`;
}

async function run(file) {
  const out = $('lips-result');
  out.hidden = false;
  out.dataset.status = 'running';
  try {
    const { image } = await imageFromFile(file);
    const result = screen(current, image, file.name) ?? await predictLips(current, image, population(), file.name);
    window.vitalensLips = result;
    const where = result.lip_box ? `<p class="small">lip box (top, left, bottom, right): ${result.lip_box.join(', ')} px${result.regions_from ? `, found by ${escapeHtml(result.regions_from)}` : ''}</p>` : '';
    out.innerHTML = result.status === 'ok'
      ? `<p><strong>${result.predicted_hgb.toFixed(1)} g/dL</strong> (interval ${result.interval_low.toFixed(1)}–${result.interval_high.toFixed(1)} g/dL), a demonstration</p>
         <p>WHO 2024: ${escapeHtml(result.interpretation.headline)} for ${escapeHtml(result.interpretation.population_label)}</p>${where}${caveat(current.manifest)}`
      : `<p class="error">No estimate: ${escapeHtml(result.message)}</p>${where}${caveat(current.manifest)}`;
    out.dataset.status = result.status;
  } catch (error) {
    window.vitalensLips = null;
    out.innerHTML = `<p class="error">${escapeHtml(error.message)}</p>`;
    out.dataset.status = 'error';
  }
  out.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
}
