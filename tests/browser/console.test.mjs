// Browser test of the officer console against a real `facegate serve`.
//
// tests/browser/run.sh starts the server on a free loopback port with a fresh
// data directory, creates one token per role and runs this script with:
//   FACEGATE_URL          http://127.0.0.1:PORT
//   FG_TOKEN_<ROLE>       the token of each role (SUPERVISOR, GATE, OFFICER, AUDITOR)
//   FG_NAME_<ROLE>        the token's name (the identity decisions are recorded under)
//   FACEGATE_LFW          Labeled Faces in the Wild (default ../shared/data/lfw);
//                         without it the npm sample photos in var/samples are used
//   BROWSER_OUT           where screenshots go (default build/browser)
//   CHROMIUM              the browser (default /usr/bin/chromium)
//
// What it does: stages a flight of real faces through the API (supervisor),
// with more passengers added without photos so that lists must be filtered
// and paged, adds a watchlist entry (another photo of one passenger), submits
// gate captures (matches, a no-match of someone not on the flight, the
// watchlisted passenger), then in headless Chromium: measures the cold first
// render of the sign-in screen (reported, target < 1000 ms), signs in as the officer, watches
// the queue update without a reload, checks that the idle queue adds no
// referral.list audit events (it polls the unaudited summary), reviews the
// watchlist hit beside the watchlist photo, opens the no-match referral and
// checks that nobody is proposed; then drives the confirmation the way an
// officer must: c then Enter records nothing, nobody is pre-selected, a
// passenger who already crossed cannot be chosen, the chosen passenger's
// document photo appears beside the live capture, a wrong document-number
// ending is refused, and only the right one records the crossing (checked
// through the API: under the officer's name, manual). Then the flight board's
// passenger list (filter, paging), the supervisor's, auditor's and admin's
// screens. Every screen and dialog is looked at 900, 1280 and 1920 px wide
// (look()): a screenshot of each goes to build/browser/, and any visible
// "null", "undefined" or "NaN", or anything wider than the window or cut off
// sideways, fails the test. Exit status 0 only if every check passed.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BASE = (process.env.FACEGATE_URL || '').replace(/\/$/, '');
const OUT = path.resolve(root, process.env.BROWSER_OUT || 'build/browser');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const LFW = path.resolve(root, process.env.FACEGATE_LFW || '../shared/data/lfw');
const SAMPLES = path.resolve(root, process.env.FACEGATE_SAMPLES || 'var/samples');
const FIRST_RENDER_TARGET_MS = 1000; // reported, never asserted

const TOKENS = {};
const NAMES = {};
for (const role of ['supervisor', 'gate', 'officer', 'auditor', 'admin']) {
  TOKENS[role] = process.env[`FG_TOKEN_${role.toUpperCase()}`];
  NAMES[role] = process.env[`FG_NAME_${role.toUpperCase()}`] || role;
}
if (!BASE || Object.values(TOKENS).some((t) => !t)) {
  console.error('console.test: FACEGATE_URL and FG_TOKEN_{SUPERVISOR,GATE,OFFICER,AUDITOR,ADMIN} are required (tests/browser/run.sh sets them)');
  process.exit(2);
}
fs.mkdirSync(OUT, { recursive: true });

// ---- reporting -------------------------------------------------------------------

let passed = 0;
const failures = [];
const t0 = Date.now();
function ok(cond, what, extra) {
  if (cond) { passed++; console.log(`  ok   ${what}${extra ? ` (${extra})` : ''}`); }
  else { failures.push(what); console.log(`  FAIL ${what}${extra ? ` (${extra})` : ''}`); }
  return !!cond;
}
function must(cond, what, extra) {
  if (!ok(cond, what, extra)) throw new Error(`required check failed: ${what}`);
}
const section = (name) => console.log(`\n== ${name}  [+${((Date.now() - t0) / 1000).toFixed(1)} s]`);

// ---- API ------------------------------------------------------------------------

const pick = (o, ...names) => {
  for (const n of names) {
    let v = o;
    for (const p of n.split('.')) v = v == null ? undefined : v[p];
    if (v !== undefined && v !== null && v !== '') return v;
  }
  return undefined;
};
const listOf = (v, name) => (Array.isArray(v) ? v : Array.isArray(v?.[name]) ? v[name] : (Object.values(v || {}).find(Array.isArray) || []));

