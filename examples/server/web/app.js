// jobrt dashboard: plain JavaScript, no build step. Talks to the JSON API of
// the server that serves it, and follows /api/events for live updates.
'use strict';

const ACTIVE = ['queued', 'running', 'paused', 'waiting'];
const FINISHED = ['completed', 'failed', 'cancelled'];
const EXAMPLES = {
  countdown: { n: 50, pace_ms: 200 },
  bank_categorize: { csv_path: '/path/to/transactions.csv', batch_size: 100, pace_ms: 100 },
  file_copy: { from_dir: '/tmp/jobrt-in', to_dir: '/tmp/jobrt-out', pace_ms: 100 },
  approval: { timeout_s: 3600 },
  bank_statement: { month: '2024-03', sample_accounts: 3, pace_ms: 100 },
};
const PLACEHOLDER = { string: '', integer: 0, number: 0, boolean: false };

const state = {
  token: localStorage.getItem('jobrt.token') || '',
  types: [],
  jobs: new Map(),     // id -> the latest record we know
  history: [],         // ids shown in the history table, newest first
  nextCursor: null,
  selected: null,      // id shown in the detail drawer
  events: null,        // the EventSource
};

// -- small helpers --------------------------------------------------------------

const $ = (id) => document.getElementById(id);

/** Creates an element; text is always set as text, never parsed as HTML. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c);
  return el;
}

function fmtTime(ms) {
  if (!ms) return '–';
  return new Date(ms).toLocaleString();
}

function fmtAgo(ms) {
  if (!ms) return '–';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return new Date(ms).toLocaleDateString();
}

function fmtDuration(job) {
  if (!job.started_at) return '–';
  const end = job.finished_at || (job.status === 'running' ? Date.now() : 0);
  if (!end) return '–';
  const s = (end - job.started_at) / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${Math.round(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${Math.round((s % 3600) / 60)}m`;
}

function fraction(job) {
  const f = job.progress && job.progress.fraction;
  return typeof f === 'number' && isFinite(f) ? Math.min(1, Math.max(0, f)) : null;
}

function toast(text, kind = '') {
  const t = h('div', { class: `toast ${kind}`, text });
  $('toasts').append(t);
  setTimeout(() => t.remove(), 3500);
}

// -- the API ----------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(method, path, body) {
  const headers = {};
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let doc = null;
  try { doc = await res.json(); } catch (_) { /* not JSON */ }
  if (res.status === 401) {
    askToken(state.token ? 'The token was not accepted.' : 'This server requires a bearer token.');
    throw new ApiError(401, 'unauthorized', (doc && doc.message) || 'unauthorized');
  }
  if (!res.ok) throw new ApiError(res.status, doc && doc.error, (doc && doc.message) || res.statusText);
  return doc;
}

// -- token ---------------------------------------------------------------------------

function askToken(reason) {
  const d = $('token-dialog');
  $('token-reason').textContent = reason;
  $('token-input').value = state.token;
  if (!d.open) d.showModal();
}

function setToken(token) {
  state.token = token;
  if (token) localStorage.setItem('jobrt.token', token);
  else localStorage.removeItem('jobrt.token');
  start();
}

// -- rendering pieces -------------------------------------------------------------------

function badge(status) {
  return h('span', { class: `badge ${status}`, text: status });
}

function progressBar(job) {
  const f = fraction(job);
  const indeterminate = f === null && job.status === 'running';
  const fill = h('div', { class: 'progress-fill' });
  fill.style.width = `${Math.round((f || 0) * 100)}%`;
  return h('div', {
    class: `progress ${job.status}${indeterminate ? ' indeterminate' : ''}`,
    role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100',
    'aria-valuenow': f === null ? null : String(Math.round(f * 100)),
  }, fill);
}

/** "waiting for signal" and the like, for a waiting job that says what it waits for. */
function waitingText(job) {
  return job.status === 'waiting' && job.waiting_for ? `waiting for ${job.waiting_for.replace(/_/g, ' ')}` : '';
}

function pctText(job) {
  const f = fraction(job);
  return f === null ? '' : `${Math.round(f * 100)}%`;
}

