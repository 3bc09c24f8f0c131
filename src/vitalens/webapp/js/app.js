// The app shell: one mode per task, the disclaimer on every screen, and the service worker that makes
// the app work offline. A new task is one module exporting { label, setUp(model) } added to MODES, and
// its bundle folder in the package; a mode shows only when the server lists its bundle.
import * as face from './ui-face.js';
import * as hb from './ui-hb.js';
import * as skin from './ui-skin.js';
import { fetchJSON, loadModel } from './runtime.js';

const MODES = {
  'hb-nails': hb,
  'face-age-gender': face,
  'skin-condition': skin,
};

const status = document.getElementById('status');
const taskSelect = document.getElementById('task');

export function setStatus(text, isError = false) {
  status.textContent = text;
  status.classList.toggle('error', isError);
}

async function show(task) {
  for (const name of Object.keys(MODES)) document.getElementById(`panel-${name}`).hidden = name !== task;
  setStatus(`loading the ${task} model…`);
  try {
    const model = await loadModel(task);
    MODES[task].setUp(model);
    document.getElementById('version').textContent = model.manifest.vitalens_version ?? '';
    document.body.dataset.ready = task;
    setStatus(`${task} model ready (on-device)`);
  } catch (error) {
    setStatus(`could not load the ${task} model: ${error.message}`, true);
  }
}

// /bundles/index.json is cached by the service worker, so offline the app offers what it offered online.
const served = await fetchJSON('/bundles/index.json').then((index) => index.tasks, () => null);
for (const [task, mode] of Object.entries(MODES)) if (!served || task in served) taskSelect.add(new Option(mode.label, task));
taskSelect.addEventListener('change', () => show(taskSelect.value));
show(taskSelect.value);

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch((error) => console.warn('offline mode unavailable:', error));
}
