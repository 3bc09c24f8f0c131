// twin: none (the fingernail screen)
// Fingernail Hb: upload mode (one photo, each nail drawn with its own estimate) and camera mode (N frames,
// IQR outlier rejection, median). All on the device; the result (upload: the photo's Prediction, as the API
// returns it; camera: the frames' aggregate) is also left on window.vitalensResult (and in #result's data-*
// attributes) for the browser tests.
import { drawNails } from './draw.js';
import { hbInterval, predictHb, preScreenHb } from './hb.js';
import { screen } from './screen.js';
import { imageFromFile, imageFromVideo } from './photo.js';
import { aggregateEstimates } from './stats.js';
import { interpretHb, interpretInterval } from './who.js';
import { escapeHtml } from './html.js';
import { hbScaleSvg } from './hb_scale.js';
import { drawPreview, frameDotPlotSvg, scaledNails } from './camera_view.js';

export const label = 'Haemoglobin from fingernails';

let current = null;
const $ = (id) => document.getElementById(id);

export function setUp(model) {
  current = model;
  $('photo').onchange = () => $('photo').files[0] && runUpload($('photo').files[0]);
  $('camera-start').onclick = runCamera;
  for (const tab of document.querySelectorAll('#panel-hb-nails .tabs button')) {
    tab.onclick = () => {
      for (const other of document.querySelectorAll('#panel-hb-nails .tabs button')) other.classList.toggle('active', other === tab);
      for (const view of document.querySelectorAll('#panel-hb-nails [data-view]')) view.hidden = view.dataset.view !== tab.dataset.mode;
    };
  }
}

function population() {
  const number = (id) => ($(id).value === '' ? null : Number($(id).value));
  const text = (id) => $(id).value || null;
  return {
    age_years: number('age'), sex: text('sex'), pregnancy_trimester: number('trimester'),
    altitude_m: number('altitude'), smoking: text('smoking'), cigarettes_per_day: number('cigarettes'),
  };
}

// interpretation: who.js interpretInterval's result; its headline names a band only when the whole interval
// lies in it, and says when the cut-off was assumed (sex not given). Coloured by the worst band the interval reaches.
function interpretationHtml(interpretation) {
  const adjusted = interpretation.adjustments.length
    ? `<p>Adjusted for ${interpretation.adjustments.map((a) => `${escapeHtml(a.detail)} (−${a.subtracted_g_dl.toFixed(1)} g/dL)`).join(', ')}: ${interpretation.adjusted_hb_g_dl.toFixed(1)} g/dL.</p>` : '';
  const spans = interpretation.interval_bands.length > 1
    ? '<p class="small">The interval crosses a band edge, so no single band is named.</p>' : '';
  return `<p class="band-${interpretation.interval_bands[0]}">WHO 2024: <strong>${escapeHtml(interpretation.headline)}</strong>
    for ${escapeHtml(interpretation.population_label)}</p>${spans}${adjusted}
    <details><summary>assumptions</summary><ul>${interpretation.assumptions.map((a) => `<li>${escapeHtml(a)}</li>`).join('')}</ul></details>`;
}

function caveat(manifest) {
  const v = manifest.validation;
  return `<p class="small">Validation (${escapeHtml(v.scheme)}): this model's MAE was ${v.model.mae.toFixed(2)} g/dL against
    ${v.mean_predictor.mae.toFixed(2)} g/dL for always predicting the training mean. The interval is a
    ${Math.round(manifest.uncertainty.coverage * 100)} % conformal interval.</p><p class="small">${escapeHtml(manifest.disclaimer)}</p>`;
}

function showResult(html, data) {
  const out = $('result');
  out.hidden = false;
  out.innerHTML = html;
  Object.assign(out.dataset, data);
  out.scrollIntoView({ block: 'nearest', behavior: 'smooth' }); // on a phone the result is otherwise below the fold
  window.vitalensResult = data.json ? JSON.parse(data.json) : null;
}

// a refusal's reasons say why there is no number; its tips (the Prediction's details), one per reason, say how
// to take the next photo
function refusalHtml(tips, reasons = []) {
  return `<p class="error">No estimate: the photo cannot be read well enough${reasons.length ? ` (${escapeHtml(reasons.join('; '))})` : ''}.</p>
    <ul>${tips.map((tip) => `<li>${escapeHtml(tip)}</li>`).join('')}</ul>`;
}

