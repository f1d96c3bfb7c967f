// Drives the jobrt dashboard in Debian's Chromium: submit a countdown job with
// the page's form, watch its progress bar move, pause it, resume it, see it
// complete, and save a screenshot; then submit an approval job, see it wait for
// a signal, send it "approve" from the detail drawer, and see it complete;
// then create two schedules through the API and see the Schedules panel list
// them, open the job one of them submitted, pause it and delete the other;
// then submit a job after another through the API, open it and follow its
// "Runs after" link, and show a parent with children that the test answers
// itself (no example job spawns children). Before the flows: the empty Nodes
// panel, and one worker node (and a job on it) that the test answers itself.
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

/** POST /api/jobs from the test itself; returns the new job's id. */
async function submitApi(body) {
  const res = await fetch(`${url}/api/jobs`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  if (res.status !== 202) throw new Error(`submitting ${JSON.stringify(body)}: ${res.status} ${await res.text()}`);
  return (await res.json()).id;
}

const FAKE_PARENT = 900001; // a parent with 205 children, answered by the test (no example job spawns any)
const FAKE_CHILDREN = 205;

/** The record of a made-up job of the fake flow, for page.route. */
function fakeJob(id, realJob) {
  const base = { id, owner: '', priority: 0, params: {}, created_at: Date.now() - 60000, started_at: 0,
    finished_at: 0, checkpoint_at: 0, wake_at: 0, waiting_for: '', attempts: 1, max_attempts: 1,
    timeout_ms: 0, idempotency_key: '', error: '', output: null, after: [], on_dependency_failure: 'fail',
    children: [], parent: 0, progress: { fraction: null, stage: '', message: '', detail: null } };
  if (id === FAKE_PARENT) {
    return Object.assign(base, { type: 'fan_out', status: 'waiting', waiting_for: 'children', parent: 0,
      after: [realJob], on_dependency_failure: 'run',
      children: Array.from({ length: FAKE_CHILDREN }, (_, i) => FAKE_PARENT + 1 + i),
      progress: { fraction: 0.4, stage: 'fan out', message: '82 of 205 children done', detail: null } });
  }
  const n = id - FAKE_PARENT;
  const statuses = ['completed', 'running', 'queued', 'failed', 'waiting', 'cancelled', 'paused'];
  const status = statuses[n % statuses.length];
  return Object.assign(base, {
    type: n === 3 ? '<img src=x onerror="window.__flowXss=1">' : (n % 2 ? 'resize_image' : 'thumbnail'),
    status, parent: FAKE_PARENT, waiting_for: status === 'waiting' ? 'children' : '',
    children: n % 4 === 1 ? Array.from({ length: n % 9 + 1 }, (_, i) => 990000 + n * 10 + i) : [],
    progress: { fraction: status === 'completed' ? 1 : status === 'queued' ? 0 : (n * 37 % 100) / 100,
      stage: '', message: '', detail: null } });
}

async function checkFlows(page) {
  // A waits for a signal; B runs after it (and is cancelled if A fails).
  const a = await submitApi({ type: 'approval', params: {} });
  const b = await submitApi({ type: 'countdown', params: { n: 3 }, after: [a], on_dependency_failure: 'cancel' });
  log(`submitted #${a} (approval) and #${b} after it`);
  const row = page.locator(`#history tr[data-job-id="${b}"]`);
  await row.waitFor();
  await row.click();
  await until(`the drawer to show #${b}`, async () => (await page.textContent('#detail-title')).includes(`#${b}`));
  const link = page.locator(`#detail-body dd.flow-after button.link[data-job-id="${a}"]`);
  await link.waitFor();
  const after = await page.textContent('#detail-body dd.flow-after');
  if (!after.includes('cancel this job')) throw new Error(`"Runs after" lacks the policy: ${after}`);
  await until('the dependency\'s type and status', async () =>
    /approval/.test(await page.textContent('#detail-body dd.flow-after')));
  if (!/waiting for dependencies/.test(await page.textContent('#detail-body'))) {
    throw new Error('the drawer does not say the job waits for its dependencies');
  }
  if (/Invalid Date/.test(await page.textContent('#detail-body'))) throw new Error('the wake time says "Invalid Date"');
  log(`the drawer of #${b} shows "Runs after #${a}" with the policy`);
  const afterShot = screenshot.replace(/\.png$/, '-after.png');
  await page.screenshot({ path: afterShot });
  log(`screenshot: ${afterShot}`);
  await link.click();
  await until(`the "Runs after" link to open #${a}`, async () =>
    (await page.textContent('#detail-title')).includes(`#${a}`));
  log(`the link opens #${a}`);

  // A parent with children, answered by the test: links, statuses, the cap, escaping.
  await page.route(/\/api\/jobs\/(9\d{5})$/, (route) => {
    const id = Number(/(\d+)$/.exec(route.request().url())[1]);
    route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(fakeJob(id, a)) });
  });
  await page.evaluate((id) => showDetail(id), FAKE_PARENT);
  const items = page.locator('#flow-children li');
  await until('200 children listed', async () => (await items.count()) === 200);
  await until('the children\'s records', async () =>
    (await page.locator('#flow-children li .badge').count()) === 200);
  const more = await page.textContent('#detail-body .flow-more');
  if (more !== `and ${FAKE_CHILDREN - 200} more`) throw new Error(`the cap says "${more}"`);
  if (!(await page.textContent('#detail-body h3:has-text("Children")')).includes(`(${FAKE_CHILDREN})`)) {
    throw new Error('the Children heading lacks the count');
  }
  const first = await items.nth(0).textContent();
  if (!first.includes(`#${FAKE_PARENT + 1}`) || !first.includes('resize_image') || !first.includes('2 children')) {
    throw new Error(`the first child lacks its id, type or child count: ${first}`);
  }
  const third = await items.nth(2).textContent();
  if (!third.includes('<img src=x') || (await page.locator('#flow-children img').count()) !== 0
      || (await page.evaluate(() => window.__flowXss)) !== undefined) {
    throw new Error(`a child's type was not shown as plain text: ${third}`);
  }
  if (!(await page.textContent('#detail-body dd.flow-after')).includes('run it anyway')) {
    throw new Error('the fake parent\'s policy is not shown');
  }
  log('the fake parent lists 200 of its 205 children, each with type, status, progress and child count');
  await page.evaluate(() => { document.querySelector('#detail').scrollTop = 0; });
  const treeShot = screenshot.replace(/\.png$/, '-children.png');
  await page.screenshot({ path: treeShot });
  log(`screenshot: ${treeShot}`);
  await items.nth(1).locator('button.link').click();
  await until('the child to open', async () => (await page.textContent('#detail-title')).includes(`#${FAKE_PARENT + 2}`));
  const parentLink = page.locator(`#detail-body dd.flow-parent button.link[data-job-id="${FAKE_PARENT}"]`);
  await parentLink.waitFor();
  if (/Invalid Date/.test(await page.textContent('#detail-body'))) throw new Error('a wake time says "Invalid Date"');
  log('a child\'s drawer links its parent');
  const childShot = screenshot.replace(/\.png$/, '-child.png');
  await page.screenshot({ path: childShot });
  await parentLink.click();
  await until('the parent to open again', async () => (await page.textContent('#detail-title')).includes(`#${FAKE_PARENT}`));
  await page.unroute(/\/api\/jobs\/(9\d{5})$/);
  await page.click('#detail-close');
}

