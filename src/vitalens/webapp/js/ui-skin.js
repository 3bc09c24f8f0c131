// twin: none (the skin screen)
// Skin condition: upload a photo -> the three most likely conditions, the lighting verdict (and a tip when
// poor) and the Grad-CAM heat map over the centre crop, all on the device; a photo too small to read or unlike
// the clinical close-ups the model learned from is refused with the reason and a tip, and no conditions.
// The result (the photo's Prediction, as the API returns it) is also left on window.vitalensSkin (and
// #skin-result's data-status) for the browser tests.
import { drawHeatmap } from './draw.js';
import { faceGate } from './face_gate.js';
import { imageFromFile } from './photo.js';
import { screen } from './screen.js';
import { predictSkin, skinCrop } from './skin.js';
import { escapeHtml } from './html.js';

export const label = 'Skin condition (top-3, lighting, heat map)';

const HEATMAP_SIDE = 256;
const $ = (id) => document.getElementById(id);
let current = null, shown = null;

export function setUp(model) {
  current = model;
  $('skin-photo').onchange = () => $('skin-photo').files[0] && run($('skin-photo').files[0]);
  $('skin-heatmap').onchange = redraw;
}

function redraw() {
  if (!shown) return;
  drawHeatmap($('skin-overlay'), shown.crop, shown.heatmap, HEATMAP_SIDE, $('skin-heatmap').checked);
  drawHeatmap($('skin-original'), shown.crop, shown.heatmap, HEATMAP_SIDE, false); // the same crop, no map, beside it
  $('skin-scale').hidden = !$('skin-heatmap').checked;
}

const PARTITION_COLOURS = ['#4c72b0', '#dd8452', '#55a868', '#c44e52'];

// The three labels as bars of their probability, and the coarse view as one bar split in its parts.
function probabilityBars(result) {
  const percent = (p) => `${(p * 100).toFixed(1)} %`;
  const bars = result.top.map((t) => `<li><span>${escapeHtml(t.label)}</span> <span class="small">(${percent(t.probability)})</span>
    <div class="bar"><div style="width:${(t.probability * 100).toFixed(1)}%"></div></div></li>`).join('');
  const parts = result.three_partition.map((t, i) => `<div title="${escapeHtml(t.partition)} ${percent(t.probability)}"
    style="width:${(t.probability * 100).toFixed(2)}%;background:${PARTITION_COLOURS[i % PARTITION_COLOURS.length]}"></div>`).join('');
  const legend = result.three_partition.map((t, i) => `<span class="swatch" style="background:${PARTITION_COLOURS[i % PARTITION_COLOURS.length]}"></span>${escapeHtml(t.partition)} ${percent(t.probability)}`).join(' · ');
  return `<ol class="top3">${bars}</ol><p class="small">Coarse view:</p><div class="stacked">${parts}</div><p class="small">${legend}</p>`;
}

function caveat(manifest) {
  const { models, shipped, n } = manifest.metrics;
  const majority = models['majority class (train)'];
  const percent = (v) => `${(v * 100).toFixed(1)} %`;
  const baseline = majority ? ` (always the most common condition: ${percent(majority.top1)})` : '';
  return `<p class="small">On ${n} held-out clinical photos the top label was right ${percent(models[shipped].top1)} of the time and the
    right one was among the three ${percent(models[shipped].top3)}${baseline}; the coarse view's largest part was right
    ${percent(models[shipped].three_partition_accuracy)}.
    Trained on clinical atlas photos of ${manifest.labels.length} conditions: the photo check refuses only part of the photos of
    anything else, and those it lets through still get one of these labels.</p>`;
}

async function run(file) {
  const out = $('skin-result');
  out.hidden = false;
  out.dataset.status = 'running';
  try {
    const { image } = await imageFromFile(file);
    const result = screen(current, image, file.name) ?? await faceGate(current, image, file.name) ?? await predictSkin(current, image, file.name);
    window.vitalensSkin = result;
    if (result.status !== 'ok') {
      shown = null;
      $('skin-overlay').hidden = $('skin-original').hidden = $('skin-scale').hidden = true;
      out.innerHTML = `<p class="error">No answer: ${escapeHtml(result.message)}</p>${caveat(current.manifest)}<p class="small">${escapeHtml(result.disclaimer)}</p>`;
      out.dataset.status = 'refused';
      out.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
      return;
    }
    shown = { crop: skinCrop(current.manifest, image), heatmap: result.heatmap };
    redraw();
    out.innerHTML = `<p class="not-medical"><strong>Not a medical device and not a diagnosis.</strong> Show any spot that changes,
        bleeds or worries you to a doctor.</p>
      ${probabilityBars(result)}
      <p class="lighting-${result.lighting}">Lighting: <strong>${result.lighting}</strong>${result.lighting_tip ? ` — ${escapeHtml(result.lighting_tip)}` : ''}</p>
      <p class="small">The heat map shows where the network looked for “${escapeHtml(result.heatmap.label)}” in the centre square it read
        (${Math.round(current.manifest.inputs.image.crop_fraction * 100)} % of the photo's short side).</p>
      ${caveat(current.manifest)}<p class="small">${escapeHtml(result.disclaimer)}</p>`;
    out.dataset.status = 'ok';
    out.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  } catch (error) {
    shown = null;
    $('skin-overlay').hidden = true;
    window.vitalensSkin = null;
    out.innerHTML = `<p class="error">${escapeHtml(error.message)}</p>`;
    out.dataset.status = 'error';
  }
}