async function runUpload(file) {
  $('result').hidden = true;
  let people;
  try {
    people = population();
    interpretHb(current.rules, 12, people); // a wrong age/sex combination is reported before any work
    const { image, bitmap } = await imageFromFile(file);
    const started = performance.now();
    const result = screen(current, image, file.name, preScreenHb) ?? await predictHb(current, image, people, file.name);
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    const json = JSON.stringify(result);
    if (result.status !== 'ok') {
      $('overlay').hidden = true;
      return showResult(refusalHtml(result.tips, result.reasons) + caveat(current.manifest), { status: 'refused', nails: '0', json });
    }
    drawNails($('overlay'), bitmap, result.nails);
    showResult(`<div class="hb">Hb ≈ ${result.predicted_hgb.toFixed(1)} g/dL</div>
      <p>90 % interval ${result.interval_low.toFixed(1)}–${result.interval_high.toFixed(1)} g/dL · median of ${result.n_nails} nails
      (${result.per_nail_hgb.map((hb) => hb.toFixed(1)).join(', ')}) · computed on this device in ${seconds} s</p>
      ${hbScaleSvg(result.interpretation, result.predicted_hgb, result.interval_low, result.interval_high)}
      ${interpretationHtml(result.interpretation)}${caveat(current.manifest)}`,
    { status: 'ok', hb: String(result.predicted_hgb), nails: String(result.n_nails), json });
  } catch (error) {
    showResult(`<p class="error">${escapeHtml(error.message)}</p>`, { status: 'error', nails: '0', json: 'null' });
  }
}

const SHOWN_FRAME_WIDTH = 720; // the copy of each estimated frame kept for "best frame" (drawNails' width)

async function runCamera() {
  const button = $('camera-start');
  const frames = Math.max(4, Math.min(120, Number($('frames').value) || 30));
  const video = $('video'), view = $('camera-view'), preview = $('camera-overlay');
  let stream;
  button.disabled = true;
  $('overlay').hidden = true;
  try {
    const people = population();
    interpretHb(current.rules, 12, people);
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment', width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false });
    view.hidden = false;
    video.srcObject = stream;
    await video.play();
    drawPreview(preview, video, null);
    const results = [], copies = [];
    for (let i = 0; i < frames; i++) {
      await new Promise((resolve) => requestAnimationFrame(resolve));
      const frame = imageFromVideo(video), id = `frame ${i + 1}`;
      const result = screen(current, frame, id, preScreenHb) ?? await predictHb(current, frame, people, id);
      results.push(result);
      drawPreview(preview, video, result);
      const factor = Math.min(1, SHOWN_FRAME_WIDTH / video.videoWidth);
      copies.push(result.status === 'ok'
        ? { bitmap: await createImageBitmap(video, { resizeWidth: Math.round(video.videoWidth * factor) }), nails: scaledNails(result.nails, factor) } : null);
      showResult(`<p>reading frame ${i + 1} of ${frames}…</p>`, { status: 'running' });
    }
    stopCamera(stream, video, view);
    stream = null;
    showCameraResult(results, people, copies);
  } catch (error) {
    showResult(`<p class="error">camera: ${escapeHtml(error.message)}</p>`, { status: 'error', json: 'null' });
  } finally {
    if (stream) stopCamera(stream, video, view);
    button.disabled = false;
  }
}

// Every track stopped and the preview taken away, so no frozen or black video box is left on the page.
function stopCamera(stream, video, view) {
  stream.getTracks().forEach((track) => track.stop());
  video.srcObject = null;
  view.hidden = true;
}

function showCameraResult(results, people, copies = []) {
  const estimated = results.filter((r) => r.status === 'ok');
  const refused = results.length - estimated.length;
  if (!estimated.length) {
    const tips = [...new Set(results.flatMap((r) => r.tips))];
    return showResult(refusalHtml(tips) + `<p>0 of ${results.length} frames usable.</p>`,
      { status: 'refused', frames: String(results.length), json: JSON.stringify({ frames: results.length, refused }) });
  }
  const summary = aggregateEstimates(estimated.map((r) => r.predicted_hgb));
  const hb = summary.estimate;
  const [low, high] = hbInterval(hb, current.manifest.uncertainty);
  const inlier = estimated.map((_, i) => !summary.rejected.includes(i));
  const shown = copies.filter(Boolean), best = bestFrame(estimated, inlier, hb);
  if (shown[best]) drawNails($('overlay'), shown[best].bitmap, shown[best].nails); // the used frame nearest the median
  const interpretation = interpretInterval(current.rules, hb, low, high, people, current.disclaimer);
  const aggregate = { method: 'iqr-then-median', hb, interval: [low, high], frames: results.length,
    refused, used: summary.nUsed, rejected: summary.nRejected, interpretation };
  showResult(`<div class="hb">Hb ≈ ${hb.toFixed(1)} g/dL</div>
    <p>90 % interval ${low.toFixed(1)}–${high.toFixed(1)} g/dL · median of ${summary.nUsed} frames
    (${summary.nRejected} rejected as outliers by the 1.5×IQR rule, ${refused} refused by the quality gate, the detector or as implausible, of ${results.length})</p>
    ${hbScaleSvg(interpretation, hb, low, high)}
    ${frameDotPlotSvg(results, inlier, hb, low, high)}
    ${interpretationHtml(interpretation)}${caveat(current.manifest)}`,
  { status: 'ok', hb: String(hb), frames: String(results.length), json: JSON.stringify(aggregate) });
}

// index (among the estimated frames) of the used frame whose estimate is nearest the median
function bestFrame(estimated, inlier, hb) {
  let best = -1;
  estimated.forEach((r, i) => {
    if (inlier[i] && (best < 0 || Math.abs(r.predicted_hgb - hb) < Math.abs(estimated[best].predicted_hgb - hb))) best = i;
  });
  return best;
}
