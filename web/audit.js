// facegate officer console: the audit log and the chain's verification (auditor).

import { $, DASH, api, errorBox, fmtNow, fmtNum, fmtTime, h, heading, humanize, present, put, state } from './core.js';

// ---- audit -----------------------------------------------------------------------------------------

const AUDIT_PAGE = 50;

export function viewAudit(view, arg, gen) {
  const banner = h('div.chain.unknown', { id: 'chain', role: 'status' }, h('span.mark', { text: '…' }), h('div', null, h('div.title', { text: 'Verifying the audit chain…' })));
  const list = h('div', { id: 'audit-list' });
  const nav = h('div.toolbar', null,
    h('button.btn', { type: 'button', id: 'audit-earlier', onclick: () => page(-1) }, '◀ Earlier'),
    h('button.btn', { type: 'button', id: 'audit-later', onclick: () => page(1) }, 'Later ▶'),
    h('button.btn', { type: 'button', onclick: () => { state.auditAfter = null; verify(); } }, 'Latest and verify again'));
  view.append(heading('Audit log'), banner, nav, list);
  let head = 0;
  async function verify() {
    try {
      const v = await api('/v1/audit/verify');
      if (gen !== state.gen) return;
      head = v.head_seq;
      const ok = v && v.ok === true;
      banner.className = `chain ${ok ? 'ok' : 'bad'}`;
      banner.dataset.ok = ok ? 'true' : 'false';
      put(banner, h('span.mark', { text: ok ? '✓' : '✗' }), h('div', null,
        h('div.title', { text: ok ? 'Audit chain verified — intact' : 'AUDIT CHAIN BROKEN' }),
        h('div.detail', null, ok
          ? `${fmtNum(v.events)} events checked · head #${fmtNum(v.head_seq)} · `
          : `first bad event #${v.bad_seq ?? '?'}: ${v.problem ?? v.records.problems[0] ?? 'unknown problem'} · `,
        h('span.mono', { text: `head hash ${v.head_hash}` }),
        ` · checked ${fmtNow()}`)));
    } catch (e) {
      if (gen !== state.gen) return;
      banner.className = 'chain unknown';
      put(banner, h('span.mark', { text: '?' }), h('div', null, h('div.title', { text: 'Chain status unknown' }), h('div.detail', { text: e.message })));
    }
    if (state.auditAfter === null) state.auditAfter = Math.max(0, head - AUDIT_PAGE);
    load();
  }
  function page(dir) {
    state.auditAfter = Math.max(0, (state.auditAfter ?? 0) + dir * AUDIT_PAGE);
    load();
  }
  async function load() {
    try {
      const data = await api(`/v1/audit?after=${state.auditAfter ?? 0}&limit=${AUDIT_PAGE}`);
      if (gen !== state.gen) return;
      const ev = data.events;
      put(list, ev.length ? h('table.grid.audit', { id: 'audit-table' },
        h('thead', null, h('tr', null, ['#', 'When', 'Who', 'Action', 'Object', 'Detail'].map((c) => h('th', { text: c })))),
        h('tbody', null, ev.slice().reverse().map((e) => h('tr', null,
          h('td.num', { text: e.seq }),
          h('td.when', { text: fmtTime(e.at) }),
          h('td', null, h('div', { text: e.actor ?? DASH }), h('div.muted', { text: e.role ?? '' })),
          h('td', null, h('b', { text: e.action }), e.purpose ? h('div.muted', { text: e.purpose }) : null),
          h('td', { text: e.object ?? DASH }),
          h('td', null, detailList(e.detail))))))
        : h('div.empty', { text: 'No events in this range.' }));
      $('#audit-earlier').disabled = !state.auditAfter;
      $('#audit-later').disabled = ev.length < AUDIT_PAGE;
    } catch (e) {
      if (gen === state.gen) put(list, errorBox(e));
    }
  }
  verify();
}

// An audit event's detail as "name: value" lines (nested values flattened),
// never raw JSON; hashes are shortened (the full value is in the title).
function detailList(d) {
  if (!present(d)) return DASH;
  if (typeof d !== 'object') return String(d);
  const rows = [];
  (function walk(o, prefix) {
    for (const [k, v] of Object.entries(o)) {
      const key = prefix ? `${prefix} ${humanize(k)}` : humanize(k);
      if (v && typeof v === 'object' && !Array.isArray(v)) walk(v, key);
      else rows.push([key, Array.isArray(v) ? v.map((x) => (typeof x === 'object' ? Object.values(x || {}).join(' ') : String(x))).join(', ') : v]);
    }
  })(d, '');
  if (!rows.length) return DASH;
  return h('dl.detail', null, rows.map(([k, v]) => {
    const text = v === null || v === undefined ? DASH : typeof v === 'boolean' ? (v ? 'yes' : 'no')
      : typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?Z$/.test(v) ? fmtTime(v) : String(v);
    const long = /^[0-9a-f]{40,}$/i.test(text);
    return [h('dt', { text: k }), h('dd', { text: long ? `${text.slice(0, 12)}…` : text, title: long ? text : null })];
  }));
}
