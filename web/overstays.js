// facegate officer console: overstays (officer, supervisor).

import { $, DASH, api, errorBox, fmtDate, fmtNum, fmtTime, h, heading, personName, put, state, todayUTC } from './core.js';

// ---- overstays -------------------------------------------------------------------------------

export function viewOverstays(view, arg, gen) {
  const date = h('input', { type: 'date', id: 'overstays-date', value: todayUTC() });
  const out = h('div', { id: 'overstays-result' });
  const form = h('form.toolbar', null, h('label', null, 'As of', date), h('button.btn-primary', { type: 'submit' }, 'Show'));
  form.addEventListener('submit', (e) => { e.preventDefault(); load(); });
  view.append(heading('Overstays'), form, out);
  async function load() {
    try {
      const data = await api(`/v1/overstays?as_of=${encodeURIComponent(date.value || todayUTC())}`);
      if (gen !== state.gen) return;
      const list = data.overstays;
      put(out, list.length ? h('table.grid', null,
        h('thead', null, h('tr', null, ['Traveller', 'Id', 'Nationality', 'Entered', 'Admitted until', 'Exit', 'Days over / late'].map((c) => h('th', { text: c })))),
        h('tbody', null, list.map((o) => h('tr', null,
          h('td', { text: personName(o) || DASH }),
          h('td.mono', { text: o.traveller_id }),
          h('td', { text: o.nationality ?? DASH }),
          h('td', { text: `${fmtTime(o.entered_at)} ${o.entry_port}` }),
          h('td', { text: fmtDate(o.admitted_until) }),
          h('td', null, o.kind === 'exited_late'
            ? h('span.badge.warn', { text: `↑ LATE EXIT ${fmtTime(o.exited_at)}` })
            : h('span.badge.bad', { text: '✗ NO EXIT' })),
          h('td.num', { text: fmtNum(o.kind === 'exited_late' ? o.days_late : o.days_over) })))))
        : h('div.empty', { text: 'No overstays as of this date.' }));
    } catch (e) {
      if (gen === state.gen) put(out, errorBox(e));
    }
  }
  load();
}
