// twin: none (the app shell)
// The app shell: one mode per task, the disclaimer on every screen, and the service worker that makes
// the app work offline. The modes come from the server's task registry (/bundles/index.json "modes":
// task -> the module here that shows it, each exporting { label, setUp(model) }, with a #panel-<task>
// section in index.html); a mode shows only when the server serves its bundle.
import { fetchJSON, loadModel } from './runtime.js';

// /bundles/index.json is cached by the service worker, so offline the app offers what it offered online.
const index = await fetchJSON('/bundles/index.json').catch(() => ({ tasks: {}, modes: {} }));
const MODES = Object.fromEntries(await Promise.all(
  Object.entries(index.modes ?? {}).map(async ([task, module]) => [task, await import(`./${module}`)]),
));

const status = document.getElementById('status');
const taskSelect = document.getElementById('task');

export function setStatus(text, isError = false) {
  status.textContent = text;
  status.classList.toggle('error', isError);
}

async function show(task) {
  for (const panel of document.querySelectorAll('section.panel')) panel.hidden = panel.id !== `panel-${task}`;
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
// every served model's card, rendered by the server (/cards/<task>), listed in the footer
document.getElementById('cards').replaceChildren(...Object.keys(index.tasks ?? {}).flatMap((task, i) => {
  const link = Object.assign(document.createElement('a'), { href: `/cards/${task}`, textContent: task });
  return i ? [document.createTextNode(', '), link] : [link];
}));
taskSelect.addEventListener('change', () => show(taskSelect.value));
show(taskSelect.value);

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch((error) => console.warn('offline mode unavailable:', error));
}
