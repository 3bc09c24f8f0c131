// Runs the browser app's pure pipeline steps in Node on arrays that tests/test_app_parity.py wrote
// (the photo's pixels and the detector's raw outputs from the Python runtime), and prints what it computed.
// Usage: node pipeline_steps.mjs CASES_DIR  (CASES_DIR/cases.json lists the cases)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rgbImage } from '../../src/vitalens/webapp/js/image.js';
import { decodeDetections, detectionsToRegions, letterbox } from '../../src/vitalens/webapp/js/detection.js';
import { nailRegions, referenceRed } from '../../src/vitalens/webapp/js/nails.js';
import { assessPhoto } from '../../src/vitalens/webapp/js/quality.js';

const dir = process.argv[2];
const { manifest, cases } = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8'));
const rules = manifest.detector;
const bytes = (name) => new Uint8Array(readFileSync(join(dir, name)));
const floats = (name) => { const b = readFileSync(join(dir, name)); return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4); };

const out = cases.map((c) => {
  const image = rgbImage(c.width, c.height, bytes(c.rgb));
  const { square, placement } = letterbox(image, rules.input.size, rules.input.letterbox_pad);
  const expectedSquare = bytes(c.square);
  let squareMismatches = 0;
  for (let i = 0; i < expectedSquare.length; i++) squareMismatches += square.data[i] !== expectedSquare[i];
  const detections = decodeDetections(floats(c.heatmap), floats(c.box_maps), c.map_height, c.map_width, placement, c.height, c.width, rules);
  const regions = detectionsToRegions(detections, rules.score_threshold, rules.max_nails);
  const result = { name: c.name, placement, squareMismatches, detections, regions, quality: assessPhoto(image), redMark: referenceRed(image, manifest.region.red_reference) };
  if (regions.nailBoxes.length) {
    const crops = nailRegions(image, regions.nailBoxes, regions.skinBoxes, manifest.region);
    const expectedNails = floats(c.nails), expectedSkins = floats(c.skins);
    const maxDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), a.length === b.length ? 0 : Infinity);
    Object.assign(result, { nailsMaxDiff: maxDiff(crops.nails, expectedNails), skinsMaxDiff: maxDiff(crops.skins, expectedSkins), white: crops.white, red: crops.red });
  }
  return result;
});
console.log(JSON.stringify(out));
