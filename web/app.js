// facegate officer console — one plain ES module, no framework, no build step.
//
// The token is kept in sessionStorage only (this tab; never localStorage, never
// a URL); every request sends it as "Authorization: Bearer fgt_...". Screens
// are chosen from the role /v1/whoami reports. The server's JSON is read
// member by member and whatever is present is shown, so a member the service
// adds or renames degrades to "—" instead of breaking a screen. Every piece of
// server data reaches the page through textContent / attributes, never HTML.
//
// Layout of this file: helpers (DOM, formatting, API) → session → screens
// (queue, referral, traveller, flights, overstays, report, audit, policy,
// tokens) → keyboard → start.

const TOKEN_KEY = 'facegate.token';
const POLL_MS = 2000;
const BOARD_POLL_MS = 5000;

const $ = (sel, root = document) => root.querySelector(sel);

// ---- DOM helpers --------------------------------------------------------------

// h('tag.class', {attr: v, onclick: f, text: 's'}, ...children)
function h(spec, props, ...children) {
  const [tag, ...classes] = spec.split('.');
  const el = document.createElement(tag || 'div');
  if (classes.length) el.className = classes.join(' ');
  applyProps(el, props);
  append(el, children);
  return el;
}

const SVGNS = 'http://www.w3.org/2000/svg';
function s(tag, props, ...children) {
  const el = document.createElementNS(SVGNS, tag);
  applyProps(el, props);
  append(el, children);
  return el;
}

function applyProps(el, props) {
  if (!props) return;
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') el.textContent = String(v);
    else if (k === 'class') el.setAttribute('class', v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'style') Object.assign(el.style, v); // CSSOM, not the style attribute (CSP-safe)
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

// Replace el's children (null, undefined and false are left out, unlike
// Element.replaceChildren, which would print them).
function put(el, ...children) {
  el.textContent = '';
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// ---- formatting -----------------------------------------------------------------

const DASH = '—';
const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
const present = (v) => v !== undefined && v !== null && v !== '';

// The first member of o (or of its nested path "a.b") that is present.
function pick(o, ...names) {
  if (!o || typeof o !== 'object') return undefined;
  for (const n of names) {
    let v = o;
    for (const part of n.split('.')) v = v == null ? undefined : v[part];
    if (present(v)) return v;
  }
  return undefined;
}

// A list out of a response that may be the list itself or an object holding it.
function listOf(v, ...names) {
  if (Array.isArray(v)) return v;
  if (!v || typeof v !== 'object') return [];
  for (const n of [...names, 'items', 'results', 'data']) if (Array.isArray(v[n])) return v[n];
  const arrays = Object.values(v).filter(Array.isArray);
  return arrays.length === 1 ? arrays[0] : [];
}

// Times come as epoch seconds, epoch milliseconds or ISO text.
function toDate(v) {
  if (!present(v)) return null;
  if (isNum(v)) return new Date(v < 1e11 ? v * 1000 : v);
  if (typeof v === 'string' && /^\d+$/.test(v)) return toDate(Number(v));
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

// Every time on screen has one form, in UTC: "2026-11-27 10:06:52 UTC".
function fmtTime(v) {
  const d = toDate(v);
  if (!d) return present(v) ? String(v) : DASH;
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
const fmtNow = () => fmtTime(new Date());

function fmtDate(v) {
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) return v;
  const d = toDate(v);
  return d ? d.toISOString().slice(0, 10) : present(v) ? String(v) : DASH;
}

function fmtAge(v, now = Date.now()) {
  const d = toDate(v);
  if (!d) return DASH;
  let sec = Math.max(0, Math.round((now - d.getTime()) / 1000));
  if (sec < 60) return `${sec} s`;
  const min = Math.floor(sec / 60);
  if (min < 60) return `${min} min ${String(sec % 60).padStart(2, '0')} s`;
  const hr = Math.floor(min / 60);
  if (hr < 48) return `${hr} h ${min % 60} min`;
  return `${Math.floor(hr / 24)} days`;
}

function fmtNum(v, digits = 3) {
  if (!isNum(v)) return present(v) ? String(v) : DASH;
  return Number.isInteger(v) ? String(v) : v.toFixed(digits);
}

function fmtRate(v) {
  if (!isNum(v)) return present(v) ? String(v) : DASH;
  return v <= 1 ? `${(v * 100).toFixed(1)} %` : `${v.toFixed(1)} %`;
}

const humanize = (k) => String(k).replace(/_/g, ' ').replace(/\bms\b/, '(ms)');
const todayUTC = () => new Date().toISOString().slice(0, 10);

function personName(p) {
  if (!p || typeof p !== 'object') return present(p) ? String(p) : '';
  const full = pick(p, 'name', 'traveller_name', 'full_name');
  if (full) return full;
  const sur = pick(p, 'surname');
  const given = pick(p, 'given_names');
  return [sur && String(sur).toUpperCase(), given].filter(Boolean).join(', ');
}

function documentOf(p) {
  if (!p || typeof p !== 'object') return {};
  const d = pick(p, 'document') || (Array.isArray(p.documents) ? p.documents[0] : null);
  if (d && typeof d === 'object') return d;
  return {
    number: pick(p, 'document_number', 'doc_number', 'document'),
    issuing_state: pick(p, 'issuing_state'),
    type: pick(p, 'doc_type'),
    expiry: pick(p, 'expiry'),
  };
}
const docNumber = (p) => pick(documentOf(p), 'number', 'doc_number');

// Labels pair a colour class with text and a symbol: never colour alone.
const OUTCOMES = {
  MATCHED: ['✓ MATCHED', 'ok'],
  NO_MATCH: ['✗ NO MATCH', 'bad'],
  FAILURE_TO_ACQUIRE: ['⚠ NO USABLE CAPTURE', 'warn'],
  LIVENESS_SUSPECT: ['⚠ LIVENESS SUSPECT', 'bad'],
  OPT_OUT: ['⊘ OPT-OUT', 'info'],
};
const REASONS = {
  no_match: ['✗ NO MATCH', 'bad'],
  failure_to_acquire: ['⚠ NO USABLE CAPTURE', 'warn'],
  liveness: ['⚠ LIVENESS', 'bad'],
  opt_out: ['⊘ OPT-OUT', 'info'],
  watchlist: ['⚑ WATCHLIST', 'bad'],
  already_crossed: ['↺ ALREADY CROSSED', 'warn'],
};
const STATUSES = {
  open: ['● OPEN', 'warn'],
  secondary: ['➜ SECONDARY', 'info'],
  confirmed: ['✓ CONFIRMED', 'ok'],
  closed: ['■ CLOSED', 'info'],
};

function badge(table, key, big = false) {
  const [label, cls] = table[key] || [present(key) ? String(key).toUpperCase().replace(/_/g, ' ') : DASH, 'info'];
  return h(`span.badge.${cls}${big ? '.big' : ''}`, { text: label, dataset: { value: key ?? '' } });
}

function imgSrc(b64) {
  if (typeof b64 !== 'string' || !b64) return null;
  if (b64.startsWith('data:')) return b64;
  const mime = b64.startsWith('iVBOR') ? 'image/png' : 'image/jpeg';
  return `data:${mime};base64,${b64}`;
}

function facts(pairs) {
  const dl = h('dl.facts');
  for (const [k, v] of pairs) {
    if (v === undefined) continue;
    dl.append(h('dt', { text: k }), h('dd', null, v instanceof Node ? v : present(v) ? String(v) : DASH));
  }
  return dl;
}

// A plain table of objects: columns = given, or the union of the members.
function genericTable(rows, columns) {
  const cols = columns || [...new Set(rows.flatMap((r) => Object.keys(r || {})))];
  return h('table.grid', null,
    h('thead', null, h('tr', null, cols.map((c) => h('th', { text: humanize(c) })))),
    h('tbody', null, rows.map((r) => h('tr', null, cols.map((c) => {
      const v = r?.[c];
      const text = v !== null && typeof v === 'object' ? JSON.stringify(v)
        : /(_at|^at|expires)$/.test(c) && present(v) ? fmtTime(v) : present(v) ? String(v) : DASH;
      return h(isNum(v) ? 'td.num' : 'td', { text });
    })))));
}

// ---- API ------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    const title = pick(body, 'title') || `HTTP ${status}`;
    const detail = pick(body, 'detail');
    super(detail ? `${title}: ${detail}` : title);
    this.status = status;
    this.code = pick(body, 'code');
    this.body = body;
  }
}

async function api(path, { method = 'GET', body, raw = false } = {}) {
  const headers = { Accept: 'application/json' };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer',
    });
  } catch (e) {
    throw new ApiError(0, { title: 'The service cannot be reached', detail: e.message });
  }
  if (raw && res.ok) return res;
  const type = res.headers.get('content-type') || '';
  let data = null;
  if (type.includes('json')) data = await res.json().catch(() => null);
  else if (res.status !== 204) data = { detail: (await res.text().catch(() => '')).slice(0, 300) };
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    if (res.status === 401 && state.me) signOut('Your session ended: the token was not accepted. Sign in again.');
    throw err;
  }
  return data;
}

// ---- state, status line ---------------------------------------------------------

