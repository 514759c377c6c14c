// facegate officer console: the watchlist (supervisor): list, add, remove.

import { $, DASH, api, fmtTime, go, h, heading, put, say, state } from './core.js';

// ---- watchlist (supervisor) -------------------------------------------------------

// The entries every gate capture is screened against, added and removed by a
// supervisor: photos are read in the browser and sent as base64 (the service
// checks each face's quality and keeps the photo sealed); removing deletes the
// entry's templates, and every server stops screening against it.
export async function viewWatchlist(view, arg, gen) {
  view.append(heading('Watchlist'),
    h('p.muted', { text: 'Every gate capture is screened against the active entries at the policy\'s strict threshold. A hit opens a referral for an officer; it never acts on its own.' }));
  const data = await api('/v1/watchlist');
  if (gen !== state.gen) return;
  const entries = data;
  const filter = h('input', { type: 'search', id: 'watchlist-filter', placeholder: 'Filter by name or reason', autocomplete: 'off', 'aria-label': 'Filter by name or reason' });
  const showAll = h('input', { type: 'checkbox', id: 'watchlist-all' });
  const body = h('tbody');
  const count = h('p.muted', { id: 'watchlist-count' });
  const draw = () => {
    const q = filter.value.trim().toLowerCase();
    const rows = entries.filter((e) => (showAll.checked || e.status === 'active')
      && (!q || `${e.name ?? ''} ${e.reason ?? ''}`.toLowerCase().includes(q)));
    put(body, ...rows.map((e) => h('tr', { dataset: { id: String(e.id) } },
      h('td', { text: e.name ?? DASH }),
      h('td', { text: e.reason ?? DASH }),
      h('td', { text: { active: '● active', expired: '◌ expired', removed: '✕ removed' }[e.status] }),
      h('td.num', { text: String(e.templates) }),
      h('td', { text: e.added_by ?? DASH }),
      h('td', { text: fmtTime(e.created_at) }),
      h('td', { text: e.expires_at ? fmtTime(e.expires_at) : 'never' }),
      h('td', null, e.status === 'active'
        ? h('button.btn', { type: 'button', onclick: () => removeWatchlistEntry(e) }, 'Remove…') : null))));
    count.textContent = `${rows.length} of ${entries.length} entries shown${showAll.checked ? '' : ' (active only)'}`;
  };
  filter.addEventListener('input', draw);
  showAll.addEventListener('change', draw);
  view.append(
    h('div.toolbar', null, filter, h('label.check', { for: 'watchlist-all' }, showAll, 'show expired and removed entries')),
    h('table.grid', { id: 'watchlist-table' },
      h('thead', null, h('tr', null, ['Name', 'Reason', 'Status', 'Photos', 'Added by', 'Added', 'Expires', ''].map((t) => h('th', { text: t })))),
      body),
    count,
    watchlistForm());
  draw();
}

function watchlistForm() {
  const err = h('p.error', { role: 'alert', id: 'watchlist-error' });
  const files = h('input', { type: 'file', id: 'watchlist-photos', accept: 'image/jpeg,image/png,image/jp2,.jp2,.j2k', multiple: true, required: true });
  const form = h('form.panel', { id: 'watchlist-add' },
    h('h2', { text: 'Add an entry' }),
    h('label.field', { for: 'watchlist-name' }, 'Name'),
    h('input', { type: 'text', id: 'watchlist-name', required: true, maxlength: 128, autocomplete: 'off' }),
    h('label.field', { for: 'watchlist-reason' }, 'Reason (who asked for it, and why)'),
    h('input', { type: 'text', id: 'watchlist-reason', required: true, maxlength: 512, autocomplete: 'off' }),
    h('label.field', { for: 'watchlist-expires' }, 'Expires (optional; UTC)'),
    h('input', { type: 'date', id: 'watchlist-expires' }),
    h('label.field', { for: 'watchlist-photos' }, 'Photos of the face (JPEG, PNG or JPEG 2000; each must pass the quality check)'),
    files, err,
    h('div.actions', null, h('button.btn-primary', { type: 'submit', id: 'watchlist-submit' }, 'Add to the watchlist')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    const name = $('#watchlist-name').value.trim();
    const reason = $('#watchlist-reason').value.trim();
    const expires = $('#watchlist-expires').value;
    if (!name || !reason) { err.textContent = 'Give the name and the reason.'; return; }
    if (!files.files.length) { err.textContent = 'Choose at least one photo.'; return; }
    const btn = $('#watchlist-submit');
    btn.disabled = true;
    try {
      const photos = await Promise.all([...files.files].map(fileBase64));
      const out = await api('/v1/watchlist', { method: 'POST', body: { name, reason, expires: expires || null, photos } });
      say(`Watchlist entry #${out.id} added: ${name} (${photos.length} photo${photos.length === 1 ? '' : 's'}).`);
      go('watchlist');
    } catch (e) {
      err.textContent = e.message || String(e);
      btn.disabled = false;
    }
  });
  return form;
}

function fileBase64(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).replace(/^data:[^,]*,/, ''));
    r.onerror = () => reject(new Error(`${file.name}: cannot be read`));
    r.readAsDataURL(file);
  });
}

function removeWatchlistEntry(e) {
  const dlg = $('#dialog');
  if (dlg.open) return;
  const id = e.id;
  const err = h('p.error', { role: 'alert' });
  const send = h('button.btn-primary', { type: 'submit', id: 'watchlist-remove-send' }, 'Remove entry ', h('kbd', { text: 'Enter' }));
  const form = h('form', { method: 'dialog', id: 'watchlist-remove' },
    h('h2', { id: 'dialog-title', text: `Remove watchlist entry #${id}?` }),
    h('p', { text: `${e.name ?? DASH} — ${e.reason ?? DASH}` }),
    h('p.muted', { text: 'Its photos and templates are deleted, and every gate stops screening against it. The entry stays listed as removed, and the removal is audited.' }),
    err,
    h('div.actions', null,
      h('button.btn', { type: 'button', onclick: () => dlg.close() }, 'Cancel ', h('kbd', { text: 'Esc' })),
      send));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    send.disabled = true;
    try {
      await api(`/v1/watchlist/${encodeURIComponent(id)}`, { method: 'DELETE' });
      dlg.close();
      say(`Watchlist entry #${id} removed.`);
      go('watchlist');
    } catch (x) {
      err.textContent = x.message || String(x);
      send.disabled = false;
    }
  });
  put(dlg, form);
  dlg.showModal();
  send.focus();
}