/** GET /api/nodes as a coordinator with one worker node would answer it. */
function fakeNodes() {
  const now = Date.now();
  return { accepting: true, port: 7300, run_locally: true,
    counters: { nodes_joined: 1, nodes_lost: 0, nodes_refused: 1, runs_taken_back: 0, messages_dropped: 0,
      messages_in: 120, messages_out: 40, payload_bytes_in: 5000, payload_bytes_out: 900 },
    nodes: [{ id: 1, name: 'alpha<i>', address: '127.0.0.1:51234', slots: 4, types: { countdown: 0, approval: 2 },
      running: 1, dispatched: 7, joined_at: now - 120000, last_heartbeat: now - 3000 }] };
}

async function checkNodes(page) {
  // This server takes no worker nodes: the panel says how to accept them.
  await until('the nodes panel to say it takes none', async () =>
    /takes no worker nodes/.test(await page.textContent('#nodes-empty')));
  if (!(await page.locator('#nodes-table').isHidden())) throw new Error('an empty nodes table is shown');
  log('the Nodes panel says this server takes no worker nodes');
  await page.route(/\/api\/nodes$/, (route) => route.fulfill({ status: 200, contentType: 'application/json',
    body: JSON.stringify(Object.assign(fakeNodes(), { nodes: [] })) }));
  await until('the empty state text', async () =>
    /No worker nodes\. Start one with jobrt-worker --coordinator HOST:PORT --secret S/.test(
      await page.textContent('#nodes-empty')), 5000);
  await page.unroute(/\/api\/nodes$/);
  await page.route(/\/api\/nodes$/, (route) => route.fulfill({ status: 200, contentType: 'application/json',
    body: JSON.stringify(fakeNodes()) }));
  const row = page.locator('#nodes tr[data-node="1"]');
  await row.waitFor({ timeout: 5000 }); // read every 2 s
  const text = await row.textContent();
  for (const want of ['alpha<i>', '127.0.0.1:51234', '1/4', 'countdown', 'approval ≤2', 's ago', '7']) {
    if (!text.includes(want)) throw new Error(`the node row lacks "${want}": ${text}`);
  }
  if ((await row.locator('i').count()) !== 0) throw new Error('the node name was parsed as HTML');
  if ((await row.locator('.progress').getAttribute('aria-valuenow')) !== '1') throw new Error('the load bar is not 1/4');
  if (!/1 refused/.test(await page.textContent('#nodes-note'))) throw new Error('the note lacks the refused count');
  log('the Nodes panel lists the node: name, address, 1/4 running, types, heartbeat, dispatched');
  // A job that runs on the node says so in the dock and in the drawer.
  const id = await submitApi({ type: 'countdown', params: { n: 600, pace_ms: 100 } });
  await page.route(new RegExp(`/api/jobs/${id}$`), async (route) => {
    const res = await route.fetch();
    const rec = await res.json();
    route.fulfill({ response: res, body: JSON.stringify(Object.assign(rec, { node: 'alpha<i>' })) });
  });
  await page.evaluate((jobId) => showDetail(jobId), id);
  const mark = page.locator(`#dock [data-job-id="${id}"] .node-mark`);
  await until('the dock card to name the node', async () => (await mark.count()) > 0 && /on alpha<i>/.test(await mark.textContent()));
  await until('the drawer to name the node', async () => /Nodealpha<i>/.test(await page.textContent('#detail-body .fields')));
  log(`job #${id} shows "on alpha<i>" in the dock and Node in the drawer`);
  await page.click('#detail-close');
  await page.evaluate(() => { window.scrollTo(0, 0); });
  const shot = screenshot.replace(/\.png$/, '-nodes.png');
  await page.screenshot({ path: shot, fullPage: true });
  log(`screenshot: ${shot}`);
  await page.unroute(new RegExp(`/api/jobs/${id}$`));
  await page.unroute(/\/api\/nodes$/);
  await fetch(`${url}/api/jobs/${id}/cancel`, { method: 'POST' });
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
    await checkNodes(page);
    await checkFlows(page); // last: the made-up jobs it shows answer 404 once its routes are gone

    if (pageErrors.length) throw new Error(`errors in the page: ${pageErrors.join('; ')}`);
  } finally {
    await context.close();
  }
}

main().then(() => log('passed'), (e) => {
  console.error(`[dashboard test] FAILED: ${e.stack || e}`);
  process.exit(1);
});
