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

function fmtTime(v) {
  const d = toDate(v);
  if (!d) return present(v) ? String(v) : DASH;
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z').replace(/:00Z$/, 'Z');
}

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
        : /(_at|^at|expires)$/.test(c) && isNum(v) ? fmtTime(v) : present(v) ? String(v) : DASH;
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
const refCandidate = (r) => pick(r, 'candidate_name', 'traveller_name', 'encounter.traveller_name') || personName(pick(r, 'candidate'));

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
  if (upd) upd.textContent = state.queueSeen ? `${q.length} open · updated ${new Date().toLocaleTimeString()}` : 'loading…';
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
        h('th', { text: 'Waiting' }), h('th.num', { text: 'Score / threshold' }), h('th', { text: 'Candidate' }))),
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
  // has the rest (born, nationality, document), and the traveller chooser uses it.
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

function renderReferral(view, r) {
  const enc = (r.encounter && typeof r.encounter === 'object') ? r.encounter : r;
  const cand = pick(r, 'candidate') || null;
  const wl = pick(r, 'watchlist', 'watchlist_hit') || null;
  const status = pick(r, 'status') || 'open';
  const reason = pick(r, 'reason');
  const outcome = pick(enc, 'outcome');
  const score = pick(enc, 'score');
  const thr = pick(enc, 'threshold');
  const decidable = status === 'open' || status === 'secondary';

  // photos
  const capture = imgSrc(pick(r, 'capture', 'capture_base64', 'encounter.capture'));
  const docPhotos = listOf(pick(r, 'document_photos', 'candidate.photos') || []).map((p) => imgSrc(typeof p === 'string' ? p : pick(p, 'base64', 'image')));
  const wlPhotos = listOf(pick(wl || {}, 'photos') || []).map((p) => imgSrc(typeof p === 'string' ? p : pick(p, 'base64', 'image')));
  const captureFig = h('figure.photo', { id: 'capture' },
    h('figcaption', { text: 'Live capture' }),
    capture ? h('img', { src: capture, alt: `Live capture at gate ${pick(enc, 'gate') ?? ''}` })
      : h('div.none', { text: outcome === 'OPT_OUT' ? 'Opt-out: no photo was taken' : 'No capture kept (purged or not taken)' }),
    h('div.muted', { text: `Gate ${pick(enc, 'gate') ?? DASH} · ${fmtTime(pick(enc, 'at', 'created_at'))}` }));
  const docFig = h('figure.photo', { id: 'document-photos' },
    h('figcaption', { text: cand ? `Document photo — ${personName(cand)}` : 'Document photo' }),
    docPhotos[0] ? h('img', { src: docPhotos[0], alt: `Document photo of ${personName(cand) || 'the candidate'}` })
      : h('div.none', { text: cand ? 'No staged document photo' : 'No candidate: nobody in the flight gallery came close' }),
    docPhotos.length > 1 ? h('div.thumbs', null, docPhotos.slice(1).map((src, i) => h('img', { src, alt: `Document photo ${i + 2}` }))) : null);

  // score vs threshold
  const passes = isNum(score) && isNum(thr) ? score >= thr : null;
  const scorePanel = h('div.panel', { id: 'score' },
    h('h2', { text: 'Face match (1:N, flight gallery)' }),
    h('div.meter', null,
      h('span.val', { text: fmtNum(score) }), ' ',
      passes === null ? h('span.muted', { text: 'not searched' })
        : passes ? h('span.badge.ok', { text: '✓ at or above threshold' }) : h('span.badge.bad', { text: '✗ below threshold' }),
      h('div.muted', { text: `threshold ${fmtNum(thr)}` })),
    isNum(score) ? scoreBar(score, thr) : null,
    facts([
      ['Quality', isNum(pick(enc, 'quality')) ? `${fmtNum(pick(enc, 'quality'), 1)} / 100` : DASH],
      ['Quality reasons', reasonsList(pick(enc, 'quality_reasons'))],
      ['Liveness', livenessText(pick(enc, 'liveness'))],
      ['Tries', pick(enc, 'tries')],
    ]));

  const wlPanel = wl || pick(enc, 'watchlist_id') ? h('div.panel.alert', { id: 'watchlist' },
    h('h2', { text: '⚑ Watchlist hit — for review, never acted on automatically' }),
    facts([
      ['Entry', wl ? `${pick(wl, 'name') ?? DASH} (#${pick(wl, 'id') ?? pick(enc, 'watchlist_id') ?? '?'})` : `#${pick(enc, 'watchlist_id')}`],
      ['Reason', pick(wl || {}, 'reason')],
      ['Score', fmtNum(pick(wl || {}, 'score') ?? pick(enc, 'watchlist_score'))],
      ['Added by', pick(wl || {}, 'added_by')],
      ['Expires', pick(wl || {}, 'expires_at', 'expires') ? fmtTime(pick(wl, 'expires_at', 'expires')) : undefined],
    ]),
    wlPhotos.length ? h('div.thumbs', null, wlPhotos.map((src) => h('img', { src, alt: 'Watchlist photo' }))) : null) : null;

  const doc = documentOf(cand);
  const candPanel = h('div.panel', { id: 'candidate' },
    h('h2', { text: cand ? 'Candidate (from the manifest)' : 'Candidate' }),
    cand ? facts([
      ['Name', personName(cand)],
      ['Born', pick(cand, 'date_of_birth')],
      ['Nationality', pick(cand, 'nationality')],
      ['Sex', pick(cand, 'sex')],
      ['Category', pick(cand, 'category')],
      ['Document', [pick(doc, 'type'), pick(doc, 'number', 'doc_number'), pick(doc, 'issuing_state')].filter(present).join(' ') || DASH],
      ['Expiry', pick(doc, 'expiry')],
      ['History', docNumber(cand) || pick(cand, 'id') ? h('a', {
        href: '#/traveller', onclick: () => { state.travellerRef = String(docNumber(cand) || pick(cand, 'id')); },
        text: 'crossing history',
      }) : DASH],
    ]) : h('p.muted', { text: 'None. Check the document by hand and choose the traveller when confirming.' }));

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
    h('div.side', null, captureFig, docFig,
      h('div', null, wlPanel, scorePanel, candPanel,
        h('div.panel', { id: 'notes' }, h('h2', { text: 'Notes' }),
          notes.length ? h('ul.notes', null, notes.map((n) => h('li', null,
            h('b', { text: pick(n, 'officer') ?? '?' }), ` · ${fmtTime(pick(n, 'at'))}: `, String(pick(n, 'note', 'text') ?? ''))))
            : h('p.muted', { text: 'No notes yet.' })))));
  $('#referral-title').focus();
}