const state = {
  me: null,          // {name, role}
  screen: null,      // current screen id
  gen: 0,            // bumped on every navigation: stale async renders are dropped
  cleanup: null,     // the current screen's teardown
  queue: [],         // open referrals, oldest first
  queueSeen: null,   // ids already shown (to mark new arrivals)
  queueSel: null,    // selected referral id
  queueTimer: null,
  queueError: null,
  queueKey: null,    // [newest id, open count] of the summary the list was fetched for
  queueForce: false, // fetch the list at the next poll whatever the summary says
  queuePolling: false,
  referral: null,    // the referral on screen
  travellerRef: '',
  auditAfter: null,
  reportDate: null,
  reportPort: '',
};

let statusTimer = null;
function say(msg, isError = false, ms = 6000) {
  const el = $('#status');
  el.textContent = msg || '';
  el.classList.toggle('error', !!isError);
  clearTimeout(statusTimer);
  if (msg && ms) statusTimer = setTimeout(() => { el.textContent = ''; }, ms);
}

// ---- screens and navigation -------------------------------------------------------

const SCREENS = [
  { id: 'queue', label: 'Referrals', roles: ['officer'], render: viewQueue },
  { id: 'traveller', label: 'Traveller', roles: ['officer'], render: viewTraveller },
  { id: 'flights', label: 'Flight board', roles: ['officer', 'supervisor'], render: viewFlights },
  { id: 'overstays', label: 'Overstays', roles: ['officer', 'supervisor'], render: viewOverstays },
  { id: 'watchlist', label: 'Watchlist', roles: ['supervisor'], render: viewWatchlist },
  { id: 'report', label: 'Report', roles: ['supervisor', 'auditor'], render: viewReport },
  { id: 'audit', label: 'Audit log', roles: ['auditor'], render: viewAudit },
  { id: 'policy', label: 'Policy', roles: ['admin', 'supervisor', 'auditor'], render: viewPolicy },
  { id: 'tokens', label: 'Tokens', roles: ['admin'], render: viewTokens },
];
const HIDDEN_SCREENS = [{ id: 'referral', roles: ['officer'], render: viewReferral }];

const screensFor = (role) => SCREENS.filter((sc) => sc.roles.includes(role));

function parseHash() {
  const [id, ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  return { id, arg: rest.join('/') };
}

function go(id, arg) {
  const hash = `#/${id}${arg !== undefined ? `/${arg}` : ''}`;
  if (location.hash === hash) route(); else location.hash = hash;
}

function route() {
  if (!state.me) return;
  const role = state.me.role;
  const { id, arg } = parseHash();
  const all = [...SCREENS, ...HIDDEN_SCREENS];
  let sc = all.find((x) => x.id === id && x.roles.includes(role));
  if (!sc) {
    const first = screensFor(role)[0];
    if (first) { history.replaceState(null, '', `#/${first.id}`); sc = first; }
  }
  if (state.cleanup) { try { state.cleanup(); } catch { /* ignore */ } state.cleanup = null; }
  closeDialogs();
  state.gen++;
  state.screen = sc ? sc.id : null;
  document.body.dataset.screen = state.screen || 'none';
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.screen === (sc && (sc.id === 'referral' ? 'queue' : sc.id))) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const view = $('#view');
  put(view);
  if (!sc) {
    view.append(h('div.empty', null,
      `Signed in as ${state.me.name} (${role}). This role has no screens in the console`,
      role === 'gate' ? ': gate tokens only submit encounters.' : '.'));
    return;
  }
  const gen = state.gen;
  Promise.resolve(sc.render(view, arg, gen)).then((cleanup) => {
    if (gen === state.gen && typeof cleanup === 'function') state.cleanup = cleanup;
    else if (typeof cleanup === 'function') cleanup();
  }).catch((e) => {
    if (gen !== state.gen) return;
    view.append(errorBox(e));
  });
}

function errorBox(e) {
  const msg = e instanceof ApiError && e.status === 403
    ? `Your role (${state.me?.role}) is not allowed to see this.`
    : e.message || String(e);
  return h('p.error', { role: 'alert', text: msg });
}

function heading(text, ...extra) {
  return h('div.viewhead', null, h('h1', { tabindex: '-1', text }), extra);
}

// ---- session -----------------------------------------------------------------

function showSignin(message) {
  $('#top').hidden = true;
  $('#view').hidden = true;
  put($('#view'));
  $('#signin').hidden = false;
  $('#signin-error').textContent = message || '';
  document.body.dataset.screen = 'signin';
  const input = $('#token');
  input.value = '';
  input.focus();
}

async function signIn(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
  let me;
  try {
    me = await api('/v1/whoami');
  } catch (e) {
    sessionStorage.removeItem(TOKEN_KEY);
    throw e;
  }
  state.me = { name: pick(me, 'name') || '?', role: pick(me, 'role') || '?' };
  enterApp();
}

function enterApp() {
  const { name, role } = state.me;
  $('#signin').hidden = true;
  $('#token').value = '';
  $('#top').hidden = false;
  $('#view').hidden = false;
  put($('#who'), h('b', { text: name }), ` · ${role}`);
  const nav = $('#nav');
  put(nav, ...screensFor(role).map((sc, i) => h('a', {
    href: `#/${sc.id}`, dataset: { screen: sc.id }, title: `${sc.label} (key ${i + 1})`,
  }, sc.label, sc.id === 'queue' ? h('span.count', { id: 'queue-count', 'aria-label': 'open referrals', text: '…' }) : null)));
  state.queueSeen = null;
  if (role === 'officer') pollQueue();
  route();
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  clearTimeout(state.queueTimer);
  if (state.cleanup) { try { state.cleanup(); } catch { /* ignore */ } state.cleanup = null; }
  closeDialogs();
  Object.assign(state, {
    me: null, screen: null, queue: [], queueSeen: null, queueSel: null, queueTimer: null,
    queueKey: null, queueForce: false, queuePolling: false, queueError: null,
    referral: null, travellerRef: '', auditAfter: null, gen: state.gen + 1,
  });
  history.replaceState(null, '', location.pathname);
  say('');
  showSignin(message);
}

function closeDialogs() {
  for (const d of document.querySelectorAll('dialog[open]')) d.close();
}

// ---- referral queue ------------------------------------------------------------------