async function call(role, method, p, body) {
  const res = await fetch(BASE + p, {
    method,
    headers: { Authorization: `Bearer ${TOKENS[role]}`, Accept: 'application/json', ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return { status: res.status, json, text };
}
async function api(role, method, p, body) {
  const r = await call(role, method, p, body);
  if (r.status < 200 || r.status > 299) throw new Error(`${method} ${p} as ${role}: HTTP ${r.status} ${r.text.slice(0, 400)}`);
  return r.json;
}
const b64 = (file) => fs.readFileSync(file).toString('base64');

// Audit events with this action, counted through the API as the auditor
// (each page read appends an "audit.read", never the action counted here).
async function auditCount(action) {
  let after = 0;
  let n = 0;
  for (;;) {
    const page = await api('auditor', 'GET', `/v1/audit?after=${after}&limit=1000`);
    const events = listOf(page, 'events');
    for (const e of events) { if (pick(e, 'action') === action) n++; after = Math.max(after, Number(pick(e, 'seq')) || 0); }
    if (events.length < 1000) return n;
  }
}

// ---- faces -------------------------------------------------------------------------

// Six passengers with 3+ photos (_0001 enrolled, _0002 captured, _0003 for the
// watchlist), and one outsider who is not on the flight.
function chooseFaces() {
  const dir = path.join(LFW, 'lfw-deepfunneled');
  if (fs.existsSync(dir)) {
    // The outsider (7th) is chosen to be far from everyone on the flight and the
    // watchlist photo: with a one-entry watchlist the open-set threshold for the
    // policy's FPIR is lenient (Hugo_Chavez_0002 hits Ariel_Sharon_0003 at 0.29).
    const prefer = ['George_W_Bush', 'Colin_Powell', 'Tony_Blair', 'Donald_Rumsfeld', 'Gerhard_Schroeder', 'Ariel_Sharon', 'Serena_Williams'];
    const img = (n, i) => path.join(dir, n, `${n}_${String(i).padStart(4, '0')}.jpg`);
    let names = prefer.filter((n) => fs.existsSync(img(n, 3)));
    if (names.length < 7) {
      const more = fs.readdirSync(dir).sort().filter((n) => !names.includes(n) && fs.existsSync(img(n, 3)));
      names = names.concat(more).slice(0, 7);
    }
    if (names.length >= 7) {
      const people = names.slice(0, 7).map((n) => ({ name: n.replace(/_/g, ' '), enroll: img(n, 1), capture: img(n, 2), extra: img(n, 3) }));
      return { source: `LFW (${dir})`, passengers: people.slice(0, 6), outsider: people[6] };
    }
  }
  const s = (i) => path.join(SAMPLES, `sample${i}.jpg`);
  if (![1, 2, 3, 4, 5, 6].every((i) => fs.existsSync(s(i)))) throw new Error(`neither LFW (${LFW}) nor the sample photos (${SAMPLES}) are present: run scripts/setup`);
  // One photo per person: the capture is the enrolment photo itself. These are
  // group photos, so some fail the enrolment quality check; those passengers are
  // still on the manifest (and can be confirmed by hand) but are not captured.
  // Surnames of letters (not 'Person 4'): the name search's checks cut a surname short.
  const names = ['Ada Abbot', 'Ben Baker', 'Cleo Carter', 'Dan Dalton', 'Eve Ellis', 'Finn Fraser'];
  const people = [1, 2, 3, 4, 5, 6].map((i) => ({ name: names[i - 1], enroll: s(i), capture: s(i), extra: s(i) }));
  return { source: `npm sample photos (${SAMPLES})`, samples: true, passengers: people.slice(0, 5), outsider: people[5] };
}

// ---- main ------------------------------------------------------------------------------

const EXTRA_PASSENGERS = 54; // without photos: 60 on the flight, more than one page of 50

async function main() {
  section('stage a flight through the API');
  const faces = chooseFaces();
  console.log(`  faces from ${faces.source}`);
  const who = await api('officer', 'GET', '/v1/whoami');
  must(pick(who, 'role') === 'officer', 'whoami reports the officer role', JSON.stringify(who));
  const officerName = pick(who, 'name') || NAMES.officer;

  const stamp = Date.now().toString(36).slice(-5).toUpperCase();
  const docs = faces.passengers.map((_, i) => `BT${stamp}${String(i + 1).padStart(2, '0')}`);
  const person = (surname, given, i, doc, photos) => ({
    surname, given_names: given, date_of_birth: `19${60 + (i % 40)}-0${(i % 9) + 1}-1${i % 10}`,
    nationality: 'UTO', sex: i % 2 ? 'F' : 'M', category: i === 0 ? 'citizen' : 'foreign',
    document: { type: 'P', number: doc, issuing_state: 'UTO', expiry: '2031-01-01' }, photos,
  });
  const manifest = {
    carrier: 'FG', flight: `${100 + (Date.now() % 800)}`, port: 'XXX',
    scheduled: new Date(Date.now() + 3600e3).toISOString().replace(/\.\d+Z$/, 'Z'),
    direction: 'entry',
    passengers: faces.passengers.map((p, i) => {
      const words = p.name.split(' ');
      return person(words[words.length - 1], words.slice(0, -1).join(' '), i, docs[i], [{ base64: b64(p.enroll) }]);
    }),
  };
  const rep = await api('supervisor', 'POST', '/v1/manifests', manifest);
  const manifestId = pick(rep, 'manifest_id', 'id', 'manifest.id');
  must(manifestId !== undefined, 'manifest imported', `id ${manifestId}`);
  const problems = Array.isArray(pick(rep, 'problems')) ? rep.problems : [];
  const notEnrolled = new Set(problems.map((p) => p.index));
  const enrolledNote = `${pick(rep, 'enrolled_passengers', 'enrolled')} of ${faces.passengers.length}; problems ${JSON.stringify(problems).slice(0, 300)}`;
  if (faces.samples) console.log(`  note: sample photos (group photos): ${enrolledNote}`);
  else ok(Number(pick(rep, 'enrolled_passengers', 'enrolled')) === faces.passengers.length, 'every passenger enrolled', enrolledNote);
  // Late passengers without photos (checked by hand at the gate): the flight
  // now has more passengers than one page of the console's lists.
  const extra = Array.from({ length: EXTRA_PASSENGERS }, (_, k) =>
    person(`LATEPASSENGER${String.fromCharCode(65 + (k % 26))}`, `Extra ${k + 1}`, k + 10, `LX${stamp}${String(k + 1).padStart(3, '0')}`, []));
  const amend = await api('supervisor', 'POST', `/v1/manifests/${manifestId}/passengers`, { passengers: extra });
  ok(Array.isArray(pick(amend, 'problems')), 'late passengers added without photos', `${EXTRA_PASSENGERS} added`);
  const staged = await api('officer', 'GET', `/v1/manifests/${manifestId}`);
  const paxList = listOf(pick(staged, 'passengers') || staged, 'passengers');
  must(paxList.length === faces.passengers.length + EXTRA_PASSENGERS, 'the flight lists every passenger', `${paxList.length}`);
  const travellerOf = (doc) => String(pick(paxList.find((p) => pick(p, 'document.number') === doc) || {}, 'traveller_id'));

  // The watchlisted passenger: the last one, with a third photo of them.
  const wIdx = faces.passengers.length - 1;
  const wl = await api('supervisor', 'POST', '/v1/watchlist', {
    name: `${faces.passengers[wIdx].name} (browser test)`, reason: 'browser test: watchlist screening',
    expires: new Date(Date.now() + 30 * 86400e3).toISOString().replace(/\.\d+Z$/, 'Z'),
    photos: [b64(faces.passengers[wIdx].extra)],
  });
  must(pick(wl, 'id', 'watchlist_id') !== undefined, 'watchlist entry added', `id ${pick(wl, 'id', 'watchlist_id')}`);

  section('gate captures');
  // The gate is told only the action (docs/api.md); what happened is read as
  // the officer reads it: the referral that names the encounter, if any.
  const encounter = async (file, extra = {}) => {
    const g = await api('gate', 'POST', '/v1/encounters', {
      manifest_id: manifestId, gate: 'B12', image_base64: b64(file), ...extra,
    });
    if (g.gate_action !== 'see_officer') return { gate: g, referral: null };
    const refs = await api('officer', 'GET', '/v1/referrals');
    return { gate: g, referral: refs.find((x) => x.encounter_id === g.encounter_id) || null };
  };
  // Passengers 0..n-3 match; passenger n-2 is left for the officer to confirm by hand.
  const confirmIdx = faces.passengers.length - 2;
  const crossedDocs = [];
  for (let i = 0; i < confirmIdx; i++) {
    if (faces.samples && notEnrolled.has(i)) { console.log(`  skip ${faces.passengers[i].name}: not enrolled`); continue; }
    const r = await encounter(faces.passengers[i].capture);
    if (ok(r.gate.gate_action === 'proceed' && r.gate.traveller_name === undefined && r.gate.outcome === undefined,
      `${faces.passengers[i].name} proceeds (the gate is told nothing else)`, JSON.stringify(r.gate))) crossedDocs.push(docs[i]);
  }
  const w = await encounter(faces.passengers[wIdx].capture);
  must(w.gate.gate_action === 'see_officer' && w.gate.watchlist === undefined && w.referral && w.referral.reason === 'watchlist',
    'watchlisted passenger referred for review; the gate only says "see an officer"',
    `gate ${JSON.stringify(w.gate)}, referral ${w.referral && w.referral.id} (${w.referral && w.referral.reason})`);
  const watchRef = String(w.referral.id);

  section('console: cold first render of the sign-in screen');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  try {
    await runBrowser(browser, { faces, manifestId, docs, confirmIdx, watchRef, officerName, encounter, crossedDocs, travellerOf });
  } finally {
    await browser.close();
  }
}

// ---- looking at a screen -----------------------------------------------------------

const WIDTHS = [[900, 900], [1280, 800], [1920, 1080]];
const looked = [];

// The screen (or open dialog) at 900, 1280 and 1920 px wide: a screenshot of
// each, and a failure for any visible "null", "undefined" or "NaN" and for
// anything wider than the window or cut off sideways.
async function look(page, name) {
  for (const [w, hgt] of WIDTHS) {
    await page.setViewportSize({ width: w, height: hgt });
    await page.evaluate(() => new Promise((res) => requestAnimationFrame(() => requestAnimationFrame(res))));
    const found = await page.evaluate(() => {
      const visibleText = [document.body.innerText];
      for (const el of document.querySelectorAll('input, textarea, select')) {
        if (!el.offsetParent && !el.closest('dialog[open]')) continue;
        if (el.type !== 'password') visibleText.push(el.value || '', el.placeholder || '');
      }
      for (const el of document.querySelectorAll('img[alt], [title]')) if (el.offsetParent) visibleText.push(el.getAttribute('alt') || '', el.getAttribute('title') || '');
      const all = visibleText.join('\n');
      const words = [...new Set((all.match(/\b(null|undefined|NaN)\b/g) || []))];
      // every time in one form, "2026-11-27 10:06:52 UTC": no local "7:08:12 AM", no raw ISO
      const times = [...new Set(all.match(/\b\d{1,2}:\d{2}(:\d{2})?\s?[AP]M\b|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}[^\s]*/g) || [])];
      const de = document.documentElement;
      const width = de.clientWidth;
      const wide = [];
      const describe = (el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className && typeof el.className === 'string' ? `.${el.className.trim().split(/\s+/).join('.')}` : ''}`;
      for (const el of document.querySelectorAll('body *')) {
        const r = el.getBoundingClientRect();
        if (!r.width || !r.height) continue;
        const cs = getComputedStyle(el);
        if (cs.visibility === 'hidden') continue;
        if (r.right > width + 1 || (r.left < -1 && r.right > 0)) wide.push(`${describe(el)} spans ${Math.round(r.left)}..${Math.round(r.right)} of ${width}`);
        else if (cs.overflowX !== 'visible' && el.scrollWidth > el.clientWidth + 1) wide.push(`${describe(el)} cut off: ${el.scrollWidth} px in ${el.clientWidth}`);
        if (wide.length > 5) break;
      }
      return { words, times, wide, page: de.scrollWidth > width + 1 ? `page ${de.scrollWidth} px wide in ${width}` : null };
    });
    const file = path.join(OUT, `${name}-${w}.png`);
    await page.screenshot({ path: file, fullPage: false });
    looked.push(`${name}-${w}`);
    ok(!found.words.length, `${name} at ${w} px: no visible null, undefined or NaN`, found.words.join(' '));
    ok(!found.times.length, `${name} at ${w} px: every time in one form (YYYY-MM-DD HH:MM:SS UTC)`, found.times.slice(0, 3).join(' '));
    ok(!found.page && !found.wide.length, `${name} at ${w} px: nothing wider than the window or cut off`, [found.page, ...found.wide].filter(Boolean).join('; '));
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

async function signIn(page, role) {
  await page.fill('#token', TOKENS[role]);
  await page.press('#token', 'Enter');
  await page.waitForSelector('#who b', { timeout: 5000 });
}

async function signOut(page) {
  await page.click('#signout');
  await page.waitForSelector('body[data-screen="signin"]');
}

async function screen(page, id, ready) {
  await page.click(`#nav a[data-screen="${id}"]`);
  await page.waitForSelector(`body[data-screen="${id}"]`, { timeout: 5000 });
  if (ready) await page.waitForSelector(ready, { timeout: 5000 });
}

async function runBrowser(browser, ctx) {
  const { faces, docs, confirmIdx, watchRef, officerName, encounter, crossedDocs, travellerOf } = ctx;
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const pageErrors = [];
  const outside = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // (the refused token's 401 is expected; Chromium logs every failed fetch as a console error)
  page.on('console', (m) => { if (m.type() === 'error' && !/status of 401/.test(m.text())) pageErrors.push(`console: ${m.text()}`); });
  page.on('request', (r) => { const u = r.url(); if (!u.startsWith(BASE) && !u.startsWith('data:')) outside.push(u); });

  // developer mode (?dev): the console checks every JSON answer against the
  // response schemas of /openapi.json (web/core.js, web/schema.js)
  await page.goto(`${BASE}/?dev`, { waitUntil: 'load' });
  await page.waitForFunction(() => performance.getEntriesByName('fg:signin-rendered').length > 0, null, { timeout: 10000 });
  const timing = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    const mark = performance.getEntriesByName('fg:signin-rendered')[0];
    const res = performance.getEntriesByType('resource');
    return {
      fcp: fcp ? fcp.startTime : null,
      rendered: mark.startTime,
      domContentLoaded: nav.domContentLoadedEventEnd,
      load: nav.loadEventEnd,
      bytes: (nav.transferSize || 0) + res.reduce((a, r) => a + (r.transferSize || 0), 0),
      requests: 1 + res.length,
    };
  });
  // rendered: the later of the console's own mark (one frame after it showed the
  // sign-in screen) and the first contentful paint
  timing.rendered = Math.max(timing.rendered, timing.fcp ?? 0);
  console.log(`  first render of the sign-in screen: ${timing.rendered.toFixed(1)} ms after navigation start`
    + ` (first contentful paint ${timing.fcp === null ? 'n/a' : `${timing.fcp.toFixed(1)} ms`}, DOMContentLoaded ${timing.domContentLoaded.toFixed(1)} ms,`
    + ` load ${timing.load.toFixed(1)} ms; ${timing.requests} requests, ${(timing.bytes / 1024).toFixed(1)} KiB)`);
  // A figure, not an assertion: the machines are shared, and a timing in a test
  // fails on a busy one (the project's rule). Over the target, it says so.
  if (timing.rendered >= FIRST_RENDER_TARGET_MS) console.log(`  note: over the ${FIRST_RENDER_TARGET_MS} ms target on this run (machine load ${os.loadavg()[0].toFixed(1)})`);
  must(await page.isVisible('#token'), 'token field visible');
  const icon = await fetch(`${BASE}/favicon.ico`);
  ok(icon.status === 200 && /icon/.test(icon.headers.get('content-type') || ''), '/favicon.ico is served', `${icon.status} ${icon.headers.get('content-type')}`);
  await look(page, 'signin');

  section('console: officer signs in, the queue updates by itself');
  await page.fill('#token', 'fgt_not_a_real_token');
  await page.press('#token', 'Enter');
  await page.waitForSelector('#signin-error:not(:empty)', { timeout: 5000 });
  ok(await page.evaluate(() => sessionStorage.getItem('facegate.token') === null), 'a refused token is not kept');
  await page.fill('#token', TOKENS.officer);
  await page.press('#token', 'Enter');
  await page.waitForSelector('body[data-screen="queue"]', { timeout: 5000 });
  ok(await page.evaluate((t) => sessionStorage.getItem('facegate.token') === t && localStorage.length === 0, TOKENS.officer),
    'token in sessionStorage only, localStorage empty');
  ok(!page.url().includes(TOKENS.officer) && !page.url().includes('fgt_'), 'token not in the URL', page.url());
  ok((await page.textContent('#who')).includes(officerName), 'header shows the officer', officerName);
  await page.waitForSelector(`#queue-table tr[data-id="${watchRef}"]`, { timeout: 5000 });
  ok(true, 'watchlist referral in the queue', `#${watchRef}`);
  await page.evaluate(() => { window.__noReload = true; });

  const outsider = await encounter(faces.outsider.capture);
  must(outsider.referral && outsider.referral.outcome === 'NO_MATCH',
    `${faces.outsider.name} (not on the flight) NO_MATCH and referred`,
    `score ${outsider.referral && outsider.referral.score} threshold ${outsider.referral && outsider.referral.threshold}`);
  const noMatchRef = String(outsider.referral.id);
  const seenAt = Date.now();
  await page.waitForSelector(`#queue-table tr[data-id="${noMatchRef}"]`, { timeout: 6000 });
  ok(await page.evaluate(() => window.__noReload === true), 'new referral appeared without a reload', `${Date.now() - seenAt} ms after the capture`);
  const rowText = await page.textContent(`#queue-table tr[data-id="${noMatchRef}"]`);
  const reason = await page.getAttribute(`#queue-table tr[data-id="${noMatchRef}"] .badge`, 'data-value');
  const wantReason = outsider.referral.reason;
  ok(reason === wantReason && /B12/.test(rowText) && rowText.includes(Number(outsider.referral.score).toFixed(3)),
    'queue row shows reason, gate and score', `${reason}: ${rowText.replace(/\s+/g, ' ').trim()}`);
  ok(wantReason === 'no_match', 'the outsider\'s referral is a no-match one (no watchlist hit)', wantReason);
  ok(!rowText.includes(String(pick(outsider.referral, 'candidate.name') ?? '\u0000')), 'the queue names nobody for a no-match', rowText.replace(/\s+/g, ' ').trim());
  await look(page, 'queue');

  // Idle on the queue: the console polls the summary (not audited) and does
  // not fetch the list (audited as referral.list) while nothing changes.
  const idleRequests = [];
  const onIdleRequest = (r) => { const u = new URL(r.url()); if (u.pathname.startsWith('/v1/referrals')) idleRequests.push(u.pathname + u.search); };
  const listsBefore = await auditCount('referral.list');
  page.on('request', onIdleRequest);
  await page.waitForTimeout(5000);
  page.off('request', onIdleRequest);
  const listsAfter = await auditCount('referral.list');
  const summaries = idleRequests.filter((u) => u === '/v1/referrals/summary').length;
  ok(summaries >= 2, 'idle queue polls the summary', `${summaries} summary requests in 5 s`);
  ok(idleRequests.every((u) => u === '/v1/referrals/summary'), 'idle queue fetches no list', idleRequests.join(' ') || 'no requests');
  ok(listsAfter === listsBefore, 'idle queue adds no referral.list audit events in 5 s', `${listsBefore} before, ${listsAfter} after`);
  ok(await page.isVisible(`#queue-table tr[data-id="${noMatchRef}"]`), 'queue still shows the referrals after idling');

  section('console: the watchlist hit beside the watchlist photo');
  await selectInQueue(page, watchRef);
  await page.keyboard.press('Enter');
  await page.waitForSelector('body[data-screen="referral"] #watchlist', { timeout: 5000 });
  ok(/WATCHLIST/i.test(await page.textContent('#watchlist')), 'watchlist hit details shown');
  const wlScoreText = (await page.textContent('#watchlist')).replace(/\s+/g, ' ');
  ok(/threshold \d\.\d+: at or above/.test(wlScoreText), 'the watchlist score is shown beside its threshold', wlScoreText.slice(0, 200));
  ok(await waitImage(page, '#watchlist-photo img'), 'the watchlist photo is shown beside the capture');
  ok(await waitImage(page, '#capture img'), 'live capture shown');
  const wApi = await api('officer', 'GET', `/v1/referrals/${watchRef}?images=1`);
  const face = pick(wApi, 'capture_face');
  ok(face && face.w > 0 && face.w <= face.width && face.h <= face.height, 'the service cuts the capture\'s face region', face ? `${face.w}x${face.h} at ${face.x},${face.y} of ${face.width}x${face.height}` : 'none');
  if (face) {
    const shown = await page.evaluate(() => { const i = document.querySelector('#capture img'); return { w: i.naturalWidth, h: i.naturalHeight, cap: document.querySelector('#capture figcaption').textContent }; });
    ok(shown.w === face.w && shown.h === face.h && /face region/.test(shown.cap), 'the console shows the face region at the capture\'s own resolution', `${shown.w}x${shown.h}: ${shown.cap}`);
  }
  await look(page, 'referral-watchlist');
  await page.keyboard.press('Escape');
  await page.waitForSelector('body[data-screen="queue"]');

  section('console: the no-match referral proposes nobody');
  await selectInQueue(page, noMatchRef);
  const focusVisible = await page.evaluate(() => {
    const el = document.activeElement;
    return el && el.matches(':focus-visible') && getComputedStyle(el).outlineStyle !== 'none';
  });
  ok(focusVisible, 'the selected row has a visible focus ring');
  await page.keyboard.press('Enter');
  await page.waitForSelector('body[data-screen="referral"] #score', { timeout: 5000 });
  ok(await waitImage(page, '#capture img'), 'live capture shown');
  const scoreText = await page.textContent('#score');
  const sc = Number(outsider.referral.score);
  ok(Number.isFinite(sc) ? scoreText.includes(sc.toFixed(3)) && /threshold/.test(scoreText) : /threshold/.test(scoreText),
    'score and threshold shown', scoreText.replace(/\s+/g, ' ').trim().slice(0, 120));
  const nearest = pick(outsider.referral, 'candidate.name');
  const refText = await page.textContent('#view');
  ok(!nearest || !refText.includes(nearest), 'the nearest passenger of a no-match is neither named nor proposed', nearest ? `nearest: ${nearest}` : 'the service named none');
  ok(!(await page.$('#document-photos img')), 'no document photo is shown for a no-match');
  await look(page, 'referral-nomatch');

  section('console: every decision dialog');
  for (const [key, kind] of [['s', 'secondary'], ['x', 'close'], ['n', 'note']]) {
    await page.keyboard.press(key);
    await page.waitForSelector(`#dialog[open] #decision-${kind}`, { timeout: 5000 });
    const label = (await page.textContent(`#decision-${kind} label[for="decision-note"]`)).trim();
    ok(label === (kind === 'note' ? 'Note' : 'Note (optional)'), `the ${kind} dialog's note is labelled plainly`, JSON.stringify(label));
    await look(page, `dialog-${kind}`);
    await page.keyboard.press('Escape');
    await page.waitForSelector('#dialog:not([open])', { state: 'attached' });
  }
  await page.keyboard.press('?');
  await page.waitForSelector('#help[open]');
  await look(page, 'dialog-keys');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#help:not([open])', { state: 'attached' });

  section('console: confirming takes a deliberate choice, never one keystroke');
  const decisions = [];
  const onDecision = (r) => { if (/\/decision$/.test(new URL(r.url()).pathname)) decisions.push(r.method()); };
  page.on('request', onDecision);
  await page.keyboard.press('c');
  await page.waitForSelector('#dialog[open] #traveller-filter', { timeout: 5000 });
  ok(await page.evaluate(() => !document.querySelector('#dialog input[name="traveller"]:checked')), 'after a no-match nobody is pre-selected');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#decision-error:not(:empty)', { timeout: 3000 });
  await page.waitForTimeout(300);
  ok(await page.isVisible('#dialog[open]') && decisions.length === 0, 'c then Enter records nothing', `${(await page.textContent('#decision-error')).trim()}; ${decisions.length} decision requests`);
  ok(await page.isDisabled('#decision-send'), 'the record button stays disabled until a passenger is chosen and checked');
  const counts = (await page.textContent('#traveller-counts')).trim();
  ok(/not yet crossed/.test(counts), 'the dialog says how many passengers have not crossed', counts);
  ok(await page.evaluate(() => document.querySelectorAll('#traveller-choices label:not([hidden])').length <= 40), 'a long passenger list is cut to the first 40 until narrowed',
    (await page.textContent('#traveller-more')).trim());
  await look(page, 'dialog-confirm');

  if (crossedDocs.length) {
    const tid = travellerOf(crossedDocs[0]);
    ok(await page.isDisabled(`#t-${tid}`), 'a passenger who already crossed cannot be chosen (disabled)', `traveller ${tid}`);
    await page.fill('#traveller-filter', crossedDocs[0]);
    await page.waitForTimeout(100);
    await page.click(`label[for="t-${tid}"]`, { force: true }).catch(() => {});
    ok(await page.evaluate((id) => !document.querySelector(`#t-${id}`).checked && !document.querySelector('#dialog input[name="traveller"]:checked'), tid),
      'typing or clicking a crossed passenger chooses nobody');
    await page.fill('#traveller-filter', '');
  }

  const target = faces.passengers[confirmIdx];
  const doc = docs[confirmIdx];
  const targetId = travellerOf(doc);
  await page.focus('#traveller-filter');
  await page.keyboard.type(doc);
  await page.waitForFunction((id) => document.querySelector(`#t-${id}`)?.checked, targetId, { timeout: 3000 }).catch(() => {});
  const chosen = await page.evaluate(() => {
    const c = document.querySelector('#dialog input[name="traveller"]:checked');
    return c ? c.closest('label').textContent : null;
  });
  ok(chosen && chosen.toLowerCase().includes(target.name.split(' ').pop().toLowerCase()), 'typing the document number chooses that passenger', chosen?.replace(/\s+/g, ' ').trim());
  ok(chosen && !chosen.includes(doc.slice(-4)), 'the screen hides the last characters the officer must type', chosen?.replace(/\s+/g, ' ').trim());
  ok(await waitImage(page, '#confirm-document-photo img') || faces.samples, 'the chosen passenger\'s document photo is shown beside the live capture');
  ok(await waitImage(page, '#confirm-capture img'), 'the live capture is in the dialog');
  await page.keyboard.press('Enter'); // from the filter: to the document-number field
  ok(await page.evaluate(() => document.activeElement?.id === 'confirm-digits'), 'Enter moves on to the document-number check');
  const wrong = doc.slice(-4) === '0000' ? '1111' : '0000';
  await page.keyboard.type(wrong);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#decision-error:not(:empty)', { timeout: 3000 });
  await page.waitForTimeout(300);
  ok(await page.isVisible('#dialog[open]') && decisions.length === 0, 'a wrong document-number ending records nothing', (await page.textContent('#decision-error')).trim());
  await look(page, 'dialog-confirm-chosen');
  await page.fill('#confirm-digits', '');
  await page.focus('#confirm-digits');
  await page.keyboard.type(doc.slice(-4));
  ok(!(await page.isDisabled('#decision-send')), 'the right ending enables the record button');
  await page.keyboard.press('Enter');
  await page.waitForSelector('body[data-screen="queue"]', { timeout: 5000 });
  page.off('request', onDecision);
  ok(decisions.length === 1, 'one decision sent', `${decisions.length}`);
  ok((await page.textContent('#status')).includes(officerName), 'console says who recorded the decision', (await page.textContent('#status')).trim());
  await page.waitForFunction((id) => !document.querySelector(`#queue-table tr[data-id="${id}"]`), noMatchRef, { timeout: 6000 });
  ok(true, 'decided referral left the open queue');

  section('API: the decision and the manual crossing are stored');
  const ref = await api('officer', 'GET', `/v1/referrals/${noMatchRef}`);
  const refStatus = pick(ref, 'status', 'referral.status');
  const refOfficer = pick(ref, 'officer', 'referral.officer', 'decided_by');
  ok(refStatus === 'confirmed', 'referral status confirmed', refStatus);
  ok(refOfficer === officerName, 'decision recorded under the officer\'s name', refOfficer);
  ok(String(pick(ref, 'traveller_id')) === targetId, 'the traveller confirmed is the one chosen', `${pick(ref, 'traveller_id')} (chosen ${targetId})`);
  const cr = await api('officer', 'GET', `/v1/travellers/${encodeURIComponent(doc)}/crossings`);
  const crossings = listOf(pick(cr, 'crossings') || cr, 'crossings');
  const manual = crossings.find((c) => pick(c, 'method') === 'manual');
  ok(!!manual, `manual crossing recorded for ${target.name}`, JSON.stringify(manual || crossings).slice(0, 200));
  ok(manual && pick(manual, 'officer') === officerName, 'the crossing names the officer', manual && pick(manual, 'officer'));
  const again = await call('officer', 'POST', `/v1/referrals/${watchRef}/decision`, { decision: 'confirm', traveller_id: Number(targetId) });
  ok(again.status === 409, 'the service refuses to cross a passenger twice', `${again.status} ${again.text.slice(0, 160)}`);

  section('console: traveller history, flight board, overstays');
  await screen(page, 'traveller', '#traveller-search');
  await page.fill('#traveller-search', doc);
  await page.press('#traveller-search', 'Enter');
  await page.waitForSelector('#crossings-table', { timeout: 5000 });
  ok(/MANUAL/.test(await page.textContent('#crossings-table')), 'history shows the manual crossing');
  await look(page, 'traveller');
  // by name: names are sealed and found through a blind index, whole, in any case
  const tWords = target.name.split(' ');
  const tSurname = tWords[tWords.length - 1];
  await page.fill('#traveller-surname', tSurname.toLowerCase());
  await page.fill('#traveller-given', tWords.slice(0, -1).join(' ').toUpperCase());
  await page.click('#traveller-by-name button[type=submit]');
  await page.waitForSelector('#traveller-matches, #traveller-result p.error', { timeout: 5000 });
  const matches = await page.$('#traveller-matches') ? await page.textContent('#traveller-matches') : await page.textContent('#traveller-result');
  ok(matches.includes(doc) && matches.toUpperCase().includes(tSurname.toUpperCase()), `finding ${target.name} by name (typed in other case) lists their document`, matches.replace(/\s+/g, ' ').slice(0, 200));
  await look(page, 'traveller-by-name');
  await page.click('#traveller-matches button');
  await page.waitForSelector('#crossings-table', { timeout: 5000 });
  ok(/MANUAL/.test(await page.textContent('#crossings-table')), 'a match opens the traveller\'s crossings');
  await page.fill('#traveller-given', '');
  await page.fill('#traveller-surname', tSurname.slice(0, 3));
  await page.click('#traveller-by-name button[type=submit]');
  await page.waitForSelector('#traveller-result p.error', { timeout: 5000 });
  ok(!(await page.$('#traveller-matches')), 'a surname\'s first letters find nobody (names match whole)', (await page.textContent('#traveller-result')).trim().slice(0, 120));

  await screen(page, 'flights', '#board-table');
  const board = (await page.textContent('#board-table')).replace(/\s+/g, ' ');
  ok(board.includes('FG') && !/FGFG/.test(board), 'flight board lists the flight once named', board.slice(0, 160));
  await page.click(`#board-table tr[data-id="${ctx.manifestId}"]`);
  await page.waitForSelector('#pax-table', { timeout: 5000 });
  const total = faces.passengers.length + EXTRA_PASSENGERS;
  ok(await page.evaluate(() => document.querySelectorAll('#pax-table tbody tr').length) === 50, 'the passenger list shows a page of 50');
  ok((await page.textContent('#pax-pager')).includes(`of ${total}`), 'the pager says how many', (await page.textContent('#pax-pager')).trim());
  await look(page, 'flights');
  await page.click('#pax-next');
  ok(await page.evaluate(() => document.querySelectorAll('#pax-table tbody tr').length) === total - 50, 'the next page holds the rest');
  await page.fill('#pax-filter', doc);
  ok(await page.evaluate(() => document.querySelectorAll('#pax-table tbody tr').length) === 1, 'the filter finds a passenger by document number');
  await page.fill('#pax-filter', '');
  await page.selectOption('#pax-status', 'manual');
  ok(await page.evaluate(() => document.querySelectorAll('#pax-table tbody tr').length) === 1, 'the status filter shows the one crossed by hand');
  await look(page, 'flights-filtered');

  await screen(page, 'overstays', '#overstays-result > *');
  await look(page, 'overstays');

  await signOut(page);
  ok(await page.evaluate(() => Object.keys(sessionStorage).every((k) => k === 'facegate.dev') && localStorage.length === 0 && !document.querySelector('#capture img')),
    'sign-out clears the token and the biometric images');

  section('console: the supervisor');
  await signIn(page, 'supervisor');
  ok(!(await page.$('#nav a[data-screen="queue"]')), 'supervisor has no referral queue');
  await screen(page, 'report', '#report-tiles');
  await look(page, 'report-supervisor');
  await screen(page, 'policy', '#policy-table');
  await look(page, 'policy');
  // the watchlist, managed from the console
  await screen(page, 'watchlist', '#watchlist-table');
  const wlName = `${faces.passengers[faces.passengers.length - 1].name} (browser test)`;
  ok((await page.textContent('#watchlist-table')).includes(wlName), 'the watchlist screen lists the entry', wlName);
  await look(page, 'watchlist');
  const added = 'Console Test Entry';
  await page.fill('#watchlist-name', added);
  await page.fill('#watchlist-reason', 'browser test: added and removed from the console');
  await page.setInputFiles('#watchlist-photos', faces.passengers[faces.passengers.length - 1].extra);
  await page.click('#watchlist-submit');
  const shown = await page.waitForFunction((n) => (document.querySelector('#watchlist-table')?.textContent || '').includes(n), added, { timeout: 20000 }).then(() => true, () => false);
  ok(shown, 'an entry added from the console (name, reason, photo) appears in the list', shown ? '' : await page.textContent('#watchlist-error'));
  const entry = listOf(await api('supervisor', 'GET', '/v1/watchlist'), 'entries').find((e) => pick(e, 'name') === added);
  ok(entry && pick(entry, 'status') === 'active' && pick(entry, 'templates') === 1 && pick(entry, 'added_by') === NAMES.supervisor,
    'API: the entry is active, with one template, added by the supervisor', JSON.stringify(entry));
  if (entry) {
    await page.click(`#watchlist-table tr[data-id="${pick(entry, 'id')}"] button`);
    await page.waitForSelector('#watchlist-remove', { timeout: 5000 });
    await look(page, 'dialog-watchlist-remove');
    await page.press('#watchlist-remove-send', 'Enter');
    const gone = await page.waitForFunction((id) => !document.querySelector(`#watchlist-table tr[data-id="${id}"]`) && !document.querySelector('dialog[open]'), pick(entry, 'id'), { timeout: 10000 }).then(() => true, () => false);
    ok(gone, 'removing it (with a confirmation) takes it off the active list');
    const after = listOf(await api('supervisor', 'GET', '/v1/watchlist'), 'entries').find((e) => pick(e, 'id') === pick(entry, 'id'));
    ok(after && pick(after, 'status') === 'removed' && pick(after, 'templates') === 0, 'API: the entry is removed and its templates deleted', JSON.stringify(after));
  }
  await signOut(page);

  section('console: the auditor sees the report and the audit chain verified');
  await signIn(page, 'auditor');
  ok(!(await page.$('#nav a[data-screen="queue"]')), 'auditor has no referral queue');
  await screen(page, 'report', '#report-tiles');
  await page.waitForSelector('#chart-outcomes svg', { timeout: 5000 }).catch(() => {});
  ok(!!(await page.$('#chart-outcomes svg')), 'report draws the outcome chart as SVG');
  // Error rates per traveller group: the section and its three dimensions
  // render; this flight's few travellers (nationality UTO) are below the
  // minimum group, so the server withholds them and the screen says so.
  await page.waitForSelector('#report-groups', { timeout: 5000 }).catch(() => {});
  const groupsText = (await page.textContent('#report-groups').catch(() => '')) || '';
  ok(/Error rates per traveller group/.test(groupsText) && /By sex/.test(groupsText) && /By age band/.test(groupsText) && /By nationality/.test(groupsText),
    'report shows the error rates per traveller group', groupsText.replace(/\s+/g, ' ').slice(0, 200));
  ok(/Wilson/.test(groupsText) && /fewer than \d+ travellers are withheld/.test(groupsText), 'the breakdown names its interval and its suppression rule');
  ok(!!(await page.$('#report-groups p.withheld[data-dim="nationality"]')) && !groupsText.includes('UTO'),
    'a nationality with too few travellers is withheld, not shown', groupsText.replace(/\s+/g, ' ').slice(0, 300));
  const figures = await page.textContent('#report-figures');
  ok(/Capture rate/.test(figures) && !/capture_rate|\.value|numerator/.test(figures), 'the report\'s figures have labels a person reads', figures.replace(/\s+/g, ' ').slice(0, 160));
  await look(page, 'report');
  await screen(page, 'audit', '#chain[data-ok]');
  ok(await page.getAttribute('#chain', 'data-ok') === 'true', 'audit screen shows the chain verified', (await page.textContent('#chain')).replace(/\s+/g, ' ').trim().slice(0, 140));
  await page.waitForSelector('#audit-table', { timeout: 5000 });
  const auditText = await page.textContent('#audit-table');
  ok(auditText.includes(officerName), 'audit log lists the officer\'s actions');
  ok(!/[{}"]/.test(await page.evaluate(() => [...document.querySelectorAll('#audit-table td:last-child')].map((td) => td.innerText).join(' '))), 'audit details read as names and values, not JSON');
  await look(page, 'audit');
  const v = await api('auditor', 'GET', '/v1/audit/verify');
  ok(v && v.ok === true, 'API: audit chain verifies', JSON.stringify(v));
  await signOut(page);

  section('console: the admin');
  await signIn(page, 'admin');
  await screen(page, 'tokens', '#view table');
  await look(page, 'tokens');
  await signOut(page);

  const dev = await page.evaluate(() => window.fgSchemaCheck && { enabled: window.fgSchemaCheck.enabled, checked: window.fgSchemaCheck.checked, violations: window.fgSchemaCheck.violations });
  // How many answers depends on the polls that fell inside the run (49-55 seen): the
  // bound says every screen's reads went through the check, not an exact count.
  ok(dev && dev.enabled && dev.checked >= 30, 'developer mode checked the console\'s API answers against /openapi.json', dev ? `${dev.checked} answers` : 'window.fgSchemaCheck missing');
  ok(dev && dev.violations.length === 0, 'every API answer the console read fits its documented schema', dev ? dev.violations.slice(0, 5).join(' | ') : '');
  ok(!pageErrors.length, 'no script errors in the page', pageErrors.join(' | '));
  ok(outside.length === 0, 'nothing fetched from outside the server', outside.join(' '));
  console.log(`  looked at ${looked.length} screens and dialogs: ${looked.filter((n) => n.endsWith('-1280')).map((n) => n.replace(/-1280$/, '')).join(', ')}`);
  await context.close();
}

async function selectInQueue(page, id) {
  // move the selection with j/k until the row is selected
  // (at least one key press, so the row gets keyboard focus and :focus-visible)
  let pressed = false;
  for (let i = 0; i < 50; i++) {
    const st = await page.evaluate((want) => {
      const rows = [...document.querySelectorAll('#queue-table tbody tr')];
      return { n: rows.length, sel: rows.findIndex((r) => r.classList.contains('selected')), want: rows.findIndex((r) => r.dataset.id === want) };
    }, id);
    if (st.want < 0) throw new Error(`referral ${id} is not in the queue`);
    if (st.sel === st.want) {
      if (pressed) return;
      if (st.want === st.n - 1) await page.keyboard.press('j'); // clamped: stays, focuses
      else if (st.want === 0) await page.keyboard.press('k');
      else { await page.keyboard.press('j'); await page.keyboard.press('k'); }
      pressed = true;
      continue;
    }
    await page.keyboard.press(st.sel < st.want ? 'j' : 'k');
    pressed = true;
  }
  throw new Error(`could not select referral ${id}`);
}

async function waitImage(page, sel) {
  try {
    await page.waitForFunction((s) => { const i = document.querySelector(s); return i && i.complete && i.naturalWidth > 0; }, sel, { timeout: 5000 });
    return true;
  } catch { return false; }
}

main().then(() => {
  console.log(`\nbrowser test: ${passed} passed, ${failures.length} failed (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  if (failures.length) { console.log(`failed: ${failures.join('; ')}`); process.exit(1); }
}).catch((e) => {
  console.error(`\nbrowser test: error: ${e.stack || e.message}`);
  console.log(`browser test: ${passed} passed, ${failures.length + 1} failed`);
  process.exit(1);
});
