// facegate officer console: the flight board and a flight's passengers (officer, supervisor).

import { $, BOARD_POLL_MS, DASH, PASSENGER_STATUS, api, errorBox, flightLabel, fmtNow, fmtNum, fmtTime, fold, h, heading, humanize, passengerStatusText, personName, put, state } from './core.js';

// ---- flight board --------------------------------------------------------------------------

export function viewFlights(view, arg, gen) {
  const board = h('div', { id: 'flight-board' });
  const detail = h('div', { id: 'flight-detail' });
  view.append(heading('Flight board', h('span.muted', { id: 'board-updated' })), board, detail);
  let openId = arg || null;
  async function load() {
    try {
      const data = await api('/v1/manifests');
      if (gen !== state.gen) return;
      renderBoard(board, data, (id) => { openId = id; showDetail(); });
      $('#board-updated').textContent = `updated ${fmtNow()}`;
    } catch (e) {
      if (gen === state.gen) put(board, errorBox(e));
    }
  }
  async function showDetail() {
    if (!openId) return;
    try {
      const m = await api(`/v1/manifests/${encodeURIComponent(openId)}`);
      if (gen !== state.gen) return;
      const pax = m.passengers;
      const key = `${openId}`;
      if (passengerView.key !== key) Object.assign(passengerView, { key, q: '', status: '', page: 0 });
      renderPassengers(detail, m, pax);
    } catch (e) {
      if (gen === state.gen) put(detail, errorBox(e));
    }
  }
  load();
  showDetail();
  const t = setInterval(() => { load(); }, BOARD_POLL_MS);
  return () => clearInterval(t);
}

// The passenger list of one flight: filtered (name, document, status) and
// paged, so that a 420-passenger flight reads as well as a 40-passenger one.
const PAX_PAGE = 50;
const passengerView = { key: null, q: '', status: '', page: 0 };

function renderPassengers(detail, m, pax) {
  const st = passengerView;
  const counts = {};
  for (const p of pax) counts[p.status] = (counts[p.status] || 0) + 1;
  const q = h('input', { type: 'search', id: 'pax-filter', value: st.q, placeholder: 'name or document number', autocomplete: 'off', spellcheck: 'false' });
  const sel = h('select', { id: 'pax-status' },
    h('option', { value: '', text: `every status (${pax.length})` }),
    Object.keys(PASSENGER_STATUS).map((k) => h('option', { value: k, text: `${passengerStatusText(k)} (${counts[k] || 0})` })));
  sel.value = st.status;
  const body = h('div', { id: 'pax-body' });
  const title = h('h2', { text: `Passengers of ${flightLabel(m.carrier, m.flight)} (${pax.length})` });
  const draw = () => {
    const f = fold(st.q);
    const rows = pax.filter((p) => (!st.status || p.status === st.status)
      && (!f || fold(`${personName(p)} ${p.document.number ?? ''} ${p.traveller_id}`).includes(f)));
    const pages = Math.max(1, Math.ceil(rows.length / PAX_PAGE));
    st.page = Math.min(st.page, pages - 1);
    const slice = rows.slice(st.page * PAX_PAGE, (st.page + 1) * PAX_PAGE);
    const pager = h('div.pager', { id: 'pax-pager' },
      h('button.btn', { type: 'button', id: 'pax-prev', disabled: st.page === 0, onclick: () => { st.page--; draw(); } }, '◀ Previous'),
      h('span', { text: rows.length ? `${st.page * PAX_PAGE + 1}–${st.page * PAX_PAGE + slice.length} of ${rows.length}` : '0 of 0' }),
      h('button.btn', { type: 'button', id: 'pax-next', disabled: st.page >= pages - 1, onclick: () => { st.page++; draw(); } }, 'Next ▶'));
    put(body, slice.length ? h('table.grid', { id: 'pax-table' },
      h('thead', null, h('tr', null, ['Name', 'Document', 'Nationality', 'Category', 'Photos', 'Status', 'Problems'].map((c) => h(c === 'Photos' ? 'th.num' : 'th', { text: c })))),
      h('tbody', null, slice.map((p) => {
        const pst = p.status;
        const probs = p.problems;
        return h('tr', { dataset: { id: String(p.traveller_id) } },
          h('td', { text: personName(p) || DASH }), h('td.mono', { text: p.document.number ?? DASH }),
          h('td', { text: p.nationality ?? DASH }), h('td', { text: p.category ?? DASH }),
          h('td.num', { text: fmtNum(p.enrolled) }),
          h('td', null, h(`span.badge.${PASSENGER_STATUS[pst]?.[1] ?? 'info'}`, { text: passengerStatusText(pst) })),
          h('td', { text: problemsText(probs) }));
      }))) : h('div.empty', { text: pax.length ? 'No passenger matches.' : 'No passengers.' }), pages > 1 || rows.length > PAX_PAGE ? pager : h('p.muted', { text: `${rows.length} shown` }));
  };
  q.addEventListener('input', () => { st.q = q.value; st.page = 0; draw(); });
  sel.addEventListener('change', () => { st.status = sel.value; st.page = 0; draw(); });
  const hadFocus = document.activeElement && document.activeElement.id === 'pax-filter';
  put(detail, title, h('div.toolbar', null, h('label', null, 'Find', q), h('label', null, 'Status', sel)), body);
  draw();
  if (hadFocus) { q.focus(); q.setSelectionRange(q.value.length, q.value.length); }
}

