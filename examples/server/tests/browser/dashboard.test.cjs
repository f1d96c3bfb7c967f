// Drives the jobrt dashboard in Debian's Chromium: submit a countdown job with
// the page's form, watch its progress bar move, pause it, resume it, see it
// complete, and save a screenshot. run.sh starts the server and sets:
//   JOBRT_URL         the server's base URL
//   SCREENSHOT        where to write the PNG
//   USER_DATA_DIR     an empty temporary Chromium profile directory
'use strict';

const { chromium } = require('playwright-core');

const url = process.env.JOBRT_URL;
const screenshot = process.env.SCREENSHOT;
const userDataDir = process.env.USER_DATA_DIR;
const STEP_TIMEOUT = 20000;

function log(msg) {
  console.log(`[dashboard test] ${msg}`);
}

async function progressOf(card) {
  const v = await card.locator('.progress').getAttribute('aria-valuenow');
  return v === null ? -1 : Number(v);
}

/** Polls `fn` until it returns a truthy value or the deadline passes. */
async function until(what, fn, timeout = STEP_TIMEOUT) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function submit(page, params) {
  await page.selectOption('#submit-type', 'countdown');
  await page.fill('#submit-params', JSON.stringify(params));
  const before = await page.textContent('#submit-result');
  await page.click('#submit-button');
  const text = await until('the submit confirmation', async () => {
    const t = await page.textContent('#submit-result');
    return t !== before && /submitted/.test(t || '') ? t : null;
  });
  return Number(/#(\d+)/.exec(text)[1]);
}

async function main() {
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1360, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });

  try {
    log(`opening ${url}`);
    await page.goto(url);
    await page.waitForSelector('#conn[data-state="live"]');
    await page.waitForSelector('#submit-type option[value="countdown"]', { state: 'attached' });

    const id = await submit(page, { n: 40, pace_ms: 150 });
    log(`submitted job #${id} through the form`);
    const card = page.locator(`#dock [data-job-id="${id}"]`);
    await card.waitFor();

    const first = await until('progress above 0', async () => {
      const p = await progressOf(card);
      return p > 0 ? p : null;
    });
    const later = await until('the progress bar to move', async () => {
      const p = await progressOf(card);
      return p > first ? p : null;
    });
    log(`progress moved from ${first}% to ${later}%`);

    await card.locator('button[data-action="pause"]').click();
    await until('the card to say paused', async () =>
      (await card.locator('.badge').textContent()) === 'paused');
    const pausedAt = await progressOf(card);
    log(`clicked pause: the card says "paused" at ${pausedAt}%`);

    await card.locator('button[data-action="resume"]').click();
    log('clicked resume');
    const row = page.locator(`#history [data-job-id="${id}"] .badge`);
    await until('the job to complete', async () => (await row.textContent().catch(() => '')) === 'completed', 30000);
    log(`job #${id} completed (history row says "completed")`);

    // Two more jobs keep the dock busy for the screenshot: one running, one paused.
    const id2 = await submit(page, { n: 400, pace_ms: 100 });
    const id3 = await submit(page, { n: 300, pace_ms: 100 });
    const card3 = page.locator(`#dock [data-job-id="${id3}"]`);
    await until('the third job to make progress', async () => (await progressOf(card3)) > 3);
    await card3.locator('button[data-action="pause"]').click();
    await until('the third job to pause', async () => (await card3.locator('.badge').textContent()) === 'paused');
    const card2 = page.locator(`#dock [data-job-id="${id2}"]`);
    await until('the second job to make progress', async () => (await progressOf(card2)) > 5);
    await until('the first job to leave the dock', async () => (await page.locator(`#dock [data-job-id="${id}"]`).count()) === 0);
    await page.screenshot({ path: screenshot, fullPage: true });
    log(`screenshot: ${screenshot}`);

    // The detail view of the completed job.
    await page.locator(`#history tr[data-job-id="${id}"]`).click();
    await page.waitForSelector('#detail:not([hidden]) .fields');
    const detailShot = screenshot.replace(/\.png$/, '-detail.png');
    await page.screenshot({ path: detailShot });
    log(`screenshot: ${detailShot}`);

    if (pageErrors.length) throw new Error(`errors in the page: ${pageErrors.join('; ')}`);
  } finally {
    await context.close();
  }
}

main().then(() => log('passed'), (e) => {
  console.error(`[dashboard test] FAILED: ${e.stack || e}`);
  process.exit(1);
});