function scoreBar(score, thr) {
  const W = 320, H = 34, x = (v) => 10 + Math.min(Math.max(v, 0), 1) * (W - 20);
  const ok = isNum(thr) && score >= thr;
  return s('svg', { viewBox: `0 0 ${W} ${H + 14}`, width: W, role: 'img', 'aria-label': `score ${fmtNum(score)} against threshold ${fmtNum(thr)}` },
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
// stray key press at a busy desk never decides anything on its own.
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
  const form = h('form', { method: 'dialog' });
  const noteInput = kind === 'note'
    ? h('textarea', { id: 'decision-note', rows: 3, required: true, 'aria-label': 'Note' })
    : h('input', { type: 'text', id: 'decision-note', 'aria-label': 'Note (optional)', placeholder: 'Note (optional)' });
  const err = h('p.error', { role: 'alert' });
  let choose = null;
  if (kind === 'confirm') choose = await travellerChooser(r);
  form.append(
    h('h2', { id: 'dialog-title', text: titles[kind] }),
    choose ? choose.el : null,
    h('label', { for: 'decision-note', text: kind === 'note' ? 'Note' : 'Note (optional)' }),
    noteInput, err,
    h('div.actions', null,
      h('button.btn', { type: 'button', value: 'cancel', onclick: () => dlg.close() }, 'Cancel ', h('kbd', { text: 'Esc' })),
      h('button.btn-primary', { type: 'submit', id: 'decision-send' }, kind === 'note' ? 'Add note ' : 'Record decision ', h('kbd', { text: 'Enter' }))));
  const send = async () => {
    const body = { decision: kind };
    const note = noteInput.value.trim();
    if (note) body.note = note;
    if (kind === 'note' && !note) { err.textContent = 'Write the note first.'; return; }
    if (choose) {
      const tid = await choose.value().catch((e) => { err.textContent = e.message; return null; });
      if (tid === null) return;
      if (tid) body.traveller_id = tid;
    }
    $('#decision-send').disabled = true;
    try {
      const out = await api(`/v1/referrals/${encodeURIComponent(r.id)}/decision`, { method: 'POST', body });
      dlg.close();
      const who = pick(out, 'officer') || state.me.name;
      const msgs = {
        confirm: `Referral #${r.id}: identity confirmed by ${who}; manual crossing recorded.`,
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
      $('#decision-send').disabled = false;
    }
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); send(); });
  form.addEventListener('keydown', (e) => {
    // Enter on a radio or in the one-line inputs sends; Ctrl+Enter sends from the textarea
    if (e.key === 'Enter' && (e.target.type === 'radio' || (e.target.tagName === 'TEXTAREA' && (e.ctrlKey || e.metaKey)))) {
      e.preventDefault(); send();
    }
  });
  put(dlg, form);
  dlg.showModal();
  (choose ? choose.focusEl : noteInput).focus();
}

