// facegate officer console: a traveller's crossings (officer), found by id, document or name.

import { $, DASH, api, docText, errorBox, facts, flightLabel, fmtDate, fmtTime, h, heading, personName, put, state } from './core.js';

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
      const list = data;
      if (!list.length) { put(out, h('p.error', { role: 'alert', text: `Nobody named “${surname.value.trim()}”${given.value.trim() ? ` ${given.value.trim()}` : ''}${born.value ? `, born ${born.value}` : ''}.` })); return; }
      put(out, h('table.grid', { id: 'traveller-matches' },
        h('thead', null, h('tr', null, ['Name', 'Born', 'Nationality', 'Category', 'Documents', ''].map((c) => h('th', { text: c })))),
        h('tbody', null, list.map((t) => h('tr', { dataset: { id: String(t.id) } },
          h('td', { text: personName(t) || DASH }),
          h('td', { text: t.date_of_birth ?? DASH }),
          h('td', { text: t.nationality ?? DASH }),
          h('td', { text: t.category ?? DASH }),
          h('td', { text: t.documents.map(docText).join('; ') || DASH }),
          h('td', null, h('button.btn', { type: 'button', onclick: () => { state.travellerRef = String(t.id); input.value = state.travellerRef; load(); } }, 'Crossings')))))),
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
  const t = data.traveller;
  const list = data.crossings;
  put(out, 
    t ? h('div.panel', { id: 'traveller-facts' }, h('h2', { text: personName(t) || `Traveller ${t.id}` }), facts([
      ['Traveller id', t.id],
      ['Born', t.date_of_birth],
      ['Nationality', t.nationality],
      ['Category', t.category],
      ['Document', docText(t.documents[0]) || undefined],
    ])) : null,
    list.length ? h('table.grid', { id: 'crossings-table' },
      h('thead', null, h('tr', null, ['#', 'Direction', 'When', 'Port', 'Flight', 'Method', 'Officer', 'Admitted until', 'Closes entry'].map((c) => h('th', { text: c })))),
      h('tbody', null, list.map((c) => {
        const dir = c.direction;
        const method = c.method;
        return h('tr', { dataset: { id: String(c.id) } },
          h('td.mono', { text: c.id }),
          h('td', null, h(`span.badge.${dir === 'exit' ? 'warn' : 'info'}`, { text: dir === 'exit' ? '↑ EXIT' : dir === 'entry' ? '↓ ENTRY' : String(dir ?? DASH) })),
          h('td.nowrap', { text: fmtTime(c.at) }),
          h('td', { text: c.port }),
          h('td', { text: flightName(c) }),
          h('td', null, h(`span.badge.${method === 'manual' ? 'warn' : 'ok'}`, { text: method === 'manual' ? '✎ MANUAL' : method === 'biometric' ? '◉ BIOMETRIC' : String(method ?? DASH) })),
          h('td', { text: c.officer ?? DASH }),
          h('td', { text: c.admitted_until ? fmtDate(c.admitted_until) : DASH }),
          h('td', { text: c.entry_id ? `#${c.entry_id}` : DASH }));
      })))
      : h('div.empty', { text: 'No crossings recorded for this traveller.' }));
}

function flightName(c) {
  const name = c.flight ? flightLabel(c.flight.carrier, c.flight.flight) : '';
  return name || (c.manifest_id ? `manifest ${c.manifest_id}` : DASH);
}
