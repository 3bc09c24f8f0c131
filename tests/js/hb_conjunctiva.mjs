// The browser's path for a conjunctiva photo in Node (the spine's screen, then hb_conjunctiva.js), with the
// onnxruntime-web wasm build the app serves, on photos written by tests/test_hb_conjunctiva_browser.py.
// Usage: node hb_conjunctiva.mjs DIR  (DIR/cases.json as tests/js/predictions.mjs reads it, one bundle)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from '../../node_modules/onnxruntime-web/dist/ort.wasm.min.mjs';
import { rgbImage } from '../../src/vitalens/webapp/js/image.js';
import { predictConjunctiva } from '../../src/vitalens/webapp/js/hb_conjunctiva.js';
import { screen } from '../../src/vitalens/webapp/js/screen.js';

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';
const dir = process.argv[2];
const { bundle, rules, cases } = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8'));
const manifest = JSON.parse(readFileSync(join(bundle, 'bundle.json'), 'utf8'));
const session = await ort.InferenceSession.create(new Uint8Array(readFileSync(join(bundle, manifest.model.file))), { executionProviders: ['wasm'] });
const model = { manifest, sessions: { model: session }, Tensor: ort.Tensor, rules: JSON.parse(readFileSync(rules, 'utf8')), disclaimer: manifest.disclaimer };
const out = [];
for (const c of cases) {
  const image = rgbImage(c.width, c.height, new Uint8Array(readFileSync(join(dir, c.input))));
  out.push(screen(model, image, c.image_id) ?? await predictConjunctiva(model, image, c.population, c.image_id));
}
console.log(JSON.stringify(out));