// The traveller the officer confirms: the flight's passengers (candidate first,
// preselected), filtered as one types; or a document number / traveller id.
async function travellerChooser(r) {
  const enc = (r.encounter && typeof r.encounter === 'object') ? r.encounter : r;
  const cand = pick(r, 'candidate');
  const manifestId = pick(enc, 'manifest_id') ?? pick(r, 'manifest_id');
  let passengers = r._passengers || [];
  if (!r._passengers && present(manifestId)) {
    try {
      const m = await api(`/v1/manifests/${encodeURIComponent(manifestId)}`);
      passengers = listOf(pick(m, 'passengers') || m, 'passengers');
    } catch { /* fall back to the candidate and free entry */ }
  }
  const candId = pick(cand || {}, 'id', 'traveller_id');
  const people = [];
  const seen = new Set();
  for (const p of [cand, ...passengers]) {
    if (!p || typeof p !== 'object') continue;
    const id = pick(p, 'traveller_id', 'id');
    if (!present(id) || seen.has(String(id))) continue;
    seen.add(String(id));
    people.push({ id, name: personName(p), doc: docNumber(p) || '', status: pick(p, 'status') || '', dob: pick(p, 'date_of_birth') || '', nat: pick(p, 'nationality') || '', isCand: String(id) === String(candId) });
  }
  const filter = h('input', { type: 'search', id: 'traveller-filter', placeholder: 'Type a name or document number…', 'aria-label': 'Find the traveller', autocomplete: 'off' });
  const box = h('div.choices', { role: 'radiogroup', 'aria-label': 'Traveller' });
  const manual = h('input', { type: 'text', id: 'traveller-ref', placeholder: 'or a document number / traveller id not listed', 'aria-label': 'Document number or traveller id' });
  for (const p of people) {
    const radio = h('input', { type: 'radio', name: 'traveller', value: String(p.id), id: `t-${p.id}` });
    if (p.isCand) radio.checked = true;
    box.append(h('label', { for: `t-${p.id}`, dataset: { search: `${p.name} ${p.doc} ${p.id}`.toLowerCase() } }, radio,
      h('span', null, h('b', { text: p.name || `traveller ${p.id}` }), ` · ${p.doc || 'no document'}`,
        p.dob ? ` · born ${p.dob}` : '', p.nat ? ` · ${p.nat}` : '', p.status ? ` · ${p.status}` : '',
        p.isCand ? h('span.badge.info', { text: ' candidate ' }) : null)));
  }
  const visible = () => [...box.querySelectorAll('label')].filter((l) => !l.hidden).map((l) => $('input', l));
  filter.addEventListener('input', () => {
    const q = filter.value.trim().toLowerCase();
    for (const l of box.querySelectorAll('label')) l.hidden = !!q && !l.dataset.search.includes(q);
    const vis = visible();
    const checked = box.querySelector('input:checked');
    if (vis.length && (!checked || checked.closest('label').hidden)) vis[0].checked = true;
  });
  filter.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown') { e.preventDefault(); const c = box.querySelector('input:checked') || visible()[0]; c?.focus(); }
  });
  const el = h('div', null,
    h('label', { for: 'traveller-filter', text: 'Traveller whose document was checked' }),
    filter,
    people.length ? box : h('p.muted', { text: 'The flight\'s passenger list is not available; enter the document number or traveller id.' }),
    manual);
  return {
    el,
    focusEl: filter,
    // the chosen traveller id: a listed passenger, or one looked up by document number
    async value() {
      const ref = manual.value.trim();
      if (ref) {
        if (/^\d+$/.test(ref) && !people.length) return Number(ref);
        const c = await api(`/v1/travellers/${encodeURIComponent(ref)}/crossings`);
        const id = pick(c, 'traveller.id', 'traveller_id', 'id');
        if (!present(id)) throw new Error(`No traveller found for ${ref}`);
        return Number(id);
      }
      const checked = box.querySelector('input:checked');
      if (checked && !checked.closest('label').hidden) return Number(checked.value);
      if (present(candId)) return Number(candId);
      throw new Error('Choose the traveller whose document you checked.');
    },
  };
}

