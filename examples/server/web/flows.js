// jobrt dashboard: flows in the detail drawer and the job list. Loaded before
// app.js, whose helpers (h, api, state, badge, pctText, showDetail) it uses when
// it runs. A job's record names its parent, the jobs it runs after and its
// children by id; the records of those jobs are read with GET /api/jobs/{id}
// (at most CHILDREN_SHOWN children, a few requests at a time) and the children
// tree is redrawn in place when one of them changes.
'use strict';

const CHILDREN_SHOWN = 200;
const FLOW_FETCHES_AT_ONCE = 6;

const flows = {
  records: new Map(), // id -> the record of a related job as last read
  readAt: new Map(),  // id -> when it was last read (ms)
  tree: null,         // the children list of the open drawer: {parent, ids, el}
};

/** What we know of job `id`: the record read for the drawer, with what events said since. */
function flowRecord(id) {
  const read = flows.records.get(id);
  const live = state.jobs.get(id);
  return read || live ? Object.assign({}, read, live) : null;
}

function idsOf(job, key) {
  return Array.isArray(job[key]) ? job[key] : [];
}

/** Reads the records of `ids` not read in the last `maxAgeMs`, a few at a time. */
async function readRecords(ids, maxAgeMs) {
  const todo = ids.filter((id) => Date.now() - (flows.readAt.get(id) || 0) > maxAgeMs);
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const id = todo[next++];
      flows.readAt.set(id, Date.now());
      try {
        const rec = await api('GET', `/api/jobs/${id}`);
        flows.records.set(id, rec);
        if (state.jobs.has(id)) state.jobs.set(id, Object.assign({}, state.jobs.get(id), rec));
      } catch (_) { /* deleted or not ours: shown as unknown */ }
    }
  };
  await Promise.all(Array.from({ length: Math.min(FLOW_FETCHES_AT_ONCE, todo.length) }, worker));
  return todo.length > 0;
}

/** A button that opens job `id` in the drawer. */
function jobLink(id, label = `#${id}`) {
  return h('button', { type: 'button', class: 'link', dataset: { jobId: id }, text: label,
    title: `Show job #${id}`, onclick: (ev) => { ev.stopPropagation(); showDetail(id); } });
}

/** "#12 countdown completed" for a related job, as far as we know it. */
function relatedJob(id) {
  const rec = flowRecord(id);
  return h('span', { class: 'flow-job' }, jobLink(id),
    rec ? h('span', { class: 'flow-type', text: rec.type }) : null,
    rec ? badge(rec.status) : null);
}

/**
 * Whether the job has a wake time to show: a job waiting for its dependencies
 * or its children has no timer, and its `wake_at` is the largest 64-bit
 * integer (no date; JavaScript cannot even hold it exactly).
 */
function hasWake(job) {
  return job.wake_at > 0 && job.wake_at <= 8.64e15; // the last instant a Date can hold
}

// -- the job list -------------------------------------------------------------------

function childCount(n) {
  return `${n} ${n === 1 ? 'child' : 'children'}`;
}

/** Small markers after a job's type: "child of #7", "3 children". */
function flowMarker(job) {
  const marks = [];
  if (job.parent) marks.push(h('span', { class: 'flow-mark', title: `spawned by job #${job.parent}`, text: `child of #${job.parent}` }));
  const n = idsOf(job, 'children').length;
  if (n) marks.push(h('span', { class: 'flow-mark', title: `it spawned ${childCount(n)}`, text: childCount(n) }));
  return marks;
}

/** What the markers show, for the keys of list rows and cards. */
function flowKey(job) {
  return `${job.parent || 0}/${idsOf(job, 'children').length}`;
}

// -- the detail drawer ---------------------------------------------------------------------

/** The "Parent" and "Runs after" fields of the drawer (nothing for a job outside a flow). */
function flowFields(job) {
  const out = [];
  if (job.parent) out.push(h('dt', { text: 'Parent' }), h('dd', { class: 'flow-parent' }, relatedJob(job.parent)));
  const after = idsOf(job, 'after');
  if (after.length) {
    const shown = after.slice(0, CHILDREN_SHOWN);
    out.push(h('dt', { text: 'Runs after' }), h('dd', { class: 'flow-after' },
      h('div', { class: 'flow-links' }, shown.map(relatedJob)),
      after.length > shown.length ? h('div', { class: 'muted', text: `and ${after.length - shown.length} more` }) : null,
      h('div', { class: 'flow-policy', text: `if one fails or is cancelled: ${policyText(job.on_dependency_failure)}` })));
  }
  const related = [job.parent, ...after.slice(0, CHILDREN_SHOWN)].filter(Boolean);
  if (related.length) {
    readRecords(related, 5000).then((changed) => { if (changed && state.selected === job.id) redrawFlowFields(job.id); });
  }
  return out;
}

function policyText(p) {
  if (p === 'cancel') return 'cancel this job';
  if (p === 'run') return 'run it anyway';
  return 'fail this job';
}

/** Redraws the related jobs' types and badges once their records arrived. */
function redrawFlowFields(id) {
  const job = state.jobs.get(id);
  const body = $('detail-body');
  if (!job || !body) return;
  for (const dd of body.querySelectorAll('dd.flow-parent, dd.flow-after .flow-links')) {
    const ids = dd.classList.contains('flow-parent') ? [job.parent] : idsOf(job, 'after').slice(0, CHILDREN_SHOWN);
    dd.replaceChildren(...ids.map(relatedJob));
  }
}

/** The "Children" section of the drawer: each child with type, status, progress and its own child count. */
function flowChildren(job) {
  const ids = idsOf(job, 'children');
  if (!ids.length) {
    flows.tree = null;
    return [];
  }
  const shown = ids.slice(0, CHILDREN_SHOWN);
  const el = h('ul', { class: 'flow-tree', id: 'flow-children' });
  flows.tree = { parent: job.id, ids: new Set(shown), el };
  drawChildren();
  readRecords(shown, 3000).then((changed) => { if (changed) drawChildren(); });
  return [
    h('h3', { text: `Children (${ids.length})` }),
    el,
    ids.length > shown.length ? h('p', { class: 'muted flow-more', text: `and ${ids.length - shown.length} more` }) : [],
  ];
}

function childItem(id) {
  const rec = flowRecord(id);
  if (!rec) {
    return h('li', { dataset: { jobId: id } }, jobLink(id), h('span', { class: 'muted', text: 'loading…' }));
  }
  const n = idsOf(rec, 'children').length;
  return h('li', { dataset: { jobId: id } },
    jobLink(id),
    h('span', { class: 'flow-kind' },
      h('span', { class: 'flow-type', title: rec.type, text: rec.type }),
      n ? h('span', { class: 'flow-mark', title: `it spawned ${childCount(n)}`, text: childCount(n) }) : null),
    badge(rec.status),
    h('div', { class: 'mini' }, progressBar(rec), h('span', { text: pctText(rec) })));
}

function drawChildren() {
  const t = flows.tree;
  if (!t || !t.el.isConnected) return;
  t.el.replaceChildren(...[...t.ids].map(childItem));
}

/** Called by app.js for every record or event it stores: redraws the tree if it shows that job. */
function flowJobChanged(job) {
  const t = flows.tree;
  if (t && t.ids.has(job.id) && state.selected === t.parent) drawChildren();
}

/** Called by app.js every 5 s: reads the open drawer's children again. */
function refreshFlow() {
  const t = flows.tree;
  if (!t || !t.el.isConnected || document.hidden) return;
  readRecords([...t.ids], 4000).then((changed) => { if (changed) drawChildren(); });
}