function actionButtons(job, withDetails) {
  const buttons = [];
  const add = (action, label, cls = '') =>
    buttons.push(h('button', { type: 'button', class: `small ${cls}`, dataset: { action }, text: label,
      onclick: (ev) => { ev.stopPropagation(); steer(job.id, action, ev.currentTarget); } }));
  if (['queued', 'running', 'waiting'].includes(job.status)) add('pause', 'Pause');
  if (job.status === 'paused') add('resume', 'Resume');
  if (job.status === 'failed') add('retry', 'Retry');
  if (ACTIVE.includes(job.status)) add('cancel', 'Cancel', 'danger');
  if (withDetails) buttons.push(h('button', { type: 'button', class: 'small ghost', text: 'Details',
    onclick: () => showDetail(job.id) }));
  return buttons;
}

// -- the processing dock -------------------------------------------------------------------

const leaving = new Map(); // id -> timer of a finished job about to leave the dock

function dockCard(job) {
  const p = job.progress || {};
  return h('article', { class: `job-card ${job.status}${leaving.has(job.id) ? ' leaving' : ''}`, dataset: { jobId: job.id } },
    h('div', { class: 'job-head' },
      h('span', { class: 'job-id', text: `#${job.id}` }),
      h('span', { class: 'job-type', text: job.type }), flowMarker(job),
      job.owner ? h('span', { class: 'job-owner', text: `· ${job.owner}` }) : null,
      nodeMarker(job), // nodes.js
      h('span', { class: 'spacer' }),
      h('span', { class: 'job-pct', text: pctText(job) }),
      badge(job.status)),
    progressBar(job),
    h('div', { class: 'job-meta' },
      p.stage ? h('span', { class: 'stage', text: p.stage }) : null,
      p.message ? h('span', { class: 'message', text: p.message }) : null,
      waitingText(job) ? h('span', { class: 'waiting-for', text: waitingText(job) }) : null,
      job.status === 'waiting' && hasWake(job) ? h('span', { text: `wakes ${fmtTime(job.wake_at)}` }) : null,
      job.error ? h('span', { class: 'message', text: job.error }) : null),
    h('div', { class: 'job-actions' }, actionButtons(job, true)));
}

/**
 * Updates a rendered card or row in place when only progress changed, so that
 * buttons under the mouse survive a stream of progress events; rebuilds it
 * when the status (and so the set of buttons) changed.
 */
function patchProgress(el, job) {
  const bar = el.querySelector('.progress');
  const fresh = progressBar(job);
  bar.className = fresh.className;
  const now = fresh.getAttribute('aria-valuenow');
  if (now === null) bar.removeAttribute('aria-valuenow'); else bar.setAttribute('aria-valuenow', now);
  bar.firstChild.style.width = fresh.firstChild.style.width;
  const pct = el.querySelector('.job-pct, .mini span');
  if (pct) pct.textContent = pctText(job);
}

function keyed(container, items, key, build, patch) {
  const existing = new Map([...container.children].map((el) => [el.dataset.jobId, el]));
  const wanted = items.map((item) => {
    const el = existing.get(String(item.id));
    if (el && el.dataset.key === key(item)) {
      patch(el, item);
      return el;
    }
    const fresh = build(item);
    fresh.dataset.key = key(item);
    return fresh;
  });
  // Reorder and replace only where needed; untouched nodes stay the same objects.
  wanted.forEach((el, i) => {
    if (container.children[i] !== el) container.insertBefore(el, container.children[i] || null);
  });
  while (container.children.length > wanted.length) container.lastChild.remove();
}

function dockKey(job) {
  const p = job.progress || {};
  return [job.status, leaving.has(job.id), p.stage, p.message, job.error, job.owner, job.waiting_for, job.node, flowKey(job)].join('|');
}

function renderDock() {
  const jobs = [...state.jobs.values()]
    .filter((j) => ACTIVE.includes(j.status) || leaving.has(j.id))
    .sort((a, b) => ACTIVE.indexOf(a.status) - ACTIVE.indexOf(b.status) || b.id - a.id);
  keyed($('dock'), jobs, dockKey, dockCard, patchProgress);
  $('dock-count').textContent = String(jobs.filter((j) => ACTIVE.includes(j.status)).length);
  $('dock-empty').hidden = jobs.length > 0;
  renderSummary();
}

function renderSummary() {
  const counts = {};
  for (const j of state.jobs.values()) if (ACTIVE.includes(j.status)) counts[j.status] = (counts[j.status] || 0) + 1;
  $('summary').replaceChildren(...ACTIVE.filter((s) => counts[s])
    .map((s) => h('span', { class: 'pill' }, h('b', { text: String(counts[s]) }), s)));
}

/** A job that just finished stays in the dock for a moment, so the change is seen. */
function scheduleLeave(id) {
  if (leaving.has(id)) return;
  leaving.set(id, setTimeout(() => { leaving.delete(id); renderDock(); }, 6000));
}

