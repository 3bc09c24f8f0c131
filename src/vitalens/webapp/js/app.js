// The app shell: one mode per task, the disclaimer on every screen, and the service worker that makes
// the app work offline. A new task (e.g. skin-condition) is one module exporting { label, setUp(model) }
// added to MODES, and its bundle folder in the package.
import * as face from './ui-face.js';
import * as hb from './ui-hb.js';
import { loadModel } from './runtime.js';

const MODES = {
  'hb-nails': hb,
  'face-age-gender': face,
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

for (const [task, mode] of Object.entries(MODES)) taskSelect.add(new Option(mode.label, task));
taskSelect.addEventListener('change', () => show(taskSelect.value));
show(taskSelect.value);

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch((error) => console.warn('offline mode unavailable:', error));
}