// The queue is kept fresh without auditing a read of personal data every 2 s:
// the poll asks for the summary (counts, the newest referral id; no personal
// data, not audited) and fetches the list (audited: referral.list) only when
// the newest id or the open count changed, when forced (entering the queue
// screen), or when the last list fetch failed.
async function pollQueue(force = false) {
  if (force) state.queueForce = true;
  if (state.queuePolling) return; // the poll under way sees queueForce, or runs again for it
  if (!state.me || state.me.role !== 'officer') return;
  clearTimeout(state.queueTimer);
  const me = state.me;
  state.queuePolling = true;
  try {
    const sum = await api('/v1/referrals/summary');
    if (state.me !== me) return;
    const open = pick(sum, 'open', 'by_status.open');
    const key = JSON.stringify([pick(sum, 'newest_id') ?? null, open ?? null]);
    if (state.queueForce || key !== state.queueKey) {
      state.queueForce = false;
      const data = await api('/v1/referrals?status=open');
      if (state.me !== me) return;
      const list = listOf(data, 'referrals').slice();
      list.sort((a, b) => (toDate(pick(a, 'created_at', 'at'))?.getTime() ?? 0) - (toDate(pick(b, 'created_at', 'at'))?.getTime() ?? 0) || (a.id - b.id));
      state.queue = list;
      state.queueKey = key;
    }
    state.queueError = null;
    const count = $('#queue-count');
    if (count) count.textContent = String(isNum(open) ? open : state.queue.length);
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

const refGate = (r) => pick(r, 'gate', 'encounter.gate');
const refScore = (r) => pick(r, 'score', 'encounter.score');
const refThreshold = (r) => pick(r, 'threshold', 'encounter.threshold');
const refCreated = (r) => pick(r, 'created_at', 'at', 'encounter.at');
// Only a passenger the gate matched is shown as the candidate (never the
// nearest passenger after a no-match: see matchedCandidate).
const refCandidate = (r) => personName(matchedCandidate(r));

function viewQueue(view) {
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
    const score = refScore(r);
    const thr = refThreshold(r);
    put(tr, 
      h('td.mono', { text: id }),
      h('td', null, badge(REASONS, pick(r, 'reason'))),
      h('td', { text: refGate(r) ?? DASH }),
      h('td', { dataset: { age: String(refCreated(r) ?? '') }, text: fmtAge(refCreated(r)) }),
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

function moveQueue(delta) {
  const ids = state.queue.map((r) => String(r.id));
  if (!ids.length) return;
  let i = ids.indexOf(String(state.queueSel));
  i = i < 0 ? 0 : Math.min(Math.max(i + delta, 0), ids.length - 1);
  state.queueSel = ids[i];
  renderQueueRows();
  const tr = document.querySelector(`#queue-table tr[data-id="${CSS.escape(ids[i])}"]`);
  if (tr) { tr.focus(); tr.scrollIntoView({ block: 'nearest' }); }
}

// ---- one referral ----------------------------------------------------------------------

async function viewReferral(view, id, gen) {
  state.queueSel = id;
  view.append(h('p.muted', { text: `Loading referral ${id}…` }));
  const r = await api(`/v1/referrals/${encodeURIComponent(id)}?images=1`);
  if (gen !== state.gen) return;
  // The referral names its candidate ({id, name}); the flight's passenger list
  // has the rest (born, nationality, document), and the confirmation dialog
  // chooses among its passengers.
  r._passengers = null;
  const manifestId = pick(r, 'manifest_id', 'encounter.manifest_id');
  if (present(manifestId)) {
    try {
      const m = await api(`/v1/manifests/${encodeURIComponent(manifestId)}`);
      r._passengers = listOf(pick(m, 'passengers') || m, 'passengers');
    } catch { /* shown without the details */ }
    if (gen !== state.gen) return;
  }
  const candId = pick(r, 'candidate.id', 'candidate.traveller_id');
  const pax = (r._passengers || []).find((p) => String(pick(p, 'traveller_id', 'id')) === String(candId));
  if (pax) r.candidate = { ...pax, ...r.candidate };
  state.referral = r;
  renderReferral(view, r);
}

const encounterOf = (r) => ((r.encounter && typeof r.encounter === 'object') ? r.encounter : r);

// The candidate is proposed only when the gate matched them (score at or
// above the threshold), or when they hold the document presented (opt-out,
// failure to acquire). After a no-match the service's candidate is merely the
// nearest passenger: the console neither names nor proposes them (an officer
// must never be one key away from recording someone else's document).
function matchedCandidate(r) {
  const enc = encounterOf(r);
  const score = pick(r, 'score') ?? pick(enc, 'score');
  const thr = pick(r, 'threshold') ?? pick(enc, 'threshold');
  const cand = pick(r, 'candidate');
  if (!cand || pick(r, 'reason') === 'no_match') return null;
  if (isNum(score) && isNum(thr) && score < thr) return null;
  return cand;
}
const byDocument = (r) => ['opt_out', 'failure_to_acquire'].includes(pick(r, 'reason'));

const photoSrc = (p) => imgSrc(typeof p === 'string' ? p : pick(p, 'image', 'base64'));

// A photo shown at its own resolution (never enlarged), with its size said.
function photoImg(src, alt, id) {
  const img = h('img.natural', { src, alt, id });
  const size = h('div.muted.size');
  img.addEventListener('load', () => { size.textContent = `${img.naturalWidth}×${img.naturalHeight} px, shown at its own resolution`; });
  return [img, size];
}

function captureFigure(r, { compact = false } = {}) {
  const enc = encounterOf(r);
  const face = pick(r, 'capture_face');
  const faceSrc = face ? imgSrc(pick(face, 'image')) : null;
  const whole = imgSrc(pick(r, 'capture', 'capture_base64', 'encounter.capture'));
  const fig = h('figure.photo', { id: compact ? 'confirm-capture' : 'capture' },
    h('figcaption', { text: faceSrc ? 'Live capture — face region' : 'Live capture' }));
  if (faceSrc || whole) {
    const [img, size] = photoImg(faceSrc || whole, `Live capture at gate ${pick(enc, 'gate') ?? ''}`);
    fig.append(img, size);
    if (faceSrc && whole && !compact) {
      let showingWhole = false;
      const toggle = h('button.btn-quiet.small', { type: 'button', id: 'capture-toggle' }, 'Show the whole frame');
      toggle.addEventListener('click', () => {
        showingWhole = !showingWhole;
        img.src = showingWhole ? whole : faceSrc;
        fig.classList.toggle('whole', showingWhole);
        toggle.textContent = showingWhole ? 'Show the face region' : 'Show the whole frame';
        put(fig.querySelector('figcaption'), showingWhole ? 'Live capture — whole frame' : 'Live capture — face region');
      });
      fig.append(toggle);
    }
  } else {
    fig.append(h('div.none', { text: pick(enc, 'outcome') === 'OPT_OUT' ? 'Opt-out: no photo was taken' : 'No capture kept (purged or not taken)' }));
  }
  fig.append(h('div.muted', { text: `Gate ${pick(enc, 'gate') ?? DASH} · ${fmtTime(pick(enc, 'at', 'created_at'))}` }));
  return fig;
}

function documentFigure(photos, who, emptyText, id = 'document-photos') {
  const srcs = listOf(photos || []).map(photoSrc).filter(Boolean);
  const fig = h('figure.photo', { id }, h('figcaption', { text: who ? `Document photo — ${who}` : 'Document photo' }));
  if (srcs.length) {
    fig.append(...photoImg(srcs[0], `Document photo of ${who || 'the passenger'}`));
    if (srcs.length > 1) fig.append(h('div.thumbs', null, srcs.slice(1).map((src, i) => h('img', { src, alt: `Document photo ${i + 2}` }))));
  } else {
    fig.append(h('div.none', { text: emptyText }));
  }
  return fig;
}

function renderReferral(view, r) {
  const enc = encounterOf(r);
  const cand = matchedCandidate(r);
  const wl = pick(r, 'watchlist', 'watchlist_hit') || null;
  const status = pick(r, 'status') || 'open';
  const reason = pick(r, 'reason');
  const outcome = pick(enc, 'outcome');
  const score = pick(enc, 'score');
  const thr = pick(enc, 'threshold');
  const decidable = status === 'open' || status === 'secondary';

  const figures = [captureFigure(r)];
  figures.push(documentFigure(cand ? pick(r, 'document_photos') : [], cand ? personName(cand) : '',
    cand ? 'No staged document photo'
      : 'No match: nobody is proposed. Confirm (c) to find the passenger whose document you hold; their document photo is shown there beside this capture.'));
  const wlPhotos = listOf(pick(wl || {}, 'photos') || []).map(photoSrc).filter(Boolean);
  if (wl) {
    const fig = h('figure.photo.alert', { id: 'watchlist-photo' }, h('figcaption', { text: `Watchlist photo — ${pick(wl, 'name') ?? `entry #${pick(wl, 'id') ?? '?'}`}` }));
    if (wlPhotos.length) {
      fig.append(...photoImg(wlPhotos[0], 'Watchlist photo'));
      if (wlPhotos.length > 1) fig.append(h('div.thumbs', null, wlPhotos.slice(1).map((src) => h('img', { src, alt: 'Watchlist photo' }))));
    } else fig.append(h('div.none', { text: 'The entry keeps no photo (removed, or added from templates only)' }));
    figures.push(fig);
  }

  // score vs threshold
  const passes = isNum(score) && isNum(thr) ? score >= thr : null;
  const scorePanel = h('div.panel', { id: 'score' },
    h('h2', { text: 'Face match (1:N, flight gallery)' }),
    h('div.meter', null,
      h('span.val', { text: fmtNum(score) }), ' ',
      passes === null ? h('span.muted', { text: 'not searched' })
        : passes ? h('span.badge.ok', { text: '✓ at or above threshold' }) : h('span.badge.bad', { text: '✗ below threshold: not a match' }),
      h('div.muted', { text: `threshold ${fmtNum(thr)}` })),
    isNum(score) ? scoreBar(score, thr) : null,
    facts([
      ['Quality', isNum(pick(enc, 'quality')) ? `${fmtNum(pick(enc, 'quality'), 1)} / 100` : DASH],
      ['Quality reasons', reasonsList(pick(enc, 'quality_reasons'))],
      ['Liveness', livenessText(pick(enc, 'liveness'))],
      ['Tries', pick(enc, 'tries')],
    ]));

  const wlScore = pick(wl || {}, 'score') ?? pick(enc, 'watchlist_score');
  const wlThr = pick(wl || {}, 'threshold');
  const wlPanel = wl || pick(enc, 'watchlist_id') ? h('div.panel.alert', { id: 'watchlist' },
    h('h2', { text: '⚑ Watchlist hit — for review, never acted on automatically' }),
    facts([
      ['Entry', wl ? `${pick(wl, 'name') ?? DASH} (#${pick(wl, 'id') ?? pick(enc, 'watchlist_id') ?? '?'})` : `#${pick(enc, 'watchlist_id')}`],
      ['Reason', pick(wl || {}, 'reason')],
      ['Score', isNum(wlThr) ? `${fmtNum(wlScore)} (threshold ${fmtNum(wlThr)}: ${wlScore >= wlThr ? 'at or above' : 'below'})` : fmtNum(wlScore)],
      ['Added by', pick(wl || {}, 'added_by')],
      ['Expires', pick(wl || {}, 'expires_at', 'expires') ? fmtTime(pick(wl, 'expires_at', 'expires')) : undefined],
    ])) : null;

  const doc = documentOf(cand);
  const candPanel = h('div.panel', { id: 'candidate' },
    h('h2', { text: !cand ? 'No passenger proposed' : byDocument(r) ? 'Document holder (the document presented at the gate)' : 'Matched passenger (from the manifest)' }),
    cand ? facts([
      ['Name', personName(cand)],
      ['Born', pick(cand, 'date_of_birth')],
      ['Nationality', pick(cand, 'nationality')],
      ['Sex', pick(cand, 'sex')],
      ['Category', pick(cand, 'category')],
      ['Document', [pick(doc, 'type'), pick(doc, 'number', 'doc_number'), pick(doc, 'issuing_state')].filter(present).join(' ') || DASH],
      ['Expiry', pick(doc, 'expiry')],
      ['Passenger status', passengerStatusText(pick(cand, 'status'))],
      ['History', docNumber(cand) || pick(cand, 'id') ? h('a', {
        href: '#/traveller', onclick: () => { state.travellerRef = String(docNumber(cand) || pick(cand, 'id')); },
        text: 'crossing history',
      }) : DASH],
    ]) : h('p', { text: isNum(score) && isNum(thr)
      ? `Nobody on the flight reached the threshold (best score ${fmtNum(score)} < ${fmtNum(thr)}). Check the document by hand; to record a crossing, confirm and find the passenger whose document you hold.`
      : 'Nobody was matched. Check the document by hand; to record a crossing, confirm and find the passenger whose document you hold.' }));

  const notes = listOf(pick(r, 'notes') || []);
  const decisionBar = h('div.decisions', { role: 'group', 'aria-label': 'Decision' },
    decisionButton('confirm', 'Confirm identity', 'c', decidable),
    decisionButton('secondary', 'Secondary', 's', decidable && status !== 'secondary'),
    decisionButton('close', 'Close', 'x', decidable),
    decisionButton('note', 'Add note', 'n', true),
    h('button.btn', { type: 'button', onclick: () => go('queue') }, 'Back to queue', h('kbd', { text: 'Esc' })));

  put(view,
    h('div.ref-head', null,
      h('h1', { tabindex: '-1', id: 'referral-title', text: `Referral #${pick(r, 'id') ?? '?'}` }),
      badge(REASONS, reason, true),
      outcome && OUTCOMES[outcome]?.[0] !== REASONS[reason]?.[0] ? h('span', null, 'gate outcome ', badge(OUTCOMES, outcome)) : null,
      badge(STATUSES, status),
      h('span.muted', { text: `waiting ${fmtAge(pick(r, 'created_at'))}` })),
    decisionBar,
    !decidable ? h('p.decided', { id: 'decided' },
      `Decided: ${STATUSES[status]?.[0] ?? status} by ${pick(r, 'officer') ?? DASH} at ${fmtTime(pick(r, 'decided_at'))}`,
      pick(r, 'resolution') ? ` — ${pick(r, 'resolution')}` : '') : null,
    h('div.photos', null, figures),
    h('div.panels', null, wlPanel, scorePanel, candPanel,
      h('div.panel', { id: 'notes' }, h('h2', { text: 'Notes' }),
        notes.length ? h('ul.notes', null, notes.map((n) => h('li', null,
          h('b', { text: pick(n, 'officer') ?? '?' }), ` · ${fmtTime(pick(n, 'at'))}: `, String(pick(n, 'note', 'text') ?? ''))))
          : h('p.muted', { text: 'No notes yet.' }))));
  $('#referral-title').focus();
}

const PASSENGER_STATUS = {
  crossed: ['✓ CROSSED', 'ok'],
  manual: ['✎ CROSSED (MANUAL)', 'ok'],
  referred: ['⚑ REFERRED', 'bad'],
  expected: ['… NOT CROSSED', 'info'],
};
const passengerStatusText = (st) => (PASSENGER_STATUS[st]?.[0] ?? (present(st) ? String(st).toUpperCase() : DASH));
const hasCrossed = (st) => st === 'crossed' || st === 'manual';

function scoreBar(score, thr) {
  const W = 320, H = 34, x = (v) => 10 + Math.min(Math.max(v, 0), 1) * (W - 20);
  const ok = isNum(thr) && score >= thr;
  return s('svg', { viewBox: `0 0 ${W} ${H + 14}`, class: 'scorebar', role: 'img', 'aria-label': `score ${fmtNum(score)} against threshold ${fmtNum(thr)}` },
    s('rect', { x: 10, y: 6, width: W - 20, height: H - 12, fill: '#fff', stroke: '#111' }),
    s('rect', { x: 10, y: 6, width: x(score) - 10, height: H - 12, fill: ok ? '#0b6b2e' : '#a3000b' }),
    isNum(thr) ? [s('line', { x1: x(thr), x2: x(thr), y1: 0, y2: H, stroke: '#111', 'stroke-width': 3, 'stroke-dasharray': '4 2' }),
      s('text', { x: x(thr), y: H + 12, 'text-anchor': 'middle' }, `threshold ${fmtNum(thr, 2)}`)] : null,
    s('text', { x: 10, y: H + 12 }, '0'), s('text', { x: W - 10, y: H + 12, 'text-anchor': 'end' }, '1'));
}

function reasonsList(v) {
  const list = Array.isArray(v) ? v : present(v) ? String(v).split(/[,\s]+/).filter(Boolean) : [];
  if (!list.length) return 'none';
  return h('ul.reasons', null, list.map((x) => h('li', { text: humanize(typeof x === 'object' ? pick(x, 'reason', 'name', 'code') ?? JSON.stringify(x) : x) })));
}

function livenessText(v) {
  if (!isNum(v)) return 'not measured';
  const min = pick(state, 'policy.liveness_min');
  return isNum(min) ? `${fmtNum(v)} (${v >= min ? 'live' : 'suspect'}, min ${fmtNum(min)})` : fmtNum(v);
}

function decisionButton(kind, label, key, enabled) {
  return h(`button.${kind}`, {
    type: 'button', id: `decide-${kind}`, disabled: !enabled, 'aria-keyshortcuts': key,
    onclick: () => startDecision(kind),
  }, label, h('kbd', { text: key }));
}

// A decision always goes through a small dialog (Enter sends, Esc cancels), so a
// stray key press at a busy desk never decides anything on its own. Confirming
// asks more: the officer picks the passenger, sees their document photo beside
// the live capture, and types the last characters of the document number.
async function startDecision(kind) {
  const r = state.referral;
  if (!r || state.screen !== 'referral') return;
  const btn = $(`#decide-${kind}`);
  if (btn && btn.disabled) return;
  const dlg = $('#dialog');
  if (dlg.open) return;
  const titles = {
    confirm: 'Confirm identity — record a manual crossing',
    secondary: 'Send to secondary inspection',
    close: 'Close the referral (no crossing)',
    note: 'Add a note',
  };
  const form = h('form', { method: 'dialog', id: `decision-${kind}` });
  const noteInput = kind === 'note'
    ? h('textarea', { id: 'decision-note', rows: 3, required: true })
    : h('input', { type: 'text', id: 'decision-note', autocomplete: 'off' });
  const err = h('p.error', { role: 'alert', id: 'decision-error' });
  const chooser = kind === 'confirm' ? await confirmChooser(r) : null;
  if (state.referral !== r || state.screen !== 'referral') return;
  const sendBtn = h('button.btn-primary', { type: 'submit', id: 'decision-send' },
    { confirm: 'Record crossing ', note: 'Add note ' }[kind] || 'Record decision ', h('kbd', { text: 'Enter' }));
  append(form, [
    h('h2', { id: 'dialog-title', text: titles[kind] }),
    chooser ? chooser.el : null,
    h('label.field', { for: 'decision-note' }, kind === 'note' ? 'Note' : 'Note (optional)'),
    noteInput, err,
    h('div.actions', null,
      h('button.btn', { type: 'button', value: 'cancel', onclick: () => dlg.close() }, 'Cancel ', h('kbd', { text: 'Esc' })),
      sendBtn)]);
  if (chooser) chooser.onChange = (ready) => { sendBtn.disabled = !ready; if (ready) err.textContent = ''; };
  if (chooser) sendBtn.disabled = !chooser.ready();
  let sending = false;
  const send = async () => {
    if (sending) return;
    const body = { decision: kind };
    const note = noteInput.value.trim();
    if (note) body.note = note;
    if (kind === 'note' && !note) { err.textContent = 'Write the note first.'; return; }
    if (chooser) {
      const problem = chooser.problem();
      if (problem) { err.textContent = problem; chooser.focusProblem(); return; }
      body.traveller_id = chooser.travellerId();
    }
    sending = true;
    sendBtn.disabled = true;
    try {
      const out = await api(`/v1/referrals/${encodeURIComponent(r.id)}/decision`, { method: 'POST', body });
      dlg.close();
      const who = pick(out, 'officer') || state.me.name;
      const msgs = {
        confirm: `Referral #${r.id}: identity confirmed by ${who} (${chooser?.chosenName() ?? 'traveller'}); manual crossing recorded.`,
        secondary: `Referral #${r.id}: sent to secondary inspection by ${who}.`,
        close: `Referral #${r.id}: closed by ${who}.`,
        note: `Note added to referral #${r.id} by ${who}.`,
      };
      say(msgs[kind]);
      pollQueue(); // the summary changed: the list follows (the queue screen also forces it)
      if (kind === 'note') go('referral', r.id);
      else go('queue');
    } catch (e) {
      err.textContent = e.message;
      sending = false;
      sendBtn.disabled = chooser ? !chooser.ready() : false;
    }
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); send(); });
  form.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter' || e.defaultPrevented) return;
    const t = e.target;
    if (t.tagName === 'TEXTAREA') { if (e.ctrlKey || e.metaKey) { e.preventDefault(); send(); } return; }
    if (t.id === 'traveller-filter' && chooser) { e.preventDefault(); if (chooser.chosen()) $('#confirm-digits').focus(); else send(); return; }
    // Enter in a one-line field sends (and, while something is missing, says what)
    if (t.tagName === 'INPUT') { e.preventDefault(); send(); }
  });
  put(dlg, form);
  dlg.showModal();
  (chooser ? chooser.focusEl : noteInput).focus();
}

// Comparison text: lower case, no accents, single spaces.
const fold = (v) => String(v ?? '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/\s+/g, ' ').trim();
const CHECK_CHARS = 4;
// The part of a document number the officer must type from the document itself
// (its last characters); the screen never shows them.
const docTail = (n) => { const c = String(n || '').replace(/[\s<-]/g, '').toUpperCase(); return c.slice(-Math.min(CHECK_CHARS, c.length)); };
const maskDoc = (n) => { const c = String(n || ''); const k = docTail(c).length; return k ? `${c.slice(0, c.length - k)}${'•'.repeat(k)}` : ''; };
const CHOOSER_LIMIT = 40;

// The confirmation: the flight's passengers who have not crossed yet (crossed
// ones are listed, but cannot be chosen), nobody chosen unless the gate
// matched them; the chosen passenger's document photo beside the live
// capture; and the last characters of their document number typed from the
// document in hand. The decision can be sent only when all of that agrees.
async function confirmChooser(r) {
  let passengers = r._passengers || [];
  const manifestId = pick(encounterOf(r), 'manifest_id') ?? pick(r, 'manifest_id');
  if (!r._passengers && present(manifestId)) {
    try {
      const m = await api(`/v1/manifests/${encodeURIComponent(manifestId)}`);
      passengers = listOf(pick(m, 'passengers') || m, 'passengers');
    } catch { /* no list: nothing can be chosen, and the dialog says so */ }
  }
  const match = matchedCandidate(r);
  const matchId = match ? String(pick(match, 'id', 'traveller_id')) : null;
  const people = [];
  const seen = new Set();
  for (const p of passengers) {
    const id = pick(p, 'traveller_id', 'id');
    if (!present(id) || seen.has(String(id))) continue;
    seen.add(String(id));
    const doc = documentOf(p);
    people.push({
      id: String(id), name: personName(p), doc: docNumber(p) || '', docType: pick(doc, 'type') || '', issuer: pick(doc, 'issuing_state') || '',
      dob: pick(p, 'date_of_birth') || '', nat: pick(p, 'nationality') || '', status: pick(p, 'status') || '',
      crossed: hasCrossed(pick(p, 'status')), isMatch: String(id) === matchId,
    });
  }
  // selectable first (the gate's match on top), crossed last
  people.sort((a, b) => (a.crossed - b.crossed) || (b.isMatch - a.isMatch) || a.name.localeCompare(b.name));
  const open = people.filter((p) => !p.crossed).length;
  const filter = h('input', { type: 'search', id: 'traveller-filter', placeholder: 'Name or document number…', autocomplete: 'off', spellcheck: 'false' });
  const box = h('div.choices', { role: 'radiogroup', 'aria-label': 'Passengers', id: 'traveller-choices' });
  const more = h('p.muted', { id: 'traveller-more' });
  const digits = h('input', { type: 'text', id: 'confirm-digits', autocomplete: 'off', spellcheck: 'false', maxlength: 12, inputmode: 'text', disabled: true });
  const digitsHint = h('span.muted', { id: 'confirm-digits-hint' });
  const chosenFacts = h('div', { id: 'confirm-chosen' });
  const docFig = h('div', { id: 'confirm-document' });
  let chosen = null;
  const api_ = { onChange: null };
  const photoCache = new Map();

  const labels = new Map();
  for (const p of people) {
    const radio = h('input', { type: 'radio', name: 'traveller', value: p.id, id: `t-${p.id}`, disabled: p.crossed });
    const label = h(`label${p.crossed ? '.crossed' : ''}`, { for: `t-${p.id}`, dataset: { id: p.id, search: fold(`${p.name} ${p.doc} ${p.id}`) } }, radio,
      h('span', null, h('b', { text: p.name || `traveller ${p.id}` }),
        ` · ${p.doc ? maskDoc(p.doc) : 'no document'}`, p.dob ? ` · born ${p.dob}` : '', p.nat ? ` · ${p.nat}` : '',
        p.crossed ? h('span.badge.ok', { text: `${passengerStatusText(p.status)} — cannot be chosen` })
          : p.isMatch ? h('span.badge.info', { text: byDocument(r) ? 'document presented at the gate' : 'matched at the gate' }) : null));
    radio.addEventListener('change', () => { if (radio.checked) choose(p); });
    radio.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); if (!radio.checked) { radio.checked = true; choose(p); } digits.focus(); } });
    labels.set(p.id, label);
    box.append(label);
  }

  function applyFilter() {
    const q = fold(filter.value);
    let shown = 0, hidden = 0;
    for (const p of people) {
      const l = labels.get(p.id);
      const hit = !q || l.dataset.search.includes(q) || (q.length >= 3 && fold(p.doc.replace(/[\s<-]/g, '')).includes(q.replace(/[\s<-]/g, '')));
      const show = hit && shown < CHOOSER_LIMIT;
      l.hidden = !show;
      if (show) shown++; else if (hit) hidden++;
    }
    if (chosen && labels.get(chosen.id).hidden) { // what was chosen no longer fits what is typed
      $('input', labels.get(chosen.id)).checked = false;
      unchoose();
    }
    more.textContent = hidden ? `${hidden} more match — type more of the name or document number.` : shown ? '' : 'No passenger of this flight matches.';
    // One selectable passenger left for what was typed: that is the choice.
    const selectable = people.filter((p) => !p.crossed && !labels.get(p.id).hidden);
    if (q.length >= 3 && selectable.length === 1 && hidden === 0 && (!chosen || chosen.id !== selectable[0].id)) {
      $('input', labels.get(selectable[0].id)).checked = true;
      choose(selectable[0]);
    }
  }
  filter.addEventListener('input', applyFilter);
  filter.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      const first = (chosen && !labels.get(chosen.id).hidden ? $('input', labels.get(chosen.id)) : null)
        || [...box.querySelectorAll('label:not([hidden]) input:not([disabled])')][0];
      first?.focus();
    }
  });

  async function choose(p) {
    chosen = p;
    digits.disabled = false;
    digits.value = '';
    const tail = docTail(p.doc);
    digitsHint.textContent = p.doc ? `the last ${tail.length} characters of ${p.name}'s ${p.docType === 'P' ? 'passport' : 'document'} number${p.issuer ? ` (${p.issuer})` : ''}, read from the document in hand` : 'this passenger has no document number on the manifest';
    put(chosenFacts, facts([
      ['Passenger', p.name || `traveller ${p.id}`],
      ['Born', p.dob || DASH],
      ['Nationality', p.nat || DASH],
      ['Document', p.doc ? `${p.docType} ${maskDoc(p.doc)} ${p.issuer}`.trim() : DASH],
      ['Status', passengerStatusText(p.status)],
    ]));
    put(docFig, h('p.muted', { text: 'Loading the document photo…' }));
    update();
    let photos = photoCache.get(p.id);
    if (!photos) {
      try {
        const out = await api(`/v1/referrals/${encodeURIComponent(r.id)}/document-photos?traveller_id=${encodeURIComponent(p.id)}`);
        photos = listOf(pick(out, 'photos') || [], 'photos');
      } catch (e) {
        photos = { error: e.message };
      }
      photoCache.set(p.id, photos);
    }
    if (chosen !== p) return;
    put(docFig, photos.error ? h('p.error', { text: `Document photo not available: ${photos.error}` })
      : documentFigure(photos, p.name, 'No staged document photo for this passenger', 'confirm-document-photo'));
  }

  function unchoose() {
    chosen = null;
    digits.value = '';
    digits.disabled = true;
    digitsHint.textContent = '';
    put(chosenFacts);
    put(docFig, h('div.none', { text: 'Choose a passenger: their document photo is shown here, beside the live capture.' }));
    update();
  }

  function problem() {
    if (!people.length) return 'The flight\'s passenger list is not available: nobody can be chosen. Close the referral or send it to secondary.';
    if (!chosen) return 'Choose the passenger whose document you hold.';
    if (chosen.crossed) return `${chosen.name} has already crossed and cannot be chosen.`;
    if (!chosen.doc) return `${chosen.name} has no document number on the manifest: this cannot be confirmed here.`;
    const typed = digits.value.replace(/[\s<-]/g, '').toUpperCase();
    if (!typed) return `Type the last ${docTail(chosen.doc).length} characters of the document number, from the document in hand.`;
    if (typed !== docTail(chosen.doc)) return `That does not end ${chosen.name}'s document number. Check the document and the passenger chosen.`;
    return null;
  }
  const update = () => api_.onChange && api_.onChange(!problem());
  digits.addEventListener('input', update);

  const el = h('div.confirm', null,
    h('div.compare', null, captureFigure(r, { compact: true }), docFig),
    h('label.field', { for: 'traveller-filter' }, 'Find the passenger whose document you hold'),
    filter,
    h('p.muted', { id: 'traveller-counts', text: `${open} of ${people.length} passengers not yet crossed${people.length > open ? `; ${people.length - open} crossed (listed, cannot be chosen)` : ''}.` }),
    people.length ? box : h('p.error', { text: 'The flight\'s passenger list is not available: nobody can be chosen.' }),
    more,
    chosenFacts,
    h('label.field', { for: 'confirm-digits' }, 'Last characters of the document number ', digitsHint),
    digits);
  unchoose();
  if (matchId) {
    const p = people.find((x) => x.id === matchId && !x.crossed);
    if (p) { $('input', labels.get(p.id)).checked = true; choose(p); }
  }
  applyFilter();
  return Object.assign(api_, {
    el,
    focusEl: filter,
    ready: () => !problem(),
    problem,
    focusProblem: () => (chosen ? digits : filter).focus(),
    travellerId: () => Number(chosen.id),
    chosenName: () => chosen?.name,
    chosen: () => chosen,
  });
}

