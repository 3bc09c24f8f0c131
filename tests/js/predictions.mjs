// The browser app's whole path for a photo in Node (the spine's screen and face gate, then hb.js, skin.js or face.js), with
// the same onnxruntime-web wasm build the app serves, on photos written by tests/test_app_parity.py: one
// result per photo, in the shape of vitalens.runtime.predict_one's Prediction.to_json().
// Usage: node predictions.mjs DIR  (DIR/cases.json: {bundles: {task: folder}, siteChecks: {task: check}, rules,
// cases: [{task, image_id, input, width, height, population}], fakeOutputs: {task: [row, ...]}}); a site check given
// replaces the bundle's; fake outputs replace the task model's (not the detector's): each output, in the model's
// order, is its row repeated once per input row (tests/test_plausibility.py feeds implausible numbers this way).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from '../../node_modules/onnxruntime-web/dist/ort.wasm.min.mjs';
import { rgbImage } from '../../src/vitalens/webapp/js/image.js';
import { predictFace } from '../../src/vitalens/webapp/js/face.js';
import { predictHb, preScreenHb } from '../../src/vitalens/webapp/js/hb.js';
import { screen } from '../../src/vitalens/webapp/js/screen.js';
import { predictSkin } from '../../src/vitalens/webapp/js/skin.js';
import { browserStages } from '../../src/vitalens/webapp/js/stages.js';
import { faceGate } from '../../src/vitalens/webapp/js/face_gate.js';

ort.env.wasm.numThreads = 1; // as the app runs it
ort.env.logLevel = 'error';
const PRE_SCREEN = { 'hb-nails': preScreenHb };  // the modes' own quality refusals, as the screens pass them
const PREDICT = {
  'hb-nails': (model, image, c) => predictHb(model, image, c.population, c.image_id),
  'skin-condition': (model, image, c) => predictSkin(model, image, c.image_id),
  'face-age-gender': (model, image, c) => predictFace(model, image, c.image_id),
};

const dir = process.argv[2];
const { bundles, siteChecks = {}, fakeOutputs = {}, rules, cases } = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8'));

// runtime.js's loadModel, from a bundle folder instead of the server
async function load(folder) {
  const manifest = JSON.parse(readFileSync(join(folder, 'bundle.json'), 'utf8'));
  const sessions = {};
  for (const stage of browserStages(manifest)) {
    const bytes = new Uint8Array(readFileSync(join(folder, manifest[stage].file)));
    sessions[stage] = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  }
  return { manifest, sessions, Tensor: ort.Tensor, rules: JSON.parse(readFileSync(rules, 'utf8')), disclaimer: manifest.disclaimer };
}

function faked(session, rows) {
  const run = async (feeds) => {
    const n = Object.values(feeds)[0].dims[0];
    return Object.fromEntries(session.outputNames.map((name, i) => [name, { data: Float32Array.from({ length: n * rows[i].length }, (_, j) => rows[i][j % rows[i].length]) }]));
  };
  return { inputNames: session.inputNames, outputNames: session.outputNames, run };
}

const models = {};
for (const [task, folder] of Object.entries(bundles)) {
  models[task] = await load(folder);
  if (siteChecks[task]) models[task].manifest.site_check = siteChecks[task];
  if (fakeOutputs[task]) models[task].sessions.model = faked(models[task].sessions.model, fakeOutputs[task]);
}
const out = [];
for (const c of cases) {
  const image = rgbImage(c.width, c.height, new Uint8Array(readFileSync(join(dir, c.input))));
  out.push(screen(models[c.task], image, c.image_id, PRE_SCREEN[c.task]) ?? await faceGate(models[c.task], image, c.image_id)
    ?? await PREDICT[c.task](models[c.task], image, c));
}
console.log(JSON.stringify(out));
