// Drives the vitalens app in Debian's chromium with playwright-core (never a downloaded browser):
// upload each photo and read the on-device result, screenshot, then cut the network and predict again
// from the service worker's cache, then (with a fake camera fed from a .y4m file) run camera mode.
// Usage: node browser_app.mjs CONFIG.json  ->  JSON on stdout. Driven by tests/test_browser_app.py.
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const TIMEOUT = 180_000;
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];
if (config.fakeVideo) {
  args.push('--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${config.fakeVideo}`);
}

const browser = await chromium.launch({ executablePath: config.chromium, args, headless: true });
const problems = [];
try {
  const context = await browser.newContext({ viewport: { width: 900, height: 1200 } });
  if (config.fakeVideo) await context.grantPermissions(['camera'], { origin: config.base });
  const page = await context.newPage();
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  // With the network cut, the browser logs each failed background refresh; anything else is a problem.
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().includes('ERR_INTERNET_DISCONNECTED')) problems.push(`console: ${message.text()}`);
  });

  const open = async () => {
    await page.goto(config.base, { waitUntil: 'load' });
    await page.waitForSelector('body[data-ready="hb-nails"]', { timeout: TIMEOUT });
  };
  const predict = async (photo) => {
    await page.evaluate(() => { document.getElementById('result').dataset.status = ''; });
    await page.setInputFiles('#photo', photo);
    await page.waitForFunction(() => ['ok', 'refused', 'error'].includes(document.getElementById('result').dataset.status), null, { timeout: TIMEOUT });
    return page.evaluate(() => ({ status: document.getElementById('result').dataset.status, result: window.vitalensResult,
      disclaimer: document.getElementById('disclaimer').innerText, text: document.getElementById('result').innerText }));
  };

  await open();
  const online = [];
  for (const photo of config.photos) online.push({ photo, ...(await predict(photo)) });
  await page.screenshot({ path: config.screenshot, fullPage: true });

  // Offline: wait until the service worker has cached everything and controls the page, then cut the network.
  await page.evaluate(async () => { await navigator.serviceWorker.ready; });
  await page.reload({ waitUntil: 'load' });
  const controlled = await page.evaluate(() => Boolean(navigator.serviceWorker.controller));
  await context.setOffline(true);
  const apiOffline = await page.evaluate(() => fetch('/healthz').then(() => 'reachable', () => 'unreachable'));
  await open();
  const offline = { photo: config.photos[0], ...(await predict(config.photos[0])) };
  await context.setOffline(false);

  let face = null;
  if (config.facePhoto) {
    await page.selectOption('#task', 'face-age-gender');
    await page.waitForSelector('body[data-ready="face-age-gender"]', { timeout: TIMEOUT });
    await page.setInputFiles('#face-photo', config.facePhoto);
    await page.waitForFunction(() => ['ok', 'refused'].includes(document.getElementById('face-result').dataset.status), null, { timeout: TIMEOUT });
    face = await page.evaluate(() => ({ status: document.getElementById('face-result').dataset.status, result: window.vitalensFace,
      text: document.getElementById('face-result').innerText }));
    await page.selectOption('#task', 'hb-nails');
    await page.waitForSelector('body[data-ready="hb-nails"]', { timeout: TIMEOUT });
  }

  let camera = null;
  if (config.fakeVideo) {
    await page.click('#panel-hb-nails .tabs button[data-mode="camera"]');
    await page.fill('#frames', String(config.cameraFrames));
    await page.evaluate(() => { document.getElementById('result').dataset.status = ''; });
    await page.click('#camera-start');
    await page.waitForFunction(() => ['ok', 'refused', 'error'].includes(document.getElementById('result').dataset.status), null, { timeout: TIMEOUT });
    camera = await page.evaluate(() => ({ status: document.getElementById('result').dataset.status, result: window.vitalensResult,
      text: document.getElementById('result').innerText }));
  }
  console.log(JSON.stringify({ online, offline, controlled, apiOffline, face, camera, problems }));
} finally {
  await browser.close();
}
