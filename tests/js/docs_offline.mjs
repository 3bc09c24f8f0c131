// Opens the API docs (/docs) in Debian's chromium with every request that leaves the server refused, and
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
console.log(JSON.stringify({ title, operations, outside }));
await browser.close();
