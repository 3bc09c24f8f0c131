// Opens the API docs (/docs, then /redoc) in Debian's chromium with every request that leaves the server refused, and
// prints what rendered and what was refused. Usage: node docs_offline.mjs BASE_URL CHROMIUM [SCREENSHOT]
import { chromium } from 'playwright-core';

const [base, executablePath, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
const outside = [];
await page.route('**/*', (route) => {
  const url = new URL(route.request().url());
  if (url.origin === new URL(base).origin) return route.continue();
  outside.push(url.href);
  return route.abort();
});
await page.goto(`${base}/docs`);
await page.waitForSelector('.swagger-ui .info .title', { timeout: 60000 });
const title = await page.textContent('.swagger-ui .info .title');
const operations = await page.locator('.opblock').count();
if (screenshot) await page.screenshot({ path: screenshot, fullPage: false });
// ReDoc at /redoc: the same document, rendered by the standalone bundle served from the package.
await page.goto(`${base}/redoc`);
await page.waitForFunction(() => document.querySelector('redoc')?.textContent.includes('vitalens'), null, { timeout: 60000 });
const redocText = await page.textContent('redoc');
if (screenshot) await page.screenshot({ path: screenshot.replace(/\.png$/, '_redoc.png'), fullPage: false });
console.log(JSON.stringify({ title, operations, outside, redoc: { rendered: redocText.length, mentions_predict: redocText.includes('predict') } }));
await browser.close();
