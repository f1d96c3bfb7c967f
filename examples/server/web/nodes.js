// jobrt dashboard: the Nodes panel. Loaded before app.js, whose helpers
// (h, $, api) it uses when it runs; app.js calls wireNodes() and loadNodes().
// GET /api/nodes is read every 2 s: each worker node with its running/slots,
// the types it runs, when it was last heard from, and the runs sent to it.
'use strict';

const nodes = {
  doc: null,     // the last answer of GET /api/nodes
  loading: null, // the request under way, so that refreshes do not pile up
};

/** "3s ago" for the last heartbeat: a node is heard from every half second. */
function fmtSecondsAgo(ms) {
  if (!ms) return '–';
  return `${Math.max(0, Math.round((Date.now() - ms) / 1000))}s ago`;
}

/** "countdown, approval ≤2": the types a node runs, with a cap where it has one. */
function nodeTypes(n) {
  const types = Object.entries(n.types || {});
  if (types.length === 0) return h('span', { class: 'muted', text: '–' });
  return h('div', { class: 'node-types' }, types.map(([t, cap]) =>
    h('span', { class: 'node-type', title: cap ? `at most ${cap} at once` : null, text: cap ? `${t} ≤${cap}` : t })));
}

function nodeLoad(n) {
  const slots = Math.max(0, n.slots || 0);
  const running = Math.max(0, n.running || 0);
  const fill = h('div', { class: 'progress-fill' });
  fill.style.width = `${slots ? Math.min(100, Math.round((running / slots) * 100)) : 0}%`;
  return h('div', { class: 'mini node-load' },
    h('div', { class: `progress ${running >= slots && slots ? 'full' : 'running'}`, role: 'progressbar',
      'aria-valuemin': '0', 'aria-valuemax': String(slots), 'aria-valuenow': String(running) }, fill),
    h('span', { class: 'node-count', text: `${running}/${slots}` }));
}

function nodeRow(n) {
  return h('tr', { dataset: { node: String(n.id) } },
    h('td', {},
      h('div', { class: 'node-name', text: n.name }),
      h('div', { class: 'rel', text: `node ${n.id} · joined ${fmtTime(n.joined_at)}` })),
    h('td', {}, h('code', { class: 'spec', text: n.address })),
    h('td', {}, nodeLoad(n)),
    h('td', {}, nodeTypes(n)),
    h('td', { class: 'heartbeat', title: fmtTime(n.last_heartbeat), text: fmtSecondsAgo(n.last_heartbeat) }),
    h('td', { class: 'num', text: String(n.dispatched) }));
}

/** What a row shows; a row whose key is unchanged is kept. */
function nodeKey(n) {
  return [n.name, n.address, n.slots, n.running, n.dispatched, n.joined_at, JSON.stringify(n.types),
    fmtSecondsAgo(n.last_heartbeat)].join('|');
}

function nodesNote(doc) {
  if (!doc.accepting) return 'this server takes no worker nodes (--workers-port)';
  const c = doc.counters || {};
  const parts = [`workers port ${doc.port}`, `${c.nodes_joined || 0} joined`, `${c.nodes_lost || 0} lost`];
  if (c.nodes_refused) parts.push(`${c.nodes_refused} refused`);
  if (c.runs_taken_back) parts.push(`${c.runs_taken_back} runs taken back`);
  if (doc.run_locally === false) parts.push('no local jobs');
  return parts.join(' · ');
}

function renderNodes() {
  const doc = nodes.doc;
  if (!doc) return;
  const list = doc.nodes || [];
  const body = $('nodes');
  const existing = new Map([...body.children].map((el) => [el.dataset.node, el]));
  const rows = list.map((n) => {
    const el = existing.get(String(n.id));
    if (el && el.dataset.key === nodeKey(n)) return el;
    const fresh = nodeRow(n);
    fresh.dataset.key = nodeKey(n);
    return fresh;
  });
  rows.forEach((el, i) => {
    if (body.children[i] !== el) body.insertBefore(el, body.children[i] || null);
  });
  while (body.children.length > rows.length) body.lastChild.remove();
  $('nodes-count').textContent = String(list.length);
  $('nodes-note').textContent = nodesNote(doc);
  $('nodes-table').hidden = list.length === 0;
  $('nodes-empty').hidden = list.length > 0;
  $('nodes-empty').replaceChildren(...(doc.accepting
    ? ['No worker nodes. Start one with ', h('code', { text: 'jobrt-worker --coordinator HOST:PORT --secret S' })]
    : ['This server takes no worker nodes. Start it with ', h('code', { text: '--workers-port N --workers-secret S' }),
      ' to accept them.']));
}

function showNodesError(text) {
  $('nodes-error').textContent = text;
  $('nodes-error').hidden = !text;
}

async function loadNodes() {
  if (nodes.loading) return nodes.loading;
  nodes.loading = (async () => {
    try {
      nodes.doc = await api('GET', '/api/nodes');
      showNodesError('');
      renderNodes();
    } catch (e) {
      if (e.status === 403) showNodesError('Worker nodes are shown with the server token only.');
      else if (e.status !== 401) showNodesError(`Cannot load the worker nodes: ${e.message}`);
    } finally {
      nodes.loading = null;
    }
  })();
  return nodes.loading;
}

/** "on alpha" next to a job that runs on a worker node (record field "node"). */
function nodeMarker(job) {
  return job.node ? h('span', { class: 'node-mark', title: `runs on worker node ${job.node}`, text: `on ${job.node}` }) : null;
}

function wireNodes() {
  setInterval(() => { if (!document.hidden) loadNodes(); }, 2000);
}