// ---- traveller history ---------------------------------------------------------------

function viewTraveller(view, arg, gen) {
  const input = h('input', { type: 'search', id: 'traveller-search', placeholder: 'document number or traveller id', value: state.travellerRef, autocomplete: 'off', spellcheck: 'false' });
  const out = h('div', { id: 'traveller-result' });
  const form = h('form.toolbar', { role: 'search' },
    h('label', null, 'Document number or traveller id', input),
    h('button.btn-primary', { type: 'submit' }, 'Show crossings'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    state.travellerRef = input.value.trim();
    load();
  });
  view.append(heading('Traveller crossing history'), form, out);
  async function load() {
    const ref = state.travellerRef;
    if (!ref) { put(out, h('p.muted', { text: 'Search by the number of a passport or other travel document.' })); return; }
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
  const name = f && typeof f === 'object' ? `${pick(f, 'carrier') ?? ''}${pick(f, 'flight') ?? ''}` : `${pick(c, 'carrier') ?? ''}${f ?? ''}`;
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
      $('#board-updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
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
      put(detail, h('h2', { text: `Passengers of ${pick(m, 'carrier') ?? ''}${pick(m, 'flight') ?? ''} (${pax.length})` }),
        pax.length ? h('table.grid', null,
          h('thead', null, h('tr', null, ['Name', 'Document', 'Nationality', 'Category', 'Enrolled photos', 'Status', 'Problems'].map((c) => h('th', { text: c })))),
          h('tbody', null, pax.map((p) => {
            const st = pick(p, 'status');
            const probs = pick(p, 'problems');
            return h('tr', null,
              h('td', { text: personName(p) || DASH }), h('td.mono', { text: docNumber(p) ?? DASH }),
              h('td', { text: pick(p, 'nationality') ?? DASH }), h('td', { text: pick(p, 'category') ?? DASH }),
              h('td.num', { text: fmtNum(pick(p, 'enrolled', 'templates')) }),
              h('td', null, h(`span.badge.${st === 'crossed' || st === 'manual' ? 'ok' : st === 'referred' ? 'bad' : 'info'}`, {
                text: { crossed: '✓ CROSSED', manual: '✎ CROSSED (MANUAL)', referred: '⚑ REFERRED', expected: '… PENDING' }[st] ?? String(st ?? DASH).toUpperCase(),
              })),
              h('td', { text: Array.isArray(probs) ? probs.map((x) => typeof x === 'object' ? pick(x, 'code', 'problem', 'reason') ?? JSON.stringify(x) : x).join(', ') || DASH : probs ?? DASH }));
          }))) : h('div.empty', { text: 'No passengers.' }));
    } catch (e) {
      if (gen === state.gen) put(detail, errorBox(e));
    }
  }
  load();
  showDetail();
  const t = setInterval(() => { load(); }, BOARD_POLL_MS);
  return () => clearInterval(t);
}

