// facegate officer console: the referral queue (officer), kept fresh by polling the unaudited summary.

import { $, DASH, POLL_MS, REASONS, api, badge, fmtAge, fmtNow, fmtNum, go, h, heading, matchedCandidate, put, say, state, toDate } from './core.js';

// ---- referral queue ------------------------------------------------------------------

// The queue is kept fresh without auditing a read of personal data every 2 s:
// the poll asks for the summary (counts, the newest referral id; no personal
// data, not audited) and fetches the list (audited: referral.list) only when
// the newest id or the open count changed, when forced (entering the queue
// screen), or when the last list fetch failed.
export async function pollQueue(force = false) {
  if (force) state.queueForce = true;
  if (state.queuePolling) return; // the poll under way sees queueForce, or runs again for it
  if (!state.me || state.me.role !== 'officer') return;
  clearTimeout(state.queueTimer);
  const me = state.me;
  state.queuePolling = true;
  try {
    const sum = await api('/v1/referrals/summary');
    if (state.me !== me) return;
    const open = sum.open;
    const key = JSON.stringify([sum.newest_id, open]);
    if (state.queueForce || key !== state.queueKey) {
      state.queueForce = false;
      const data = await api('/v1/referrals?status=open');
      if (state.me !== me) return;
      const list = data.slice();
      list.sort((a, b) => toDate(a.created_at).getTime() - toDate(b.created_at).getTime() || (a.id - b.id));
      state.queue = list;
      state.queueKey = key;
    }
    state.queueError = null;
    const count = $('#queue-count');
    if (count) count.textContent = String(open);
    if (state.screen === 'queue') renderQueueRows();
  } catch (e) {
    if (state.me !== me) return;
    state.queueError = e;
    if (state.screen === 'queue') renderQueueRows();
  } finally {
    if (state.me === me) state.queuePolling = false;
  }
  if (state.me === me) state.queueTimer = setTimeout(() => pollQueue(), state.queueForce ? 0 : POLL_MS);
}

// Only a passenger the gate matched is shown as the candidate (never the
// nearest passenger after a no-match: see matchedCandidate).
const refCandidate = (r) => matchedCandidate(r)?.name;

export function viewQueue(view) {
  view.append(
    heading('Referral queue', h('span.muted', { id: 'queue-updated' })),
    h('p.muted', null, 'Updates every 2 seconds. ', h('kbd', { text: 'j' }), ' / ', h('kbd', { text: 'k' }),
      ' to move, ', h('kbd', { text: 'Enter' }), ' to open, ', h('kbd', { text: '?' }), ' for all keys.'),
    h('div', { id: 'queue-body' }));
  renderQueueRows();
  pollQueue(true);
  const tick = setInterval(() => {
    for (const td of view.querySelectorAll('td[data-age]')) td.textContent = fmtAge(td.dataset.age);
  }, 1000);
  return () => clearInterval(tick);
}

function renderQueueRows() {
  const body = $('#queue-body');
  if (!body) return;
  const q = state.queue;
  if (state.queueError) say(`Queue not updated: ${state.queueError.message}`, true, 0);
  else if ($('#status').classList.contains('error') && $('#status').textContent.startsWith('Queue not updated')) say('');
  const upd = $('#queue-updated');
  if (upd) upd.textContent = state.queueSeen ? `${q.length} open · updated ${fmtNow()}` : 'loading…';
  if (!state.queueSeen && !q.length && !state.queueError) return; // first poll still on its way
  const firstLoad = !state.queueSeen;
  const seen = state.queueSeen || new Set();
  if (!q.length) {
    put(body, h('div.empty', { text: 'No open referrals. New ones appear here by themselves.' }));
    state.queueSeen = seen;
    return;
  }
  let table = $('table', body);
  if (!table) {
    table = h('table.grid', { id: 'queue-table', 'aria-label': 'Open referrals' },
      h('thead', null, h('tr', null,
        h('th', { text: '#' }), h('th', { text: 'Reason' }), h('th', { text: 'Gate' }),
        h('th', { text: 'Waiting' }), h('th.num', { text: 'Score / threshold' }), h('th', { text: 'Passenger' }))),
      h('tbody'));
    put(body, table);
  }
  const tbody = $('tbody', table);
  // A refresh must never take the keyboard focus away from the officer.
  const active = document.activeElement;
  const focusedId = active && active.closest && active.closest('#queue-table') ? active.dataset.id : null;
  const rows = new Map([...tbody.rows].map((tr) => [tr.dataset.id, tr]));
  const ids = q.map((r) => String(r.id));
  if (!ids.includes(String(state.queueSel))) {
    // keep the selection near where it was
    const old = [...tbody.rows].map((tr) => tr.dataset.id);
    const at = old.indexOf(String(state.queueSel));
    state.queueSel = ids.length ? ids[Math.min(Math.max(at, 0), ids.length - 1)] : null;
  }
  for (const r of q) {
    const id = String(r.id);
    let tr = rows.get(id);
    if (!tr) {
      tr = h('tr', { dataset: { id }, tabindex: '-1', onclick: () => go('referral', id) });
      if (!firstLoad && !seen.has(id)) tr.classList.add('fresh');
    }
    rows.delete(id);
    seen.add(id);
    const score = r.score;
    const thr = r.threshold;
    put(tr, 
      h('td.mono', { text: id }),
      h('td', null, badge(REASONS, r.reason)),
      h('td', { text: r.gate ?? DASH }),
      h('td', { dataset: { age: r.created_at }, text: fmtAge(r.created_at) }),
      h('td.num', { text: `${fmtNum(score)} / ${fmtNum(thr)}` }),
      h('td', { text: refCandidate(r) || DASH }));
    tr.classList.toggle('selected', id === String(state.queueSel));
    tr.setAttribute('aria-selected', id === String(state.queueSel) ? 'true' : 'false');
    // Move a row only when it is out of queue order: moving a node drops its focus.
    const at = ids.indexOf(id);
    if (tbody.rows[at] !== tr) tbody.insertBefore(tr, tbody.rows[at] || null);
  }
  for (const tr of rows.values()) tr.remove();
  state.queueSeen = seen;
  if (focusedId && document.activeElement !== active) {
    const f = tbody.querySelector(`tr[data-id="${CSS.escape(focusedId)}"]`) || tbody.querySelector('tr.selected');
    if (f) f.focus({ preventScroll: true });
  }
}

export function moveQueue(delta) {
  const ids = state.queue.map((r) => String(r.id));
  if (!ids.length) return;
  let i = ids.indexOf(String(state.queueSel));
  i = i < 0 ? 0 : Math.min(Math.max(i + delta, 0), ids.length - 1);
  state.queueSel = ids[i];
  renderQueueRows();
  const tr = document.querySelector(`#queue-table tr[data-id="${CSS.escape(ids[i])}"]`);
  if (tr) { tr.focus(); tr.scrollIntoView({ block: 'nearest' }); }
}
