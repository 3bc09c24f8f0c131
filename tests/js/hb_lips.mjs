// The browser's path for a lip photo in Node (the spine's screen, then hb_lips.js with the bundle's model and
// lip_check stages), with the onnxruntime-web wasm build the app serves, on photos written by
// tests/test_hb_lips_browser.py. Usage: node hb_lips.mjs DIR  (DIR/cases.json: bundle, rules, cases)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from '../../node_modules/onnxruntime-web/dist/ort.wasm.min.mjs';
import { rgbImage } from '../../src/vitalens/webapp/js/image.js';
import { predictLips } from '../../src/vitalens/webapp/js/hb_lips.js';
import { screen } from '../../src/vitalens/webapp/js/screen.js';
import { browserStages } from '../../src/vitalens/webapp/js/stages.js';

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';
const dir = process.argv[2];
const { bundle, rules, cases } = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8'));
const manifest = JSON.parse(readFileSync(join(bundle, 'bundle.json'), 'utf8'));
const sessions = {};
for (const stage of browserStages(manifest)) {
  sessions[stage] = await ort.InferenceSession.create(new Uint8Array(readFileSync(join(bundle, manifest[stage].file))), { executionProviders: ['wasm'] });
}
const model = { manifest, sessions, Tensor: ort.Tensor, rules: JSON.parse(readFileSync(rules, 'utf8')), disclaimer: manifest.disclaimer };
const out = [];
for (const c of cases) {
  const image = rgbImage(c.width, c.height, new Uint8Array(readFileSync(join(dir, c.input))));
  out.push(screen(model, image, c.image_id) ?? await predictLips(model, image, c.population, c.image_id));
}
console.log(JSON.stringify(out));
