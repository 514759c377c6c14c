// facegate officer console: the policy in force (admin, supervisor, auditor) and the API tokens (admin).

import { $, DASH, api, genericTable, h, heading, humanize, present, state } from './core.js';

// ---- policy and tokens ------------------------------------------------------------------------

export async function viewPolicy(view, arg, gen) {
  view.append(heading('Policy in force'));
  const p = await api('/v1/policy');
  if (gen !== state.gen) return;
  state.policy = p;
  const rows = [];
  (function walk(o, prefix) {
    for (const [k, v] of Object.entries(o || {})) {
      const key = prefix ? `${prefix} · ${humanize(k)}` : humanize(k);
      if (v && typeof v === 'object' && !Array.isArray(v)) walk(v, key);
      else rows.push([key, typeof v === 'boolean' ? (v ? 'yes' : 'no') : Array.isArray(v) ? v.join(', ') : v]);
    }
  })(p, '');
  view.append(h('table.grid', { id: 'policy-table' }, h('tbody', null, rows.map(([k, v]) => h('tr', null, h('td', { text: k }), h('td', { text: present(v) ? String(v) : DASH }))))));
}

export async function viewTokens(view, arg, gen) {
  view.append(heading('API tokens'), h('p.muted', { text: 'Create and revoke with: facegate token create --role ROLE --name NAME. The secret is shown once, when created.' }));
  const data = await api('/v1/tokens');
  if (gen !== state.gen) return;
  const list = data;
  view.append(list.length ? genericTable(list) : h('div.empty', { text: 'No tokens.' }));
}
