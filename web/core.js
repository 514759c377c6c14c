// facegate officer console: the pieces every screen shares — DOM building,
// formatting, the API client (the token from sessionStorage as a Bearer
// header; in developer mode every JSON answer is checked against the schemas
// of /openapi.json, schema.js), the console's state and status line, and the
// navigation helpers. Every piece of server data reaches the page through
// textContent / attributes, never HTML.

// Set by app.js (which imports every screen): what the shared pieces call
// back into without importing the screens.
export const hooks = { route: () => {}, signOut: () => {} };

export const TOKEN_KEY = 'facegate.token';
export const POLL_MS = 2000;
export const BOARD_POLL_MS = 5000;

export const $ = (sel, root = document) => root.querySelector(sel);

// ---- DOM helpers --------------------------------------------------------------

// h('tag.class', {attr: v, onclick: f, text: 's'}, ...children)
export function h(spec, props, ...children) {
  const [tag, ...classes] = spec.split('.');
  const el = document.createElement(tag || 'div');
  if (classes.length) el.className = classes.join(' ');
  applyProps(el, props);
  append(el, children);
  return el;
}

const SVGNS = 'http://www.w3.org/2000/svg';
export function s(tag, props, ...children) {
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
export function put(el, ...children) {
  el.textContent = '';
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// ---- formatting -----------------------------------------------------------------

export const DASH = '—';
export const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
export const present = (v) => v !== undefined && v !== null && v !== '';



// Times come as epoch seconds, epoch milliseconds or ISO text.
export function toDate(v) {
  if (!present(v)) return null;
  if (isNum(v)) return new Date(v < 1e11 ? v * 1000 : v);
  if (typeof v === 'string' && /^\d+$/.test(v)) return toDate(Number(v));
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

// Every time on screen has one form, in UTC: "2026-11-27 10:06:52 UTC".
export function fmtTime(v) {
  const d = toDate(v);
  if (!d) return present(v) ? String(v) : DASH;
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
export const fmtNow = () => fmtTime(new Date());

export function fmtDate(v) {
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) return v;
  const d = toDate(v);
  return d ? d.toISOString().slice(0, 10) : present(v) ? String(v) : DASH;
}

export function fmtAge(v, now = Date.now()) {
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

export function fmtNum(v, digits = 3) {
  if (!isNum(v)) return present(v) ? String(v) : DASH;
  return Number.isInteger(v) ? String(v) : v.toFixed(digits);
}

export function fmtRate(v) {
  if (!isNum(v)) return present(v) ? String(v) : DASH;
  return v <= 1 ? `${(v * 100).toFixed(1)} %` : `${v.toFixed(1)} %`;
}

export const humanize = (k) => String(k).replace(/_/g, ' ').replace(/\bms\b/, '(ms)');
export const todayUTC = () => new Date().toISOString().slice(0, 10);

// "SURNAME, Given names" of a passenger, traveller or overstayer (the
// documented surname and given_names; either may be null or empty).
export function personName(p) {
  if (!p) return '';
  return [p.surname && String(p.surname).toUpperCase(), p.given_names].filter(Boolean).join(', ');
}

// A travel document ({type, number, issuing_state, expiry}) as "P 123456789 UTO".
export const docText = (d) => (d ? [d.type, d.number, d.issuing_state].filter(present).join(' ') : '');

// Labels pair a colour class with text and a symbol: never colour alone.
export const OUTCOMES = {
  MATCHED: ['✓ MATCHED', 'ok'],
  NO_MATCH: ['✗ NO MATCH', 'bad'],
  FAILURE_TO_ACQUIRE: ['⚠ NO USABLE CAPTURE', 'warn'],
  LIVENESS_SUSPECT: ['⚠ LIVENESS SUSPECT', 'bad'],
  OPT_OUT: ['⊘ OPT-OUT', 'info'],
};
export const REASONS = {
  no_match: ['✗ NO MATCH', 'bad'],
  failure_to_acquire: ['⚠ NO USABLE CAPTURE', 'warn'],
  liveness: ['⚠ LIVENESS', 'bad'],
  opt_out: ['⊘ OPT-OUT', 'info'],
  watchlist: ['⚑ WATCHLIST', 'bad'],
  already_crossed: ['↺ ALREADY CROSSED', 'warn'],
};
export const STATUSES = {
  open: ['● OPEN', 'warn'],
  secondary: ['➜ SECONDARY', 'info'],
  confirmed: ['✓ CONFIRMED', 'ok'],
  closed: ['■ CLOSED', 'info'],
};

export function badge(table, key, big = false) {
  const [label, cls] = table[key] || [present(key) ? String(key).toUpperCase().replace(/_/g, ' ') : DASH, 'info'];
  return h(`span.badge.${cls}${big ? '.big' : ''}`, { text: label, dataset: { value: key ?? '' } });
}

export function imgSrc(b64) {
  if (typeof b64 !== 'string' || !b64) return null;
  if (b64.startsWith('data:')) return b64;
  const mime = b64.startsWith('iVBOR') ? 'image/png' : 'image/jpeg';
  return `data:${mime};base64,${b64}`;
}

export function facts(pairs) {
  const dl = h('dl.facts');
  for (const [k, v] of pairs) {
    if (v === undefined) continue;
    dl.append(h('dt', { text: k }), h('dd', null, v instanceof Node ? v : present(v) ? String(v) : DASH));
  }
  return dl;
}

// A plain table of objects: columns = given, or the union of the members.
export function genericTable(rows, columns) {
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
    const title = body?.title || `HTTP ${status}`;
    const detail = body?.detail;
    super(detail ? `${title}: ${detail}` : title);
    this.status = status;
    this.code = body?.code;
    this.body = body;
  }
}

// Developer mode (open the console as /?dev; it lasts for the tab): every JSON
// answer is checked against the response schema /openapi.json documents for
// its route and status (schema.js, loaded only in this mode). A mismatch is a
// console error and a line in the status bar; window.fgSchemaCheck counts the
// answers checked and keeps the mismatches (tests/browser/console.test.mjs
// runs the console this way and requires none).
const DEV_KEY = 'facegate.dev';
if (new URLSearchParams(location.search).has('dev')) sessionStorage.setItem(DEV_KEY, '1');
export const schemaCheck = { enabled: sessionStorage.getItem(DEV_KEY) === '1', checked: 0, violations: [] };
window.fgSchemaCheck = schemaCheck;
let schemaTools = null;

async function checkSchema(method, path, res, data) {
  try {
    if (!schemaTools) {
      schemaTools = Promise.all([import('./schema.js'), fetch('/openapi.json', { cache: 'no-store' }).then((r) => r.json())]);
    }
    const [{ checkResponse }, doc] = await schemaTools;
    const found = checkResponse(doc, method, path, res.status, res.headers.get('content-type'), data);
    schemaCheck.checked++;
    for (const e of found) {
      schemaCheck.violations.push(e);
      console.error(`facegate console (developer mode): ${e}`);
    }
    if (found.length) say(`Developer mode: the answer of ${method} ${path.split('?')[0]} does not fit /openapi.json (${found[0]})`, true, 0);
  } catch (e) {
    schemaCheck.violations.push(`${method} ${path}: the check failed: ${e.message}`);
    console.error(`facegate console (developer mode): cannot check ${method} ${path}: ${e.message}`);
  }
}

export async function api(path, { method = 'GET', body, raw = false } = {}) {
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
  if (schemaCheck.enabled) await checkSchema(method, path, res, data);
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    if (res.status === 401 && state.me) hooks.signOut('Your session ended: the token was not accepted. Sign in again.');
    throw err;
  }
  return data;
}

// ---- state, status line ---------------------------------------------------------

export const state = {
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
export function say(msg, isError = false, ms = 6000) {
  const el = $('#status');
  el.textContent = msg || '';
  el.classList.toggle('error', !!isError);
  clearTimeout(statusTimer);
  if (msg && ms) statusTimer = setTimeout(() => { el.textContent = ''; }, ms);
}


// ---- navigation helpers and shared pieces of screens ----------------------------

export function parseHash() {
  const [id, ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  return { id, arg: rest.join('/') };
}

export function go(id, arg) {
  const hash = `#/${id}${arg !== undefined ? `/${arg}` : ''}`;
  if (location.hash === hash) hooks.route(); else location.hash = hash;
}

export function errorBox(e) {
  const msg = e instanceof ApiError && e.status === 403
    ? `Your role (${state.me?.role}) is not allowed to see this.`
    : e.message || String(e);
  return h('p.error', { role: 'alert', text: msg });
}

export function heading(text, ...extra) {
  return h('div.viewhead', null, h('h1', { tabindex: '-1', text }), extra);
}

export function closeDialogs() {
  for (const d of document.querySelectorAll('dialog[open]')) d.close();
}

// The candidate is proposed only when the gate matched them (score at or
// above the threshold), or when they hold the document presented (opt-out,
// failure to acquire). After a no-match the service's candidate is merely the
// nearest passenger: the console neither names nor proposes them (an officer
// must never be one key away from recording someone else's document).
export function matchedCandidate(r) {
  if (!r.candidate || r.reason === 'no_match') return null;
  if (isNum(r.score) && isNum(r.threshold) && r.score < r.threshold) return null;
  return r.candidate;
}

export const PASSENGER_STATUS = {
  crossed: ['✓ CROSSED', 'ok'],
  manual: ['✎ CROSSED (MANUAL)', 'ok'],
  referred: ['⚑ REFERRED', 'bad'],
  expected: ['… NOT CROSSED', 'info'],
};

export const passengerStatusText = (st) => (PASSENGER_STATUS[st]?.[0] ?? (present(st) ? String(st).toUpperCase() : DASH));

export const hasCrossed = (st) => st === 'crossed' || st === 'manual';

export const fold = (v) => String(v ?? '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/\s+/g, ' ').trim();

// "FG101" from carrier FG and flight 101 or FG101 (a manifest may give either).
export function flightLabel(carrier, flight) {
  const c = present(carrier) ? String(carrier).trim() : '';
  const f = present(flight) ? String(flight).trim() : '';
  if (!f) return c;
  return c && !f.toUpperCase().startsWith(c.toUpperCase()) ? `${c}${f}` : f;
}
