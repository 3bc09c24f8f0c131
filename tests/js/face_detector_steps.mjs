// The browser's face detector (webapp/js/face_detector.js) on photos written by tests/test_face_detector_parity.py,
// under the same onnxruntime-web wasm build the app serves: each photo's faces, and the first face aligned to the
// bundle's template; NMS on random boxes; and (webapp/js/face_gate.js) a skin bundle's face gate on the same photos. Usage: node face_detector_steps.mjs DIR
// (DIR/cases.json: {bundle, cases: [{name, input, width, height, minFace, aligned}], nms: [{boxes, threshold, byMin}]})
// -> JSON on stdout: {faces: {name: [face, ...]}, nms: [[index, ...], ...]}; each aligned crop is written to its file.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from '../../node_modules/onnxruntime-web/dist/ort.wasm.min.mjs';
import { rgbImage } from '../../src/vitalens/webapp/js/image.js';
import { align, detectFaces, nms } from '../../src/vitalens/webapp/js/face_detector.js';
import { faceGate } from '../../src/vitalens/webapp/js/face_gate.js';

ort.env.wasm.numThreads = 1; // as the app runs it
ort.env.logLevel = 'error';
const dir = process.argv[2];
const config = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8'));
const manifest = JSON.parse(readFileSync(join(config.bundle, 'bundle.json'), 'utf8'));
const sessions = {};
for (const net of ['pnet', 'rnet', 'onet']) {
  const bytes = new Uint8Array(readFileSync(join(config.bundle, manifest[`detector_${net}`].file)));
  sessions[net] = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
}
const faces = {};
for (const c of config.cases) {
  const image = rgbImage(c.width, c.height, new Uint8Array(readFileSync(join(dir, c.input))));
  const started = performance.now();
  faces[c.name] = await detectFaces(image, sessions, ort.Tensor, c.minFace);
  const ms = performance.now() - started;
  if (faces[c.name].length) writeFileSync(join(dir, c.aligned), align(image, faces[c.name][0].landmarks, manifest.alignment.template, manifest.alignment.side).data);
  faces[c.name].ms = ms;
}
// The face gate of a bundle that carries one (gate: {bundle, cases}): its result for each photo, or null.
const gated = [];
if (config.gate) {
  const gateManifest = JSON.parse(readFileSync(join(config.gate.bundle, 'bundle.json'), 'utf8'));
  const gateSessions = {};
  for (const stage of Object.values(gateManifest.face_gate.stages)) {
    gateSessions[stage] = await ort.InferenceSession.create(new Uint8Array(readFileSync(join(config.gate.bundle, gateManifest[stage].file))), { executionProviders: ['wasm'] });
  }
  const model = { manifest: gateManifest, sessions: gateSessions, Tensor: ort.Tensor, disclaimer: gateManifest.disclaimer };
  for (const c of config.gate.cases) gated.push(await faceGate(model, rgbImage(c.width, c.height, new Uint8Array(readFileSync(join(dir, c.input)))), c.name));
}
const timings = Object.fromEntries(Object.entries(faces).map(([name, list]) => [name, list.ms]));
console.log(JSON.stringify({ faces, timings, gated, nms: config.nms.map((c) => nms(c.boxes, c.threshold, c.byMin)) }));
