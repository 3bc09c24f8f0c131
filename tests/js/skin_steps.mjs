// The browser's skin-condition steps on photos written by tests/test_app_parity.py: the centre crop
// (box and Pillow-exact resize) and the lighting verdict measured on that crop.
// Usage: node skin_steps.mjs DIR  (DIR/cases.json: [{input, width, height, size, fraction, output}])
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rgbImage } from '../../src/vitalens/webapp/js/image.js';
import { centreCropBox, centreCropResized } from '../../src/vitalens/webapp/js/centre_crop.js';
import { assessLighting } from '../../src/vitalens/webapp/js/lighting.js';

const dir = process.argv[2];
const cases = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8'));
const out = cases.map((c) => {
  const image = rgbImage(c.width, c.height, new Uint8Array(readFileSync(join(dir, c.input))));
  const crop = centreCropResized(image, c.size, c.fraction);
  writeFileSync(join(dir, c.output), crop.data);
  const { good, reasons, tips, measures } = assessLighting(crop);
  return { box: centreCropBox(c.height, c.width, c.fraction), lighting: { good, reasons, tips, contrast: measures.contrast, mean_a: measures.mean_a, mean_b: measures.mean_b } };
});
console.log(JSON.stringify(out));
