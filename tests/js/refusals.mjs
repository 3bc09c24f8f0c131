// Photos of the wrong body site in each browser mode: upload each case's photo into its mode and read the
// result (status, reasons, tips, and the text on screen). Usage: node refusals.mjs CONFIG.json -> JSON on stdout.
// Driven by tests/test_browser_refusals.py.
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const TIMEOUT = 180_000;
const browser = await chromium.launch({ executablePath: config.chromium, headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
const results = [];
try {
  const page = await (await browser.newContext({ viewport: { width: 1000, height: 1000 } })).newPage();
  await page.goto(config.base, { waitUntil: 'load' });
  await page.waitForSelector('body[data-ready]', { timeout: TIMEOUT });
  for (const { task, photo } of config.cases) {
    if ((await page.evaluate(() => document.body.dataset.ready)) !== task) {
      await page.selectOption('#task', task);
      await page.waitForSelector(`body[data-ready="${task}"]`, { timeout: TIMEOUT });
    }
    const panel = `#panel-${task}`;
    await page.evaluate((selector) => { document.querySelector(`${selector} .result`).dataset.status = ''; }, panel);
    await page.setInputFiles(`${panel} input[type=file]`, photo);
    await page.waitForFunction((selector) => ['ok', 'refused', 'error'].includes(document.querySelector(`${selector} .result`).dataset.status),
      panel, { timeout: TIMEOUT });
    results.push({ task, photo, ...(await page.evaluate((selector) => {
      const out = document.querySelector(`${selector} .result`);
      return { status: out.dataset.status, text: out.innerText };
    }, panel)) });
  }
  console.log(JSON.stringify(results));
} finally {
  await browser.close();
}