// -- the history table ---------------------------------------------------------------------------

function filters() {
  return { status: $('filter-status').value, type: $('filter-type').value, owner: $('filter-owner').value.trim() };
}

function matchesFilters(job) {
  const f = filters();
  return (!f.status || job.status === f.status) && (!f.type || job.type === f.type) && (!f.owner || job.owner === f.owner);
}

function historyRow(job) {
  return h('tr', { dataset: { jobId: job.id }, class: state.selected === job.id ? 'selected' : null, onclick: () => showDetail(job.id) },
    h('td', { text: `#${job.id}` }),
    h('td', {}, job.type, flowMarker(job)),
    h('td', { class: job.owner ? null : 'muted', text: job.owner || '–' }),
    h('td', {}, badge(job.status)),
    h('td', {}, h('div', { class: 'mini' }, progressBar(job), h('span', { text: pctText(job) }))),
    h('td', { title: fmtTime(job.created_at), text: fmtAgo(job.created_at) }),
    h('td', { text: fmtDuration(job) }));
}

function historyKey(job) {
  return [job.status, state.selected === job.id, fmtAgo(job.created_at), fmtDuration(job), job.owner, flowKey(job)].join('|');
}

function renderHistory() {
  const jobs = state.history.map((id) => state.jobs.get(id)).filter(Boolean);
  keyed($('history'), jobs, historyKey, historyRow, patchProgress);
  $('history-empty').hidden = jobs.length > 0;
  $('history-more').hidden = !state.nextCursor;
}

async function loadHistory(more = false) {
  const f = filters();
  const q = new URLSearchParams({ limit: '25' });
  if (f.status) q.set('status', f.status);
  if (f.type) q.set('type', f.type);
  if (f.owner) q.set('owner', f.owner);
  if (more && state.nextCursor) q.set('cursor', String(state.nextCursor));
  const page = await api('GET', `/api/jobs?${q}`);
  for (const j of page.jobs) state.jobs.set(j.id, j);
  const ids = page.jobs.map((j) => j.id);
  state.history = more ? state.history.concat(ids) : ids;
  state.nextCursor = page.next_cursor;
  renderHistory();
}

/** Keeps the history in step with a job that changed. */
function placeInHistory(job) {
  const shown = state.history.includes(job.id);
  if (!shown && matchesFilters(job) && (state.history.length === 0 || job.id > state.history[0])) {
    state.history.unshift(job.id);
  }
}

// -- the detail drawer ------------------------------------------------------------------------------

function json(v) {
  return h('pre', { class: 'json', text: JSON.stringify(v, null, 2) });
}

let detailKey = '';

function renderDetail() {
  const job = state.jobs.get(state.selected);
  if (!job) return;
  const p0 = job.progress || {};
  // The signal form lives outside the redrawn part, so that what is typed survives.
  $('signal-form').hidden = FINISHED.includes(job.status);
  const key = [job.id, job.status, job.attempts, job.checkpoint_at, job.finished_at, p0.stage, p0.message,
    fmtDuration(job), JSON.stringify(p0.detail), job.waiting_for, job.node, JSON.stringify([job.parent, job.after, job.children])].join('|');
  if (key === detailKey) {
    patchProgress($('detail-body'), job);
    return;
  }
  detailKey = key;
  const p = job.progress || {};
  const field = (name, value) => [h('dt', { text: name }), h('dd', { text: value })];
  $('detail-title').textContent = `Job #${job.id} · ${job.type}`;
  $('detail-body').replaceChildren(...[
    h('div', { class: 'detail-status' }, badge(job.status),
      waitingText(job) ? h('span', { class: 'waiting-for', text: waitingText(job) }) : null,
      h('span', { class: 'job-pct', text: pctText(job) })),
    progressBar(job),
    h('div', { class: 'job-meta' },
      p.stage ? h('span', { class: 'stage', text: p.stage }) : null,
      p.message ? h('span', { text: p.message }) : null),
    h('div', { class: 'job-actions' }, actionButtons(job, false)),
    h('dl', { class: 'fields' },
      field('Owner', job.owner || '–'),
      job.node ? field('Node', job.node) : [],
      field('Priority', String(job.priority)),
      field('Attempts', String(job.attempts)),
      field('Created', fmtTime(job.created_at)),
      field('Started', fmtTime(job.started_at)),
      field('Finished', fmtTime(job.finished_at)),
      field('Duration', fmtDuration(job)),
      field('Last checkpoint', fmtTime(job.checkpoint_at)),
      job.status === 'waiting' && job.waiting_for ? field('Waiting for', job.waiting_for) : [],
      hasWake(job) ? field('Wakes at', fmtTime(job.wake_at)) : [], flowFields(job)), // flows.js
    flowChildren(job),
    job.error ? [h('h3', { text: 'Error' }), h('div', { class: 'error-box', text: job.error })] : [],
    h('h3', { text: 'Parameters' }), json(job.params),
    job.output !== null && job.output !== undefined ? [h('h3', { text: 'Output' }), json(job.output)] : [],
    p.detail !== null && p.detail !== undefined ? [h('h3', { text: 'Progress detail' }), json(p.detail)] : [],
  ].flat());
}

