// twin: vitalens/bundle/reader.py
// onnxruntime-web (wasm, single thread, served by vitalens itself: no CDN) and the bundles it runs.
// Bundle files are checked against bundle.json's sha256, as the Python runtime's load_bundle does.
import * as ort from '/vendor/onnxruntime-web/ort.wasm.min.mjs';
import { browserStages } from './stages.js';

ort.env.wasm.wasmPaths = new URL('/vendor/onnxruntime-web/', location.href).href;
ort.env.wasm.numThreads = 1; // no cross-origin isolation needed, and results do not depend on the thread count
ort.env.logLevel = 'error';


async function fetchChecked(url, sha256) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const bytes = await response.arrayBuffer();
  const digest = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
  if (sha256 && digest !== sha256) throw new Error(`${url}: checksum mismatch (expected ${sha256}, found ${digest}); reload the app`);
  return new Uint8Array(bytes);
}

export async function fetchJSON(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

const loaded = new Map();

// { manifest, sessions: { model, detector?, detector_pnet?, ... }, Tensor, rules, disclaimer } for a shipped task.
export function loadModel(task) {
  if (!loaded.has(task)) loaded.set(task, load(task).catch((error) => { loaded.delete(task); throw error; }));
  return loaded.get(task);
}

async function load(task) {
  const base = `/bundles/${task}/`;
  const [manifest, rules] = await Promise.all([fetchJSON(`${base}bundle.json`), fetchJSON('/rules/who_2024_anaemia.json')]);
  const sessions = {};
  for (const stage of browserStages(manifest)) {
    const bytes = await fetchChecked(base + manifest[stage].file, manifest[stage].sha256);
    sessions[stage] = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  }
  return { task, manifest, sessions, Tensor: ort.Tensor, rules, disclaimer: manifest.disclaimer };
}
