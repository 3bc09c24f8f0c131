// The browser's site check (webapp/js/site_check.js) on images tests/test_site_check.py wrote; prints the features.
// Usage: node site_check_steps.mjs CASES_DIR  (CASES_DIR/cases.json lists {name, width, height, rgb})
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rgbImage } from '../../src/vitalens/webapp/js/image.js';
import { siteFeatures } from '../../src/vitalens/webapp/js/site_check.js';

const dir = process.argv[2];
const cases = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8'));
console.log(JSON.stringify(cases.map((c) => ({ name: c.name, features: siteFeatures(rgbImage(c.width, c.height, new Uint8Array(readFileSync(join(dir, c.rgb))))) }))));
