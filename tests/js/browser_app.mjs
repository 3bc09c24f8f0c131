// Drives the vitalens app in Debian's chromium with playwright-core (never a downloaded browser):
// upload each photo and read the on-device result, screenshot, upload photos the app refuses, then cut
// the network and predict again from the service worker's cache, then face mode on a whole photo (the face
// found, drawn and aligned on the device) and on a photo with no face (refused), then (with a fake camera fed from a .y4m file) camera mode, then skin
// mode on each skin photo, reading the heat map drawn on the canvas with the overlay on and off. Each
// photo's result is the app's Prediction.to_json()-shaped object.
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
  const refused = [];
  for (const photo of config.refusedPhotos ?? []) refused.push({ photo, ...(await predict(photo)) });

  // Offline: wait until the service worker has cached everything and controls the page, then cut the network.
  await page.evaluate(async () => { await navigator.serviceWorker.ready; });
  await page.reload({ waitUntil: 'load' });
  const controlled = await page.evaluate(() => Boolean(navigator.serviceWorker.controller));
  await context.setOffline(true);
  const apiOffline = await page.evaluate(() => fetch('/healthz').then(() => 'reachable', () => 'unreachable'));
  await open();
  const offline = { photo: config.photos[0], ...(await predict(config.photos[0])) };
  await context.setOffline(false);

  const readFace = async (photo) => {
    await page.evaluate(() => { document.getElementById('face-result').dataset.status = ''; });
    await page.setInputFiles('#face-photo', photo);
    await page.waitForFunction(() => ['ok', 'refused', 'error'].includes(document.getElementById('face-result').dataset.status), null, { timeout: TIMEOUT });
    return page.evaluate(() => {
      const canvas = (id) => { const c = document.getElementById(id); return { hidden: c.hidden, width: c.width, height: c.height }; };
      return { status: document.getElementById('face-result').dataset.status, result: window.vitalensFace,
        text: document.getElementById('face-result').innerText, photoView: canvas('face-preview'), alignedView: canvas('face-aligned') };
    });
  };
  let face = null, faceRefused = null;
  if (config.facePhoto) {
    await page.selectOption('#task', 'face-age-gender');
    await page.waitForSelector('body[data-ready="face-age-gender"]', { timeout: TIMEOUT });
    face = await readFace(config.facePhoto);
    if (config.faceRefusedPhoto) faceRefused = { photo: config.faceRefusedPhoto, ...(await readFace(config.faceRefusedPhoto)) };
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
  const skin = [];
  if (config.skinPhotos) {
    await page.selectOption('#task', 'skin-condition');
    await page.waitForSelector('body[data-ready="skin-condition"]', { timeout: TIMEOUT });
    for (const photo of config.skinPhotos) {
      await page.evaluate(() => { document.getElementById('skin-result').dataset.status = ''; });
      await page.setInputFiles('#skin-photo', photo);
      await page.waitForFunction(() => ['ok', 'refused', 'error'].includes(document.getElementById('skin-result').dataset.status), null, { timeout: TIMEOUT });
      skin.push({ photo, ...(await page.evaluate(readSkinScreen)) });
    }
    await page.screenshot({ path: config.skinScreenshot, fullPage: true });
  }
  console.log(JSON.stringify({ online, refused, offline, controlled, apiOffline, face, faceRefused, camera, skin, problems }));
} finally {
  await browser.close();
}

// In the page: the result, and how much the heat-map overlay changes the canvas in each cell of the map
// (the canvas read with the overlay on, then off).
function readSkinScreen() {
  const out = document.getElementById('skin-result'), canvas = document.getElementById('skin-overlay'), toggle = document.getElementById('skin-heatmap');
  const result = window.vitalensSkin;
  const entry = { status: out.dataset.status, result, text: out.innerText, disclaimer: document.getElementById('disclaimer').innerText };
  if (!result || result.status !== 'ok') return entry;
  const pixels = () => canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const withMap = pixels();
  toggle.click();
  const withoutMap = pixels();
  toggle.click();
  const height = result.heatmap.values.length, width = result.heatmap.values[0].length, side = canvas.width;
  const cells = new Array(height * width).fill(0), counts = new Array(height * width).fill(0);
  let total = 0;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const p = (y * side + x) * 4;
      const diff = Math.abs(withMap[p] - withoutMap[p]) + Math.abs(withMap[p + 1] - withoutMap[p + 1]) + Math.abs(withMap[p + 2] - withoutMap[p + 2]);
      const cell = Math.floor((y * height) / side) * width + Math.floor((x * width) / side);
      cells[cell] += diff; counts[cell]++; total += diff;
    }
  }
  entry.overlay = { hidden: canvas.hidden, width: canvas.width, height: canvas.height, meanDiff: total / (side * side), cellDiff: cells.map((v, i) => v / counts[i]) };
  return entry;
}
