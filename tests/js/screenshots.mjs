// Each browser mode at phone (390x844) and desktop (1280x900) width: upload one photo, wait for the answer,
// check that the result box is on screen without scrolling by hand, and screenshot the page. Every request
// the page makes is recorded; the Python side asserts that none left the local server.
// Usage: node screenshots.mjs CONFIG.json  ->  JSON on stdout. Driven by tests/test_app_screenshots.py.
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const TIMEOUT = 180_000;
const WIDTHS = { phone: { width: 390, height: 844 }, desktop: { width: 1280, height: 900 } };
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
if (config.fakeVideo) args.push('--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${config.fakeVideo}`);
const browser = await chromium.launch({ executablePath: config.chromium, headless: true, args });
const shots = [], requests = [], problems = [];
try {
  for (const [widthName, viewport] of Object.entries(WIDTHS)) {
    const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
    if (config.fakeVideo) await context.grantPermissions(['camera'], { origin: config.base });
    const page = await context.newPage();
    page.on('request', (request) => requests.push(request.url()));
    page.on('pageerror', (error) => problems.push(`${widthName}: page error: ${error.message}`));
    await page.goto(config.base, { waitUntil: 'load' });
    await page.waitForSelector('body[data-ready]', { timeout: TIMEOUT });
    for (const [task, photo] of Object.entries(config.photos)) {
      await page.selectOption('#task', task);
      await page.waitForSelector(`body[data-ready="${task}"]`, { timeout: TIMEOUT });
      const panel = `#panel-${task}`;
      await page.evaluate((selector) => { const out = document.querySelector(`${selector} .result`); out.dataset.status = ''; }, panel);
      await page.setInputFiles(`${panel} input[type=file]`, photo);
      await page.waitForFunction((selector) => ['ok', 'refused', 'error'].includes(document.querySelector(`${selector} .result`).dataset.status),
        panel, { timeout: TIMEOUT });
      const path = `${config.outDir}/${task}-${widthName}.png`;
      await page.screenshot({ path });
      shots.push({ task, width: widthName, path, ...(await resultOnScreen(page, panel)) });
      if (task === config.cameraTask && config.fakeVideo) shots.push(await cameraShot(page, panel, widthName));
    }
    await context.close();
  }
  console.log(JSON.stringify({ shots, requests, problems }));
} finally {
  await browser.close();
}

async function resultOnScreen(page, panel) {
  await page.waitForTimeout(800); // the smooth scroll to the result
  return page.evaluate((selector) => {
    const out = document.querySelector(`${selector} .result`), box = out.getBoundingClientRect();
    return { status: out.dataset.status, top: box.top, bottom: box.bottom, viewportHeight: window.innerHeight,
      inViewport: box.top < window.innerHeight && box.bottom > 0 && box.height > 0 };
  }, panel);
}

// The camera tab on chromium's fake camera: a few frames, then the best frame with its nails, the dot plot,
// and no video box left behind.
async function cameraShot(page, panel, widthName) {
  await page.click(`${panel} .tabs button[data-mode="camera"]`);
  await page.fill('#frames', '5');
  await page.evaluate((selector) => { document.querySelector(`${selector} .result`).dataset.status = ''; }, panel);
  await page.click('#camera-start');
  await page.waitForFunction((selector) => ['ok', 'refused', 'error'].includes(document.querySelector(`${selector} .result`).dataset.status),
    panel, { timeout: TIMEOUT });
  const seen = await resultOnScreen(page, panel);
  const after = await page.evaluate(() => ({ videoHidden: document.getElementById('camera-view').hidden, streamGone: !document.getElementById('video').srcObject,
    bestFrameShown: !document.getElementById('overlay').hidden, dotPlot: !!document.querySelector('#result .frame-plot') }));
  const path = `${config.outDir}/${panel.slice(7)}-camera-${widthName}.png`;
  await page.screenshot({ path, fullPage: true });
  await page.click(`${panel} .tabs button[data-mode="upload"]`);
  return { task: `${panel.slice(7)} camera`, width: widthName, path, ...seen, ...after };
}