const PROBLEMS = {
  missing_field: 'missing data', invalid_field: 'invalid data', unreadable_photo: 'photo unreadable',
  no_face: 'no face in the photo', low_quality: 'photo quality too low', duplicate_document: 'document listed twice',
  reenrol_no_photo: 'left out after a model change: no photo to re-enrol from',
  reenrol_no_face: 'left out after a model change: no face found by the new model',
};
// A passenger's problems: the import's problem codes.
function problemsText(codes) {
  return codes.map((code) => PROBLEMS[code] || humanize(code)).join('; ') || DASH;
}

function renderBoard(board, list, open) {
  if (!list.length) { put(board, h('div.empty', { text: 'No manifests staged.' })); return; }
  put(board, h('table.grid', { id: 'board-table' },
    h('thead', null, h('tr', null,
      ['Flight', 'Port', 'Scheduled', 'Status'].map((c) => h('th', { text: c })),
      ['Passengers', 'Boarded', 'Referred', 'Pending'].map((c) => h('th.num', { text: c })),
      h('th', { text: 'Progress' }))),
    h('tbody', null, list.map((m) => {
      // the service counts each passenger status: expected, crossed (biometric), manual, referred
      const total = m.passengers;
      const crossed = m.crossed + m.manual;
      const referred = m.referred;
      const pending = m.expected;
      const { direction: dir, status: st, id } = m;
      const pct = (v) => `${total ? Math.min(100, (v / total) * 100) : 0}%`;
      const tr = h('tr', { dataset: { id: String(id) }, tabindex: '0', onclick: () => open(id), onkeydown: (e) => { if (e.key === 'Enter') open(id); } },
        h('td', null, h('b', { text: flightLabel(m.carrier, m.flight) || `#${id}` }), ' ',
          h(`span.badge.${dir === 'exit' ? 'warn' : 'info'}`, { text: dir === 'exit' ? '↑ EXIT' : dir === 'entry' ? '↓ ENTRY' : String(dir ?? DASH) })),
        h('td', { text: m.port }),
        h('td', { text: fmtTime(m.scheduled) }),
        h('td', null, h(`span.badge.${st === 'open' ? 'ok' : 'info'}`, { text: st === 'open' ? '● OPEN' : st === 'closed' ? '■ CLOSED' : String(st ?? DASH).toUpperCase() })),
        h('td.num', { text: String(total) }),
        h('td.num', { text: String(crossed) }),
        h('td.num', { text: String(referred) }),
        h('td.num', { text: String(pending) }),
        h('td', null, h('div.progress', { role: 'img', 'aria-label': `${crossed} boarded, ${referred} referred, ${pending} pending of ${total}` },
          h('span.p-crossed', { style: { width: pct(crossed) } }), h('span.p-referred', { style: { width: pct(referred) } }))));
      return tr;
    }))));
}