async function showDetail(id) {
  if (state.selected !== id) {
    $('signal-result').textContent = '';
    $('signal-result').className = 'form-result';
  }
  state.selected = id;
  detailKey = '';
  $('detail').hidden = false;
  renderDetail();
  renderHistory();
  try {
    state.jobs.set(id, await api('GET', `/api/jobs/${id}`));
    renderDetail();
  } catch (e) {
    toast(e.message, 'error');
  }
}

function closeDetail() {
  state.selected = null;
  $('detail').hidden = true;
  renderHistory();
}

// -- actions --------------------------------------------------------------------------------------------

async function steer(id, action, button) {
  if (button) button.disabled = true;
  try {
    const job = await api('POST', `/api/jobs/${id}/${action}`);
    upsert(job);
  } catch (e) {
    if (e.status !== 401) toast(`#${id}: ${e.message}`, 'error');
    if (button) button.disabled = false;
  }
}

/** Sends the signal of the detail drawer's form to the job shown there. */
async function sendSignal(ev) {
  ev.preventDefault();
  const id = state.selected;
  const out = $('signal-result');
  out.className = 'form-result';
  out.textContent = '';
  const name = $('signal-name').value.trim();
  const text = $('signal-payload').value.trim();
  let payload;
  if (text) {
    try {
      payload = JSON.parse(text);
    } catch (e) {
      out.className = 'form-result error';
      out.textContent = `The payload is not valid JSON: ${e.message}`;
      return;
    }
  }
  $('signal-send').disabled = true;
  try {
    await api('POST', `/api/jobs/${id}/signals/${encodeURIComponent(name)}`, payload);
    out.className = 'form-result ok';
    out.textContent = `Signal "${name}" sent to job #${id}.`;
    await refreshJob(id);
  } catch (e) {
    out.className = 'form-result error';
    out.textContent = e.message;
  } finally {
    $('signal-send').disabled = false;
  }
}

function fillParams() {
  const t = state.types.find((x) => x.name === $('submit-type').value);
  if (!t) return;
  $('type-description').textContent = t.description;
  $('param-list').replaceChildren(...t.params.map((p) =>
    h('li', { class: p.required ? null : 'optional', title: p.required ? 'required' : 'optional' },
      h('code', { text: p.name }), `: ${p.type}${p.required ? '' : '?'}`)));
  let example = EXAMPLES[t.name];
  if (!example) {
    example = {};
    for (const p of t.params) if (p.required) example[p.name] = PLACEHOLDER[p.type] ?? null;
  }
  $('submit-params').value = JSON.stringify(example, null, 2);
}

async function submitJob(ev) {
  ev.preventDefault();
  const out = $('submit-result');
  out.className = 'form-result';
  let params;
  try {
    params = JSON.parse($('submit-params').value || '{}');
  } catch (e) {
    out.className = 'form-result error';
    out.textContent = `Parameters are not valid JSON: ${e.message}`;
    return;
  }
  const body = { type: $('submit-type').value, params, priority: Number($('submit-priority').value || 0) };
  const owner = $('submit-owner').value.trim();
  if (owner) body.owner = owner;
  $('submit-button').disabled = true;
  try {
    const r = await api('POST', '/api/jobs', body);
    out.className = 'form-result ok';
    out.textContent = `Job #${r.id} submitted.`;
    await refreshJob(r.id);
  } catch (e) {
    out.className = 'form-result error';
    out.textContent = e.message;
  } finally {
    $('submit-button').disabled = false;
  }
}

// -- live state --------------------------------------------------------------------------------------------

