// The browser's Pillow-exact resize on cases written by tests/test_app_parity.py.
// Usage: node resize_cases.mjs DIR  (DIR/cases.json: [{input, width, height, outWidth, outHeight, filter, output}])
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rgbImage } from '../../src/vitalens/webapp/js/image.js';
import { resize } from '../../src/vitalens/webapp/js/resample.js';

const dir = process.argv[2];
const cases = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8'));
for (const c of cases) {
  const image = rgbImage(c.width, c.height, new Uint8Array(readFileSync(join(dir, c.input))));
  writeFileSync(join(dir, c.output), resize(image, c.outWidth, c.outHeight, c.filter).data);
}
console.log(JSON.stringify(cases.length));
