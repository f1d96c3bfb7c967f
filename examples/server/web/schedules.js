// jobrt dashboard: the Schedules panel. Loaded before app.js, whose helpers
// (h, $, api, toast, fmtTime, fmtAgo, showDetail) it uses when it runs; app.js
// calls wireSchedules() and loadSchedules(). The list is read again every 5 s
// and after each action; times are shown in the browser's local time.
'use strict';

const schedules = {
  list: [],      // the schedules as GET /api/schedules gave them, by name
  loading: null, // the request under way, so that refreshes do not pile up
};

/** "in 42 s", "in 3 min", "in 2 h 5 min", "in 3 days" until the instant `ms`. */
function fmtIn(ms) {
  const s = Math.round((ms - Date.now()) / 1000);
  if (s <= 0) return 'due now';
  if (s < 60) return `in ${s} s`;
  if (s < 3600) return `in ${Math.floor(s / 60)} min`;
  if (s < 86400) {
    const hours = Math.floor(s / 3600);
    const mins = Math.floor((s % 3600) / 60);
    return mins ? `in ${hours} h ${mins} min` : `in ${hours} h`;
  }
  const days = Math.floor(s / 86400);
  return `in ${days} day${days === 1 ? '' : 's'}`;
}

function scheduleButtons(s) {
  const button = (action, label, cls = '') => h('button', {
    type: 'button', class: `small ${cls}`, dataset: { action }, text: label,
    onclick: (ev) => steerSchedule(s.name, action, ev.currentTarget),
  });
  return [
    s.paused ? button('resume', 'Resume') : button('pause', 'Pause'),
    button('delete', 'Delete', 'danger'),
  ];
}

function scheduleRow(s) {
  const next = s.paused || !s.next_tick
    ? h('td', { class: 'muted', text: s.paused ? 'paused' : 'never' })
    : h('td', {},
      h('div', { class: 'when', text: fmtTime(s.next_tick) }),
      h('div', { class: 'rel', text: fmtIn(s.next_tick) }));
  const last = s.last_job
    ? h('td', {},
      h('button', { type: 'button', class: 'link', dataset: { jobId: s.last_job }, text: `#${s.last_job}`,
        title: 'Show this job', onclick: () => showDetail(s.last_job) }),
      h('span', { class: 'rel', title: fmtTime(s.last_fired_at), text: ` ${fmtAgo(s.last_fired_at)}` }))
    : h('td', { class: 'muted', text: 'not yet' });
  return h('tr', { dataset: { schedule: s.name } },
    h('td', {},
      h('div', { class: 'schedule-name', text: s.name }),
      s.owner ? h('div', { class: 'rel', text: s.owner }) : null),
    h('td', {},
      h('code', { class: 'spec', text: s.spec }),
      h('div', { class: 'rel', text: s.time_zone || 'UTC' })),
    h('td', { text: s.type }),
    next,
    last,
    h('td', { class: 'num', text: String(s.fired) }),
    h('td', {}, h('span', { class: `badge ${s.paused ? 'paused' : 'active'}`, text: s.paused ? 'paused' : 'active' })),
    h('td', {}, h('div', { class: 'job-actions' }, scheduleButtons(s))));
}

/** What a row shows; a row whose key is unchanged is kept (buttons under the mouse survive). */
function scheduleKey(s) {
  return [s.spec, s.time_zone, s.type, s.owner, s.paused, s.next_tick, s.last_job, s.last_fired_at, s.fired,
    s.next_tick ? fmtIn(s.next_tick) : '', fmtAgo(s.last_fired_at)].join('|');
}

function renderSchedules() {
  const body = $('schedules');
  const existing = new Map([...body.children].map((el) => [el.dataset.schedule, el]));
  const rows = schedules.list.map((s) => {
    const el = existing.get(s.name);
    if (el && el.dataset.key === scheduleKey(s)) return el;
    const fresh = scheduleRow(s);
    fresh.dataset.key = scheduleKey(s);
    return fresh;
  });
  rows.forEach((el, i) => {
    if (body.children[i] !== el) body.insertBefore(el, body.children[i] || null);
  });
  while (body.children.length > rows.length) body.lastChild.remove();
  $('schedules-count').textContent = String(schedules.list.length);
  $('schedules-empty').hidden = schedules.list.length > 0;
}

function showScheduleError(text) {
  $('schedules-error').textContent = text;
  $('schedules-error').hidden = !text;
}

async function loadSchedules() {
  if (schedules.loading) return schedules.loading;
  schedules.loading = (async () => {
    try {
      const doc = await api('GET', '/api/schedules');
      schedules.list = doc.schedules;
      showScheduleError('');
      renderSchedules();
    } catch (e) {
      if (e.status !== 401) showScheduleError(`Cannot load the schedules: ${e.message}`);
    } finally {
      schedules.loading = null;
    }
  })();
  return schedules.loading;
}

async function steerSchedule(name, action, button) {
  if (action === 'delete' && !window.confirm(`Delete the schedule "${name}"? The jobs it submitted stay.`)) return;
  if (button) button.disabled = true;
  const path = `/api/schedules/${encodeURIComponent(name)}`;
  try {
    if (action === 'delete') await api('DELETE', path);
    else await api('POST', `${path}/${action}`);
    toast(`Schedule "${name}" ${action === 'delete' ? 'deleted' : action === 'pause' ? 'paused' : 'resumed'}.`);
  } catch (e) {
    if (e.status !== 401) toast(`${name}: ${e.message}`, 'error');
    if (button) button.disabled = false;
  }
  await loadSchedules();
}

function wireSchedules() {
  // New ticks, new last jobs and the "in 3 min" texts: read again every 5 s.
  setInterval(() => { if (!document.hidden) loadSchedules(); }, 5000);
}