/** Stores a record (or the fields an event carries) and redraws what shows it. */
function upsert(job) {
  const old = state.jobs.get(job.id) || {};
  const merged = Object.assign({}, old, job);
  // A whole record (it has params) names the node only while the job runs on one.
  if ('params' in job && !('node' in job)) delete merged.node;
  state.jobs.set(job.id, merged);
  if (FINISHED.includes(merged.status) && ACTIVE.includes(old.status)) scheduleLeave(job.id);
  placeInHistory(merged);
  renderDock();
  renderHistory();
  if (state.selected === job.id) renderDetail();
  flowJobChanged(merged); // flows.js
}

async function refreshJob(id) {
  try {
    upsert(await api('GET', `/api/jobs/${id}`));
  } catch (_) { /* shown elsewhere */ }
}

function onEvent(kind, ev) {
  let e;
  try { e = JSON.parse(ev.data); } catch (_) { return; }
  const known = state.jobs.get(e.id);
  const patch = { id: e.id, type: e.type, owner: e.owner, status: e.status, progress: e.progress };
  if (e.error) patch.error = e.error;
  // Progress of a job we stopped following (it finished) must not revive it.
  if (kind === 'progress' && known && FINISHED.includes(known.status)) return;
  upsert(patch);
  // A status change moves timestamps, attempts and output: fetch the whole record.
  if (kind === 'status') refreshJob(e.id);
}

function setConn(stateName, text) {
  $('conn').dataset.state = stateName;
  $('conn-text').textContent = text;
}

function connectEvents() {
  if (state.events) state.events.close();
  const url = state.token ? `/api/events?access_token=${encodeURIComponent(state.token)}` : '/api/events';
  const es = new EventSource(url);
  let wasDown = false;
  es.addEventListener('open', () => {
    setConn('live', 'live');
    if (wasDown) resync();
    wasDown = false;
  });
  es.addEventListener('error', () => { wasDown = true; setConn('error', 'reconnecting'); });
  es.addEventListener('status', (ev) => onEvent('status', ev));
  es.addEventListener('progress', (ev) => onEvent('progress', ev));
  state.events = es;
}

async function loadActive() {
  const page = await api('GET', `/api/jobs?status=${ACTIVE.join(',')}&limit=200`);
  for (const j of page.jobs) state.jobs.set(j.id, j);
  renderDock();
}

/** After a reconnect events may have been missed: reload what is shown. */
async function resync() {
  try {
    await Promise.all([loadActive(), loadHistory(), loadSchedules(), loadNodes()]);
  } catch (_) { /* the connection indicator says enough */ }
}

async function loadTypes() {
  const doc = await api('GET', '/api/job-types');
  state.types = doc.types;
  const sel = $('submit-type');
  const current = sel.value;
  sel.replaceChildren(...state.types.map((t) => h('option', { value: t.name, text: t.name })));
  if (state.types.some((t) => t.name === current)) sel.value = current;
  const ft = $('filter-type');
  const fcur = ft.value;
  ft.replaceChildren(h('option', { value: '', text: 'All types' }),
    ...state.types.map((t) => h('option', { value: t.name, text: t.name })));
  ft.value = fcur;
  fillParams();
}

async function start() {
  try {
    await loadTypes();
    await Promise.all([loadActive(), loadHistory(), loadSchedules(), loadNodes()]);
    connectEvents();
  } catch (e) {
    if (e.status === 401) setConn('error', 'token needed');
    else setConn('error', e.message);
  }
}

// -- wiring -----------------------------------------------------------------------------------------------

function wire() {
  $('submit-form').addEventListener('submit', submitJob);
  $('submit-type').addEventListener('change', fillParams);
  $('filter-status').addEventListener('change', () => loadHistory());
  $('filter-type').addEventListener('change', () => loadHistory());
  let ownerTimer = null;
  $('filter-owner').addEventListener('input', () => {
    clearTimeout(ownerTimer);
    ownerTimer = setTimeout(() => loadHistory(), 300);
  });
  $('history-more').addEventListener('click', () => loadHistory(true));
  $('detail-close').addEventListener('click', closeDetail);
  $('signal-form').addEventListener('submit', sendSignal);
  document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape' && state.selected !== null) closeDetail(); });
  $('token-button').addEventListener('click', () => askToken('Set the bearer token for this server.'));
  $('token-form').addEventListener('submit', () => setToken($('token-input').value.trim()));
  $('token-clear').addEventListener('click', () => { $('token-dialog').close(); setToken(''); });
  // Relative times and running durations age even without events.
  setInterval(() => { renderHistory(); if (state.selected !== null) { renderDetail(); refreshFlow(); } }, 5000);
  wireSchedules(); // schedules.js
  wireNodes(); // nodes.js
}

wire();
start();