function renderBoard(board, list, open) {
  if (!list.length) { put(board, h('div.empty', { text: 'No manifests staged.' })); return; }
  put(board, h('table.grid', { id: 'board-table' },
    h('thead', null, h('tr', null,
      ['Flight', 'Direction', 'Port', 'Scheduled', 'Status'].map((c) => h('th', { text: c })),
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
        h('td', null, h('b', { text: `${pick(m, 'carrier') ?? ''}${pick(m, 'flight') ?? ''}` || `#${id}` })),
        h('td', null, h(`span.badge.${dir === 'exit' ? 'warn' : 'info'}`, { text: dir === 'exit' ? '↑ EXIT' : dir === 'entry' ? '↓ ENTRY' : String(dir ?? DASH) })),
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
  // every numeric figure, flattened, ISO/IEC 19795-1 names as the service gives them
  const flat = [];
  (function walk(o, prefix) {
    for (const [k, v] of Object.entries(o || {})) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (isNum(v)) flat.push([key, v]);
      else if (v && typeof v === 'object' && !Array.isArray(v)) walk(v, key);
      else if (typeof v === 'string' && !prefix) flat.push([key, v]);
    }
  })(rep, '');
  put(out, tiles, charts, renderGroups(rep.groups),
    h('h2', { text: 'All figures' }),
    h('table.grid', { id: 'report-figures' }, h('tbody', null, flat.map(([k, v]) => h('tr', null,
      h('td', { text: humanize(k) }),
      h(isNum(v) ? 'td.num' : 'td', { text: isNum(v) && isRateKey(k) && v <= 1 ? fmtRate(v) : isNum(v) ? fmtNum(v) : v })))))
  );
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

function isRateKey(k) {
  const parts = k.split('.');
  const last = parts.pop();
  return /rate|ratio|fnir|fpir|fmr|fnmr|ftar/i.test(last) || (last === 'value' && /rate|ftar/i.test(parts.join('.')));
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
        ` · checked ${new Date().toLocaleTimeString()}`)));
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
      put(list, ev.length ? h('table.grid', { id: 'audit-table' },
        h('thead', null, h('tr', null, ['Seq', 'When', 'Actor', 'Role', 'Action', 'Object', 'Purpose', 'Detail'].map((c) => h('th', { text: c })))),
        h('tbody', null, ev.slice().reverse().map((e) => h('tr', null,
          h('td.mono', { text: pick(e, 'seq') ?? DASH }),
          h('td.nowrap', { text: fmtTime(pick(e, 'at')) }),
          h('td', { text: pick(e, 'actor') ?? DASH }),
          h('td', { text: pick(e, 'role') ?? DASH }),
          h('td', null, h('b', { text: pick(e, 'action') ?? DASH })),
          h('td.mono', { text: pick(e, 'object') ?? DASH }),
          h('td', { text: pick(e, 'purpose') ?? DASH }),
          h('td.mono', { text: typeof e.detail === 'object' && e.detail ? JSON.stringify(e.detail) : (e.detail ?? '') }))))) 
        : h('div.empty', { text: 'No events in this range.' }));
      $('#audit-earlier').disabled = !state.auditAfter;
      $('#audit-later').disabled = ev.length < AUDIT_PAGE;
    } catch (e) {
      if (gen === state.gen) put(list, errorBox(e));
    }
  }
  verify();
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
