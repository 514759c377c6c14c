// facegate officer console: a traveller's crossings (officer), found by id, document or name.

import { $, DASH, api, documentOf, errorBox, facts, flightLabel, fmtDate, fmtTime, h, heading, listOf, personName, pick, present, put, state } from './core.js';

// ---- traveller history ---------------------------------------------------------------

// By document number or id (its crossings at once), or by name: names are
// sealed in the store and found through a keyed blind index, so a name matches
// whole (case and spacing aside), never by its first letters.
export function viewTraveller(view, arg, gen) {
  const input = h('input', { type: 'search', id: 'traveller-search', placeholder: 'document number or traveller id', value: state.travellerRef, autocomplete: 'off', spellcheck: 'false' });
  const surname = h('input', { type: 'search', id: 'traveller-surname', placeholder: 'surname, whole', autocomplete: 'off', spellcheck: 'false' });
  const given = h('input', { type: 'search', id: 'traveller-given', placeholder: 'optional', autocomplete: 'off', spellcheck: 'false' });
  const born = h('input', { type: 'date', id: 'traveller-born' });
  const out = h('div', { id: 'traveller-result' });
  const form = h('form.toolbar', { role: 'search', id: 'traveller-by-document' },
    h('label', null, 'Document number or traveller id', input),
    h('button.btn-primary', { type: 'submit' }, 'Show crossings'));
  const byName = h('form.toolbar', { role: 'search', id: 'traveller-by-name' },
    h('label', null, 'Surname', surname), h('label', null, 'Given names', given), h('label', null, 'Born', born),
    h('button.btn', { type: 'submit' }, 'Find by name'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    state.travellerRef = input.value.trim();
    load();
  });
  byName.addEventListener('submit', (e) => {
    e.preventDefault();
    findByName();
  });
  view.append(heading('Traveller crossing history'), form, byName,
    h('p.muted', { text: 'A name is found whole, as on the document (case, spaces and hyphens aside), not by its first letters.' }), out);
  async function load() {
    const ref = state.travellerRef;
    if (!ref) { put(out, h('p.muted', { text: 'Search by the number of a passport or other travel document, or by name.' })); return; }
    put(out, h('p.muted', { text: `Looking up ${ref}…` }));
    try {
      const data = await api(`/v1/travellers/${encodeURIComponent(ref)}/crossings`);
      if (gen !== state.gen) return;
      renderCrossings(out, data);
    } catch (e) {
      if (gen !== state.gen) return;
      put(out, e.status === 404 ? h('p.error', { role: 'alert', text: `No traveller with document or id “${ref}”.` }) : errorBox(e));
    }
  }
  async function findByName() {
    const q = new URLSearchParams();
    if (!surname.value.trim()) { put(out, h('p.error', { role: 'alert', text: 'Give the surname, whole.' })); surname.focus(); return; }
    q.set('surname', surname.value.trim());
    if (given.value.trim()) q.set('given_names', given.value.trim());
    if (born.value) q.set('date_of_birth', born.value);
    put(out, h('p.muted', { text: 'Searching…' }));
    try {
      const data = await api(`/v1/travellers?${q}`);
      if (gen !== state.gen) return;
      const list = listOf(data, 'travellers');
      if (!list.length) { put(out, h('p.error', { role: 'alert', text: `Nobody named “${surname.value.trim()}”${given.value.trim() ? ` ${given.value.trim()}` : ''}${born.value ? `, born ${born.value}` : ''}.` })); return; }
      put(out, h('table.grid', { id: 'traveller-matches' },
        h('thead', null, h('tr', null, ['Name', 'Born', 'Nationality', 'Category', 'Documents', ''].map((c) => h('th', { text: c })))),
        h('tbody', null, list.map((t) => h('tr', { dataset: { id: String(pick(t, 'id') ?? '') } },
          h('td', { text: personName(t) || DASH }),
          h('td', { text: pick(t, 'date_of_birth') ?? DASH }),
          h('td', { text: pick(t, 'nationality') ?? DASH }),
          h('td', { text: pick(t, 'category') ?? DASH }),
          h('td', { text: listOf(pick(t, 'documents') || []).map((d) => [pick(d, 'type'), pick(d, 'number'), pick(d, 'issuing_state')].filter(present).join(' ')).join('; ') || DASH }),
          h('td', null, h('button.btn', { type: 'button', onclick: () => { state.travellerRef = String(pick(t, 'id')); input.value = state.travellerRef; load(); } }, 'Crossings')))))),
      h('p.muted', { text: `${list.length} traveller${list.length === 1 ? '' : 's'} found.` }));
    } catch (e) {
      if (gen !== state.gen) return;
      put(out, e.code === 'FG_ELIMIT' ? h('p.error', { role: 'alert', text: 'Too many travellers have that name: add the given names or the date of birth.' }) : errorBox(e));
    }
  }
  load();
  input.focus();
}

