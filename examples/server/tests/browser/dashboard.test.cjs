// Drives the jobrt dashboard in Debian's Chromium: submit a countdown job with
// the page's form, watch its progress bar move, pause it, resume it, see it
// complete, and save a screenshot; then submit an approval job, see it wait for
// a signal, send it "approve" from the detail drawer, and see it complete;
// then create two schedules through the API and see the Schedules panel list
// them, open the job one of them submitted, pause it and delete the other.
// run.sh starts the server and sets:
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

async function submit(page, params, type = 'countdown') {
  await page.selectOption('#submit-type', type);
  await page.fill('#submit-params', JSON.stringify(params));
  const before = await page.textContent('#submit-result');
  await page.click('#submit-button');
  const text = await until('the submit confirmation', async () => {
    const t = await page.textContent('#submit-result');
    return t !== before && /submitted/.test(t || '') ? t : null;
  });
  return Number(/#(\d+)/.exec(text)[1]);
}

/** POST /api/schedules from the test itself (the panel only lists and steers). */
async function createSchedule(body) {
  const res = await fetch(`${url}/api/schedules`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`creating schedule ${body.name}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function checkSchedules(page) {
  await createSchedule({ name: 'nightly-report', spec: '30 2 * * *', type: 'countdown', params: { n: 5 },
    time_zone: 'Europe/Berlin', owner: '<b>ops</b>' });
  await createSchedule({ name: 'heartbeat', spec: '@every 2s', type: 'countdown', params: { n: 3, pace_ms: 50 } });
  log('created the schedules "nightly-report" and "heartbeat" through the API');
  const nightly = page.locator('#schedules tr[data-schedule="nightly-report"]');
  const heartbeat = page.locator('#schedules tr[data-schedule="heartbeat"]');
  await nightly.waitFor(); // the panel reads the list every 5 s
  await heartbeat.waitFor();
  const text = await nightly.textContent();
  for (const want of ['30 2 * * *', 'Europe/Berlin', 'countdown', 'active', 'not yet']) {
    if (!text.includes(want)) throw new Error(`the nightly-report row lacks "${want}": ${text}`);
  }
  if (!/in \d+ (s|min|h)/.test(text)) throw new Error(`the nightly-report row has no relative next run: ${text}`);
  // The owner is shown as text, never parsed as HTML.
  if (!text.includes('<b>ops</b>') || (await nightly.locator('b').count()) !== 0) {
    throw new Error(`the owner was not shown as plain text: ${text}`);
  }
  if ((await page.textContent('#schedules-count')) !== '2') throw new Error('the count does not say 2');
  log('the panel lists both, with spec, zone, type and next run');

  const link = heartbeat.locator('button.link');
  await until('the heartbeat schedule to submit a job', async () => (await link.count()) > 0, 20000);
  const jobText = await link.textContent();
  await link.click();
  await until('the drawer to show the schedule\'s job', async () =>
    !(await page.locator('#detail').isHidden()) && (await page.textContent('#detail-title')).includes(jobText));
  log(`the heartbeat's last job ${jobText} opens in the detail drawer`);
  await page.click('#detail-close');

  await heartbeat.locator('button[data-action="pause"]').click();
  await until('the heartbeat to say paused', async () =>
    (await heartbeat.locator('.badge').textContent().catch(() => '')) === 'paused');
  log('paused the heartbeat from the panel');
  await until('the toast to go', async () => (await page.locator('#toasts .toast').count()) === 0, 10000);
  const shot = screenshot.replace(/\.png$/, '-schedules.png');
  await page.screenshot({ path: shot, fullPage: true });
  log(`screenshot: ${shot}`);

  page.once('dialog', (d) => d.accept());
  await nightly.locator('button[data-action="delete"]').click();
  await until('the nightly-report row to go', async () => (await nightly.count()) === 0);
  if ((await page.textContent('#schedules-count')) !== '1') throw new Error('the count does not say 1');
  log('deleted nightly-report from the panel');
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

    // A job that waits for a signal, woken from the detail drawer.
    await page.click('#detail-close');
    const approvalId = await submit(page, {}, 'approval');
    log(`submitted approval job #${approvalId}`);
    const approvalCard = page.locator(`#dock [data-job-id="${approvalId}"]`);
    await until('the approval job to wait', async () =>
      (await approvalCard.locator('.badge').textContent().catch(() => '')) === 'waiting');
    await until('the card to say what it waits for', async () =>
      /waiting for signal/.test(await approvalCard.locator('.job-meta').textContent().catch(() => '')));
    log('the card says "waiting for signal"');
    await approvalCard.locator('button', { hasText: 'Details' }).click();
    await page.waitForSelector('#signal-form:not([hidden])');
    await until('the drawer to say what the job waits for', async () =>
      /waiting for signal/.test(await page.textContent('#detail-body')));
    await page.fill('#signal-name', 'approve');
    await page.fill('#signal-payload', '{"by": ');
    await page.click('#signal-send');
    await until('the payload error', async () =>
      /not valid JSON/.test(await page.textContent('#signal-result')));
    await page.fill('#signal-payload', '{"by": "dashboard"}');
    const signalShot = screenshot.replace(/\.png$/, '-signal.png');
    await page.screenshot({ path: signalShot });
    log(`screenshot: ${signalShot}`);
    await page.click('#signal-send');
    await until('the signal confirmation', async () =>
      /sent/.test(await page.textContent('#signal-result')));
    log('sent the signal "approve" from the drawer');
    const approvalRow = page.locator(`#history [data-job-id="${approvalId}"] .badge`);
    await until('the approval job to complete', async () =>
      (await approvalRow.textContent().catch(() => '')) === 'completed');
    await until('the drawer to show who approved', async () =>
      /"approved_by": "dashboard"/.test(await page.textContent('#detail-body')));
    await page.waitForSelector('#signal-form[hidden]', { state: 'attached' });
    log(`approval job #${approvalId} completed, approved by "dashboard"; the signal form is gone`);

    await checkSchedules(page);

    if (pageErrors.length) throw new Error(`errors in the page: ${pageErrors.join('; ')}`);
  } finally {
    await context.close();
  }
}

main().then(() => log('passed'), (e) => {
  console.error(`[dashboard test] FAILED: ${e.stack || e}`);
  process.exit(1);
});