// ---- traveller history ---------------------------------------------------------------

// By document number or id (its crossings at once), or by name: names are
// sealed in the store and found through a keyed blind index, so a name matches
// whole (case and spacing aside), never by its first letters.
function viewTraveller(view, arg, gen) {
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

// "FG101" from carrier FG and flight 101 or FG101 (a manifest may give either).
function flightLabel(carrier, flight) {
  const c = present(carrier) ? String(carrier).trim() : '';
  const f = present(flight) ? String(flight).trim() : '';
  if (!f) return c;
  return c && !f.toUpperCase().startsWith(c.toUpperCase()) ? `${c}${f}` : f;
}

function flightName(c) {
  const f = pick(c, 'flight');
  const name = f && typeof f === 'object' ? flightLabel(pick(f, 'carrier'), pick(f, 'flight')) : flightLabel(pick(c, 'carrier'), f);
  return name || (pick(c, 'manifest_id') ? `manifest ${pick(c, 'manifest_id')}` : DASH);
}

// ---- flight board --------------------------------------------------------------------------

function viewFlights(view, arg, gen) {
  const board = h('div', { id: 'flight-board' });
  const detail = h('div', { id: 'flight-detail' });
  view.append(heading('Flight board', h('span.muted', { id: 'board-updated' })), board, detail);
  let openId = arg || null;
  async function load() {
    try {
      const data = await api('/v1/manifests');
      if (gen !== state.gen) return;
      renderBoard(board, listOf(data, 'manifests'), (id) => { openId = id; showDetail(); });
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
      const pax = listOf(pick(m, 'passengers') || [], 'passengers');
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
  for (const p of pax) { const k = pick(p, 'status') || 'unknown'; counts[k] = (counts[k] || 0) + 1; }
  const q = h('input', { type: 'search', id: 'pax-filter', value: st.q, placeholder: 'name or document number', autocomplete: 'off', spellcheck: 'false' });
  const sel = h('select', { id: 'pax-status' },
    h('option', { value: '', text: `every status (${pax.length})` }),
    Object.keys(PASSENGER_STATUS).map((k) => h('option', { value: k, text: `${passengerStatusText(k)} (${counts[k] || 0})` })));
  sel.value = st.status;
  const body = h('div', { id: 'pax-body' });
  const title = h('h2', { text: `Passengers of ${flightLabel(pick(m, 'carrier'), pick(m, 'flight'))} (${pax.length})` });
  const draw = () => {
    const f = fold(st.q);
    const rows = pax.filter((p) => (!st.status || pick(p, 'status') === st.status)
      && (!f || fold(`${personName(p)} ${docNumber(p) ?? ''} ${pick(p, 'traveller_id') ?? ''}`).includes(f)));
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
        const pst = pick(p, 'status');
        const probs = pick(p, 'problems');
        return h('tr', { dataset: { id: String(pick(p, 'traveller_id') ?? '') } },
          h('td', { text: personName(p) || DASH }), h('td.mono', { text: docNumber(p) ?? DASH }),
          h('td', { text: pick(p, 'nationality') ?? DASH }), h('td', { text: pick(p, 'category') ?? DASH }),
          h('td.num', { text: fmtNum(pick(p, 'enrolled', 'templates')) }),
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
function problemsText(probs) {
  if (!Array.isArray(probs)) return present(probs) ? String(probs) : DASH;
  const text = (code) => PROBLEMS[code] || humanize(code);
  return probs.map((x) => (typeof x === 'object' && x ? (pick(x, 'detail', 'message') || text(pick(x, 'code', 'problem', 'reason') ?? '')) : text(String(x)))).filter(Boolean).join('; ') || DASH;
}

function renderBoard(board, list, open) {
  if (!list.length) { put(board, h('div.empty', { text: 'No manifests staged.' })); return; }
  put(board, h('table.grid', { id: 'board-table' },
    h('thead', null, h('tr', null,
      ['Flight', 'Port', 'Scheduled', 'Status'].map((c) => h('th', { text: c })),
      ['Passengers', 'Boarded', 'Referred', 'Pending'].map((c) => h('th.num', { text: c })),
      h('th', { text: 'Progress' }))),
    h('tbody', null, list.map((m) => {
      const total = Number(pick(m, 'passengers', 'passenger_count') ?? 0) || (Array.isArray(m.passengers) ? m.passengers.length : 0);
      // passengers' statuses are distinct: expected, crossed (biometric), manual, referred
      const crossed = Number(pick(m, 'crossed', 'boarded') ?? 0) + Number(pick(m, 'manual') ?? 0);
      const referred = Number(pick(m, 'referred') ?? 0);
      const pending = pick(m, 'expected', 'pending') ?? Math.max(0, total - crossed - referred);
      const dir = pick(m, 'direction');
      const st = pick(m, 'status');
      const id = pick(m, 'id', 'manifest_id');
      const pct = (v) => `${total ? Math.min(100, (v / total) * 100) : 0}%`;
      const tr = h('tr', { dataset: { id: String(id) }, tabindex: '0', onclick: () => open(id), onkeydown: (e) => { if (e.key === 'Enter') open(id); } },
        h('td', null, h('b', { text: flightLabel(pick(m, 'carrier'), pick(m, 'flight')) || `#${id}` }), ' ',
          h(`span.badge.${dir === 'exit' ? 'warn' : 'info'}`, { text: dir === 'exit' ? '↑ EXIT' : dir === 'entry' ? '↓ ENTRY' : String(dir ?? DASH) })),
        h('td', { text: pick(m, 'port') ?? DASH }),
        h('td', { text: fmtTime(pick(m, 'scheduled', 'scheduled_at')) }),
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

// ---- overstays -------------------------------------------------------------------------------

function viewOverstays(view, arg, gen) {
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

// ---- report --------------------------------------------------------------------------------------

const OUTCOME_COLOURS = { MATCHED: '#0b6b2e', NO_MATCH: '#a3000b', FAILURE_TO_ACQUIRE: '#7a4a00', LIVENESS_SUSPECT: '#6b0b5a', OPT_OUT: '#0b3d91' };

function viewReport(view, arg, gen) {
  const date = h('input', { type: 'date', id: 'report-date', value: state.reportDate || todayUTC() });
  const port = h('input', { type: 'text', id: 'report-port', value: state.reportPort, placeholder: 'all', size: 6 });
  const out = h('div', { id: 'report-body' });
  const form = h('form.toolbar', null, h('label', null, 'Date (UTC)', date), h('label', null, 'Port', port),
    h('button.btn-primary', { type: 'submit' }, 'Show'));
  form.addEventListener('submit', (e) => { e.preventDefault(); load(); });
  view.append(heading('Daily report'), form, out);
  async function load() {
    state.reportDate = date.value || todayUTC();
    state.reportPort = port.value.trim();
    put(out, h('p.muted', { text: 'Loading…' }));
    try {
      const q = state.reportPort ? `?port=${encodeURIComponent(state.reportPort)}` : '';
      const rep = await api(`/v1/reports/${encodeURIComponent(state.reportDate)}${q}`);
      if (gen !== state.gen) return;
      renderReport(out, rep || {});
    } catch (e) {
      if (gen === state.gen) put(out, errorBox(e));
    }
  }
  load();
}

// The figures the issue names. The library's report has counts at the top,
// rates as {value, numerator, denominator, iso_19795_1} under "rates", and
// {median, p90, n} under "transaction_ms"; other spellings are tried too, and
// every numeric figure is listed below the charts, so nothing is hidden.
const rateOf = (rep, name) => {
  const r = pick(rep, `rates.${name}`, name);
  return r && typeof r === 'object' ? r : isNum(r) ? { value: r } : null;
};
const sumOf = (o) => (o && typeof o === 'object' ? Object.values(o).filter(isNum).reduce((a, b) => a + b, 0) : undefined);
const REPORT_TILES = [
  ['Encounters', (r) => pick(r, 'encounters', 'encounters_total'), fmtNum],
  ['Capture rate', (r) => rateOf(r, 'capture_rate'), fmtRate],
  ['Match rate', (r) => rateOf(r, 'match_rate'), fmtRate],
  ['Failure to acquire (FTAR)', (r) => rateOf(r, 'ftar') || rateOf(r, 'failure_to_acquire_rate'), fmtRate],
  ['Opt-outs', (r) => pick(r, 'opt_outs'), fmtNum],
  ['Watchlist hits', (r) => pick(r, 'watchlist_hits'), fmtNum],
  ['Referrals', (r) => (isNum(r.referrals) ? r.referrals : sumOf(pick(r, 'referrals', 'referrals_by_reason'))), fmtNum],
  ['Median transaction', (r) => pick(r, 'transaction_ms.median', 'median_transaction_ms'), (v) => (isNum(v) ? `${fmtNum(v, 1)} ms` : fmtNum(v))],
  ['Crossings', (r) => pick(r, 'crossings.total'), fmtNum],
  ['Manual crossings', (r) => pick(r, 'crossings.manual'), fmtNum],
];

function findCounts(rep, names, keys) {
  for (const n of names) {
    const v = pick(rep, n);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v;
  }
  // any object whose members are mostly the expected keys
  for (const v of Object.values(rep)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const k = Object.keys(v);
      if (k.length && k.filter((x) => keys.includes(x)).length >= Math.min(2, k.length)) return v;
    }
  }
  return null;
}

function renderReport(out, rep) {
  const tiles = h('div.tiles', { id: 'report-tiles' });
  for (const [label, get, fmt] of REPORT_TILES) {
    const v = get(rep);
    const rate = v && typeof v === 'object' ? v : null;
    const value = rate ? rate.value : v;
    tiles.append(h('div.tile', { title: rate?.iso_19795_1 || null }, h('div.k', { text: label }),
      h('div.v', { text: value === undefined || value === null ? DASH : fmt(value) }),
      rate && isNum(rate.denominator) ? h('div.muted', { text: `${rate.numerator} of ${rate.denominator}` }) : null));
  }
  const byOutcome = findCounts(rep, ['outcomes', 'by_outcome', 'encounters_by_outcome'], Object.keys(OUTCOMES));
  const byReason = findCounts(rep, ['referrals', 'referrals_by_reason', 'by_reason'], Object.keys(REASONS));
  const cr = pick(rep, 'crossings');
  const crossingsBy = cr && typeof cr === 'object' ? Object.fromEntries(Object.entries(cr).filter(([k, v]) => k !== 'total' && isNum(v))) : null;
  const charts = h('div.charts', null,
    h('div.chart', { id: 'chart-outcomes' }, h('h2', { text: 'Encounters by outcome' }),
      byOutcome ? barChart(byOutcome, (k) => OUTCOMES[k]?.[0] ?? k, (k) => OUTCOME_COLOURS[k] || '#444', 'Encounters by outcome') : h('p.muted', { text: 'No figures.' })),
    h('div.chart', { id: 'chart-reasons' }, h('h2', { text: 'Referrals by reason' }),
      byReason ? barChart(byReason, (k) => REASONS[k]?.[0] ?? k, (k) => (REASONS[k]?.[1] === 'bad' ? '#a3000b' : REASONS[k]?.[1] === 'warn' ? '#7a4a00' : '#0b3d91'), 'Referrals by reason') : h('p.muted', { text: 'No figures.' })),
    crossingsBy ? h('div.chart', { id: 'chart-crossings' }, h('h2', { text: 'Crossings recorded' }),
      barChart(crossingsBy, (k) => ({ biometric: '◉ biometric', manual: '✎ manual', entry: '↓ entry', exit: '↑ exit' }[k] ?? k), (k) => (k === 'manual' ? '#7a4a00' : '#0b3d91'), 'Crossings recorded')) : null);
  put(out, tiles, charts, renderGroups(rep.groups), h('h2', { text: 'All figures' }), figuresTable(rep));
}

// Every figure of the report, each with a label a person reads (not the
// service's member names): rates with their numerator and denominator and
// the ISO/IEC 19795-1 term, counts by outcome, reason and crossing method.
const FIGURE_LABELS = {
  date: 'Date (UTC)', port: 'Port of entry', encounters: 'Encounters', attempted: 'Encounters with a capture attempted',
  with_face: 'Captures with a usable face', opt_outs: 'Opt-outs', watchlist_hits: 'Watchlist hits',
  failures_to_acquire: 'Failures to acquire', audit_anchor: 'Audit anchor (chain head when the report ran)',
  'transaction_ms.median': 'Transaction time, median', 'transaction_ms.p90': 'Transaction time, 90th percentile',
  'transaction_ms.n': 'Transactions timed',
};
const RATE_LABELS = { capture_rate: 'Capture rate', match_rate: 'Match rate', ftar: 'Failure-to-acquire rate (FTAR)' };
const CROSSING_LABELS = { biometric: 'biometric', manual: 'manual (officer)', entry: 'entries', exit: 'exits', total: 'total' };

function figuresTable(rep) {
  const rows = [];
  const add = (label, value, cls) => rows.push([label, value, cls]);
  for (const [k, v] of Object.entries(rep || {})) {
    if (k === 'groups') continue; // its own section (renderGroups)
    if (k === 'rates' && v && typeof v === 'object') {
      for (const [rk, rv] of Object.entries(v)) {
        const r = rv && typeof rv === 'object' ? rv : { value: rv };
        add(RATE_LABELS[rk] || humanize(rk), isNum(r.value) ? `${fmtRate(r.value)}${isNum(r.denominator) ? ` (${r.numerator} of ${r.denominator})` : ''}` : `${DASH} (none attempted)`, 'num');
        if (r.iso_19795_1) rows[rows.length - 1].push(r.iso_19795_1);
      }
    } else if (k === 'outcomes' && v && typeof v === 'object') {
      for (const [ok_, n] of Object.entries(v)) add(`Encounters ${OUTCOMES[ok_]?.[0] ?? humanize(ok_)}`, fmtNum(n), 'num');
    } else if (k === 'referrals' && v && typeof v === 'object') {
      for (const [rk, n] of Object.entries(v)) add(`Referrals ${REASONS[rk]?.[0] ?? humanize(rk)}`, fmtNum(n), 'num');
    } else if (k === 'crossings' && v && typeof v === 'object') {
      for (const [ck, n] of Object.entries(v)) add(`Crossings, ${CROSSING_LABELS[ck] || humanize(ck)}`, fmtNum(n), 'num');
    } else if (k === 'transaction_ms' && v && typeof v === 'object') {
      for (const [tk, n] of Object.entries(v)) add(FIGURE_LABELS[`transaction_ms.${tk}`] || `Transaction ${humanize(tk)}`, tk === 'n' ? fmtNum(n) : isNum(n) ? `${fmtNum(n, 1)} ms` : DASH, 'num');
    } else if (v !== null && typeof v === 'object') {
      for (const [sk, sv] of Object.entries(v)) if (!(sv && typeof sv === 'object')) add(`${FIGURE_LABELS[k] || humanize(k)}: ${humanize(sk)}`, present(sv) ? String(sv) : DASH, isNum(sv) ? 'num' : '');
    } else if (k === 'audit_anchor') {
      add(FIGURE_LABELS[k], present(v) ? String(v).replace(/^(\d+):([0-9a-f]{12})[0-9a-f]+$/i, '#$1, hash $2…') : DASH, '');
    } else {
      add(FIGURE_LABELS[k] || humanize(k), k === 'port' && !present(v) ? 'all ports' : isNum(v) ? fmtNum(v) : present(v) ? String(v) : DASH, isNum(v) ? 'num' : '');
    }
  }
  return h('table.grid.figures', { id: 'report-figures' }, h('tbody', null, rows.map(([label, value, cls, term]) => h('tr', null,
    h('th', { scope: 'row', text: label }), h(cls === 'num' ? 'td.num' : 'td', { text: value, title: term || null })))));
}

// Error rates per traveller group (docs/records.md): one table per dimension,
// each rate with its 95% Wilson interval. The server withholds small groups
// (and says how many); the console shows only what it is sent.
const GROUP_DIMS = [['sex', 'By sex'], ['age_band', 'By age band'], ['nationality', 'By nationality']];
const GROUP_RATES = [['capture_rate', 'Capture rate'], ['ftar', 'FTAR'], ['fnir', 'FNIR'], ['watchlist_false_hit_rate', 'Watchlist false hits']];
const fmtCI = (r) => (r && isNum(r.value) && Array.isArray(r.ci95)
  ? `${fmtRate(r.value)} (${(r.ci95[0] * 100).toFixed(1)}–${(r.ci95[1] * 100).toFixed(1)} %)` : DASH);

function renderGroups(g) {
  if (!g || typeof g !== 'object') return null;
  const sec = h('section', { id: 'report-groups' }, h('h2', { text: 'Error rates per traveller group' }),
    h('p.muted', { text: `95% Wilson intervals. ${g.attributed_encounters ?? DASH} encounters attributed to a manifest traveller, ${g.unattributed_encounters ?? DASH} not. Groups of fewer than ${g.min_travellers ?? DASH} travellers are withheld.` }));
  for (const [dim, title] of GROUP_DIMS) {
    const d = g[dim] || {};
    const rows = Array.isArray(d.groups) ? d.groups : [];
    sec.append(h('h3', { text: title }));
    if (rows.length) {
      sec.append(h('table.grid', { id: `groups-${dim}` },
        h('thead', null, h('tr', null, h('th', { text: 'Group' }), h('th', { text: 'Travellers' }), h('th', { text: 'Encounters' }),
          ...GROUP_RATES.map(([, label]) => h('th', { text: label })))),
        h('tbody', null, rows.map((r) => h('tr', { 'data-group': r.group },
          h('td', { text: r.group }), h('td.num', { text: fmtNum(r.travellers) }), h('td.num', { text: fmtNum(r.encounters) }),
          ...GROUP_RATES.map(([k]) => {
            const rate = r.rates?.[k];
            return h('td.num', { text: fmtCI(rate), title: rate && isNum(rate.denominator) ? `${rate.numerator} of ${rate.denominator}` : null });
          }))))));
    }
    const w = d.withheld_groups || 0;
    if (w || !rows.length) {
      sec.append(h('p.muted.withheld', { 'data-dim': dim, text: w ? `${w} group${w === 1 ? '' : 's'} withheld: too few travellers.` : 'No attributed encounters.' }));
    }
  }
  return sec;
}

// Horizontal bar chart as inline SVG; each bar labelled with its name and value.
function barChart(counts, labelOf, colourOf, title) {
  const entries = Object.entries(counts).filter(([, v]) => isNum(v) || isNum(v?.count));
  const vals = entries.map(([k, v]) => [k, isNum(v) ? v : v.count]);
  const max = Math.max(1, ...vals.map(([, v]) => v));
  const rowH = 30, labelW = 190, W = 520, barW = W - labelW - 60;
  const H = Math.max(rowH, vals.length * rowH) + 6;
  return s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${title}: ${vals.map(([k, v]) => `${labelOf(k)} ${v}`).join(', ')}` },
    s('title', null, title),
    vals.map(([k, v], i) => {
      const y = 3 + i * rowH;
      const w = Math.max(v > 0 ? 2 : 0, (v / max) * barW);
      return s('g', null,
        s('text', { x: labelW - 8, y: y + rowH / 2 + 4, 'text-anchor': 'end' }, labelOf(k)),
        s('rect', { x: labelW, y: y + 4, width: w, height: rowH - 10, fill: colourOf(k) }),
        s('text', { x: labelW + w + 6, y: y + rowH / 2 + 4, 'font-weight': 700 }, String(v)));
    }),
    s('line', { x1: labelW, x2: labelW, y1: 0, y2: H, stroke: '#111' }));
}

// ---- audit -----------------------------------------------------------------------------------------

const AUDIT_PAGE = 50;

function viewAudit(view, arg, gen) {
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
      head = Number(pick(v, 'head_seq', 'events') ?? 0);
      const ok = v && v.ok === true;
      banner.className = `chain ${ok ? 'ok' : 'bad'}`;
      banner.dataset.ok = ok ? 'true' : 'false';
      put(banner, h('span.mark', { text: ok ? '✓' : '✗' }), h('div', null,
        h('div.title', { text: ok ? 'Audit chain verified — intact' : 'AUDIT CHAIN BROKEN' }),
        h('div.detail', null, ok
          ? `${fmtNum(pick(v, 'events'))} events checked · head #${fmtNum(pick(v, 'head_seq'))} · `
          : `first bad event #${pick(v, 'bad_seq') ?? '?'}: ${pick(v, 'problem') ?? 'unknown problem'} · `,
        h('span.mono', { text: `head hash ${String(pick(v, 'head_hash') ?? DASH)}` }),
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
      const ev = listOf(data, 'events');
      put(list, ev.length ? h('table.grid.audit', { id: 'audit-table' },
        h('thead', null, h('tr', null, ['#', 'When', 'Who', 'Action', 'Object', 'Detail'].map((c) => h('th', { text: c })))),
        h('tbody', null, ev.slice().reverse().map((e) => h('tr', null,
          h('td.num', { text: pick(e, 'seq') ?? DASH }),
          h('td.when', { text: fmtTime(pick(e, 'at')) }),
          h('td', null, h('div', { text: pick(e, 'actor') ?? DASH }), h('div.muted', { text: pick(e, 'role') ?? '' })),
          h('td', null, h('b', { text: pick(e, 'action') ?? DASH }), pick(e, 'purpose') ? h('div.muted', { text: pick(e, 'purpose') }) : null),
          h('td', { text: pick(e, 'object') ?? DASH }),
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

// ---- policy and tokens ------------------------------------------------------------------------

async function viewPolicy(view, arg, gen) {
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

async function viewTokens(view, arg, gen) {
  view.append(heading('API tokens'), h('p.muted', { text: 'Create and revoke with: facegate token create --role ROLE --name NAME. The secret is shown once, when created.' }));
  const data = await api('/v1/tokens');
  if (gen !== state.gen) return;
  const list = listOf(data, 'tokens');
  view.append(list.length ? genericTable(list) : h('div.empty', { text: 'No tokens.' }));
}

// ---- watchlist (supervisor) -------------------------------------------------------

// The entries every gate capture is screened against, added and removed by a
// supervisor: photos are read in the browser and sent as base64 (the service
// checks each face's quality and keeps the photo sealed); removing deletes the
// entry's templates, and every server stops screening against it.
async function viewWatchlist(view, arg, gen) {
  view.append(heading('Watchlist'),
    h('p.muted', { text: 'Every gate capture is screened against the active entries at the policy\'s strict threshold. A hit opens a referral for an officer; it never acts on its own.' }));
  const data = await api('/v1/watchlist');
  if (gen !== state.gen) return;
  const entries = listOf(data, 'entries');
  const filter = h('input', { type: 'search', id: 'watchlist-filter', placeholder: 'Filter by name or reason', autocomplete: 'off', 'aria-label': 'Filter by name or reason' });
  const showAll = h('input', { type: 'checkbox', id: 'watchlist-all' });
  const body = h('tbody');
  const count = h('p.muted', { id: 'watchlist-count' });
  const draw = () => {
    const q = filter.value.trim().toLowerCase();
    const rows = entries.filter((e) => (showAll.checked || pick(e, 'status') === 'active')
      && (!q || `${pick(e, 'name') ?? ''} ${pick(e, 'reason') ?? ''}`.toLowerCase().includes(q)));
    put(body, ...rows.map((e) => h('tr', { dataset: { id: String(pick(e, 'id')) } },
      h('td', { text: pick(e, 'name') ?? DASH }),
      h('td', { text: pick(e, 'reason') ?? DASH }),
      h('td', { text: { active: '● active', expired: '◌ expired', removed: '✕ removed' }[pick(e, 'status')] ?? String(pick(e, 'status') ?? DASH) }),
      h('td.num', { text: String(pick(e, 'templates') ?? 0) }),
      h('td', { text: pick(e, 'added_by') ?? DASH }),
      h('td', { text: fmtTime(pick(e, 'created_at')) }),
      h('td', { text: present(pick(e, 'expires_at')) ? fmtTime(pick(e, 'expires_at')) : 'never' }),
      h('td', null, pick(e, 'status') === 'active'
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
      say(`Watchlist entry #${pick(out, 'id')} added: ${name} (${photos.length} photo${photos.length === 1 ? '' : 's'}).`);
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
  const id = pick(e, 'id');
  const err = h('p.error', { role: 'alert' });
  const send = h('button.btn-primary', { type: 'submit', id: 'watchlist-remove-send' }, 'Remove entry ', h('kbd', { text: 'Enter' }));
  const form = h('form', { method: 'dialog', id: 'watchlist-remove' },
    h('h2', { id: 'dialog-title', text: `Remove watchlist entry #${id}?` }),
    h('p', { text: `${pick(e, 'name') ?? DASH} — ${pick(e, 'reason') ?? DASH}` }),
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

// ---- keyboard --------------------------------------------------------------------------------------

function onKey(e) {
  if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
  if (document.querySelector('dialog[open]')) return; // dialogs handle their own keys
  const t = e.target;
  if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
  if (!state.me) return;
  const k = e.key;
  if (k === '?') { e.preventDefault(); $('#help').showModal(); return; }
  if (/^[1-9]$/.test(k)) {
    const sc = screensFor(state.me.role)[Number(k) - 1];
    if (sc) { e.preventDefault(); go(sc.id); }
    return;
  }
  if (state.screen === 'queue') {
    if (k === 'j' || k === 'ArrowDown') { e.preventDefault(); moveQueue(1); }
    else if (k === 'k' || k === 'ArrowUp') { e.preventDefault(); moveQueue(-1); }
    else if ((k === 'Enter' || k === 'o') && state.queueSel) { e.preventDefault(); go('referral', state.queueSel); }
  } else if (state.screen === 'referral') {
    const map = { c: 'confirm', s: 'secondary', x: 'close', n: 'note' };
    if (map[k]) { e.preventDefault(); startDecision(map[k]); }
    else if (k === 'Escape' || k === 'b') { e.preventDefault(); go('queue'); }
    else if (k === 'j' || k === 'k') {
      const ids = state.queue.map((r) => String(r.id));
      const i = ids.indexOf(String(state.referral?.id));
      const next = ids[i < 0 ? 0 : i + (k === 'j' ? 1 : -1)];
      if (next) { e.preventDefault(); go('referral', next); }
    }
  }
}

// ---- start -----------------------------------------------------------------------------------------

function markSigninRendered() {
  // the sign-in screen is on screen once the next frame has been produced
  requestAnimationFrame(() => setTimeout(() => {
    if (document.body.dataset.screen === 'signin') performance.mark('fg:signin-rendered');
  }, 0));
}

async function start() {
  $('#signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = $('#token');
    const token = input.value.trim();
    if (!token) return;
    const btn = $('#signin-form button');
    btn.disabled = true;
    $('#signin-error').textContent = '';
    try {
      await signIn(token);
    } catch (err) {
      $('#signin-error').textContent = err.status === 401 || err.status === 403
        ? 'This token was not accepted (unknown, revoked or mistyped).' : err.message;
      input.select();
    } finally {
      btn.disabled = false;
    }
  });
  $('#signout').addEventListener('click', () => signOut('Signed out.'));
  window.addEventListener('hashchange', route);
  document.addEventListener('keydown', onKey);

  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) {
    document.body.dataset.screen = 'signin';
    markSigninRendered();
    return;
  }
  try {
    const me = await api('/v1/whoami');
    state.me = { name: pick(me, 'name') || '?', role: pick(me, 'role') || '?' };
    enterApp();
  } catch (e) {
    sessionStorage.removeItem(TOKEN_KEY);
    showSignin(e.status === 401 ? 'Your session ended. Sign in again.' : e.message);
    markSigninRendered();
  }
}

start();
