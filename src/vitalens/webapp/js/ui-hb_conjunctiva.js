// twin: none (the conjunctiva screen)
// Conjunctiva Hb: upload a segmented photo of a child's lower-eyelid lining (tissue cut out onto a plain
// background) with the child's age in months and sex -> the estimate, its interval and the WHO 2024 reading for
// that age, all on the device; a photo the spine's screen or the task refuses gets the reason and a tip and no
// number. The bundle's "demonstration" flag (set at export from the validation's CI) decides what the screen calls
// the number. The result (the photo's Prediction, as the API returns it) is left on window.vitalensConjunctiva.
import { escapeHtml } from './html.js';
import { imageFromFile } from './photo.js';
import { predictConjunctiva } from './hb_conjunctiva.js';
import { screen } from './screen.js';

export const label = 'Haemoglobin from the conjunctiva (children, segmented photo)';

const $ = (id) => document.getElementById(id);
let current = null;

export function setUp(model) {
  current = model;
  $('conj-photo').onchange = () => $('conj-photo').files[0] && run($('conj-photo').files[0]);
}

function population() {
  const months = $('conj-age-months').value;
  return { age_years: months === '' ? null : Number(months) / 12, sex: $('conj-sex').value || null };
}

function caveat(manifest) {
  const v = manifest.validation, [low, high] = v.paired_mae_difference.ci;
  const status = manifest.demonstration
    ? '<strong>A demonstration, not a measurement</strong>: the model was not shown to beat always predicting the training mean.'
    : 'The model beat always predicting the training mean, by little: a weak signal, not a screening tool.';
  return `<p class="small">${status} Nested leave-one-hospital-out MAE ${v.model.mae.toFixed(2)} g/dL against
    ${v.mean_predictor.mae.toFixed(2)} g/dL for the mean (95 % CI of the difference ${low.toFixed(2)} to ${high.toFixed(2)});
    the interval is a ${Math.round(manifest.uncertainty.coverage * 100)} % conformal interval.</p>
    <p class="small">${escapeHtml(manifest.disclaimer)}</p>`;
}

async function run(file) {
  const out = $('conj-result');
  out.hidden = false;
  out.dataset.status = 'running';
  try {
    const { image } = await imageFromFile(file);
    const result = screen(current, image, file.name) ?? await predictConjunctiva(current, image, population(), file.name);
    window.vitalensConjunctiva = result;
    out.innerHTML = result.status === 'ok'
      ? `<p><strong>${result.predicted_hgb.toFixed(1)} g/dL</strong> (interval ${result.interval_low.toFixed(1)}–${result.interval_high.toFixed(1)} g/dL)</p>
         <p>WHO 2024: ${escapeHtml(result.interpretation.headline)} for ${escapeHtml(result.interpretation.population_label)}</p>${caveat(current.manifest)}`
      : `<p class="error">No estimate: ${escapeHtml(result.message)}</p>${caveat(current.manifest)}`;
    out.dataset.status = result.status;
  } catch (error) {
    window.vitalensConjunctiva = null;
    out.innerHTML = `<p class="error">${escapeHtml(error.message)}</p>`;
    out.dataset.status = 'error';
  }
  out.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
}
