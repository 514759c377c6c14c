// facegate officer console — plain ES modules, no framework, no build step:
// index.html loads this module, which imports one module per screen (queue.js,
// referral.js, traveller.js, flights.js, overstays.js, report.js, audit.js,
// policy.js, watchlist.js) and the shared core.js. This file holds the screen
// table, navigation, the session (sign-in from the role /v1/whoami reports,
// sign-out), the keyboard and the start-up.
//
// The token is kept in sessionStorage only (this tab; never localStorage, never
// a URL); every request sends it as "Authorization: Bearer fgt_...". The
// server's JSON is read by the names docs/openapi.json documents.

import { $, TOKEN_KEY, api, closeDialogs, errorBox, go, h, hooks, parseHash, put, say, state } from './core.js';
import { moveQueue, pollQueue, viewQueue } from './queue.js';
import { startDecision, viewReferral } from './referral.js';
import { viewTraveller } from './traveller.js';
import { viewFlights } from './flights.js';
import { viewOverstays } from './overstays.js';
import { viewReport } from './report.js';
import { viewAudit } from './audit.js';
import { viewPolicy, viewTokens } from './policy.js';
import { viewWatchlist } from './watchlist.js';

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

export function route() {
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
  state.me = { name: me.name, role: me.role };
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

export function signOut(message) {
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
    state.me = { name: me.name, role: me.role };
    enterApp();
  } catch (e) {
    sessionStorage.removeItem(TOKEN_KEY);
    showSignin(e.status === 401 ? 'Your session ended. Sign in again.' : e.message);
    markSigninRendered();
  }
}

hooks.route = route;
hooks.signOut = signOut;
start();
