// facegate officer console: overstays (officer, supervisor).

import { $, DASH, api, errorBox, fmtDate, fmtNum, fmtTime, h, heading, listOf, personName, pick, put, state, todayUTC } from './core.js';

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
      const list = listOf(data, 'overstays');
      put(out, list.length ? h('table.grid', null,
        h('thead', null, h('tr', null, ['Traveller', 'Id', 'Nationality', 'Entered', 'Admitted until', 'Exit', 'Days over / late'].map((c) => h('th', { text: c })))),
        h('tbody', null, list.map((o) => h('tr', null,
          h('td', { text: personName(pick(o, 'traveller') || o) || DASH }),
          h('td.mono', { text: pick(o, 'traveller_id', 'traveller.id') ?? DASH }),
          h('td', { text: pick(o, 'nationality', 'traveller.nationality') ?? DASH }),
          h('td', { text: `${fmtTime(pick(o, 'entered_at', 'entry_at', 'entry.at'))} ${pick(o, 'entry_port') ?? ''}` }),
          h('td', { text: fmtDate(pick(o, 'admitted_until')) }),
          h('td', null, pick(o, 'exited_at', 'exit_at', 'exit.at')
            ? h('span.badge.warn', { text: `↑ LATE EXIT ${fmtTime(pick(o, 'exited_at', 'exit_at', 'exit.at'))}` })
            : h('span.badge.bad', { text: '✗ NO EXIT' })),
          h('td.num', { text: fmtNum(pick(o, 'days_over', 'days_late', 'days')) })))))
        : h('div.empty', { text: 'No overstays as of this date.' }));
    } catch (e) {
      if (gen === state.gen) put(out, errorBox(e));
    }
  }
  load();
}