function renderCrossings(out, data) {
  const t = pick(data, 'traveller') || (Array.isArray(data) ? null : data);
  const list = listOf(pick(data, 'crossings') || data, 'crossings');
  const doc = documentOf(t);
  put(out, 
    t ? h('div.panel', { id: 'traveller-facts' }, h('h2', { text: personName(t) || `Traveller ${pick(t, 'id', 'traveller_id') ?? ''}` }), facts([
      ['Traveller id', pick(t, 'id', 'traveller_id')],
      ['Born', pick(t, 'date_of_birth')],
      ['Nationality', pick(t, 'nationality')],
      ['Category', pick(t, 'category')],
      ['Document', [pick(doc, 'type'), pick(doc, 'number', 'doc_number'), pick(doc, 'issuing_state')].filter(present).join(' ') || undefined],
    ])) : null,
    list.length ? h('table.grid', { id: 'crossings-table' },
      h('thead', null, h('tr', null, ['#', 'Direction', 'When', 'Port', 'Flight', 'Method', 'Officer', 'Admitted until', 'Closes entry'].map((c) => h('th', { text: c })))),
      h('tbody', null, list.map((c) => {
        const dir = pick(c, 'direction');
        const method = pick(c, 'method');
        return h('tr', { dataset: { id: String(pick(c, 'id') ?? '') } },
          h('td.mono', { text: pick(c, 'id') ?? DASH }),
          h('td', null, h(`span.badge.${dir === 'exit' ? 'warn' : 'info'}`, { text: dir === 'exit' ? '↑ EXIT' : dir === 'entry' ? '↓ ENTRY' : String(dir ?? DASH) })),
          h('td.nowrap', { text: fmtTime(pick(c, 'at')) }),
          h('td', { text: pick(c, 'port') ?? DASH }),
          h('td', { text: flightName(c) }),
          h('td', null, h(`span.badge.${method === 'manual' ? 'warn' : 'ok'}`, { text: method === 'manual' ? '✎ MANUAL' : method === 'biometric' ? '◉ BIOMETRIC' : String(method ?? DASH) })),
          h('td', { text: pick(c, 'officer') ?? DASH }),
          h('td', { text: pick(c, 'admitted_until') ? fmtDate(pick(c, 'admitted_until')) : DASH }),
          h('td', { text: pick(c, 'entry.id', 'entry_id') ? `#${pick(c, 'entry.id', 'entry_id')}` : DASH }));
      })))
      : h('div.empty', { text: 'No crossings recorded for this traveller.' }));
}

function flightName(c) {
  const f = pick(c, 'flight');
  const name = f && typeof f === 'object' ? flightLabel(pick(f, 'carrier'), pick(f, 'flight')) : flightLabel(pick(c, 'carrier'), f);
  return name || (pick(c, 'manifest_id') ? `manifest ${pick(c, 'manifest_id')}` : DASH);
}
