// Every route's responses against the response schemas of /openapi.json.
//
// tests/browser/run.sh runs this after console.test.mjs, against the same
// real `facegate serve` (so the store holds the console test's flight,
// encounters, referrals, decisions, crossings and watchlist entry), with the
// same environment (FACEGATE_URL, FG_TOKEN_<ROLE>, FACEGATE_LFW,
// FACEGATE_SAMPLES, BROWSER_OUT). It
//   1. reads /openapi.json from the server and checks the document itself:
//      every JSON response of every operation has a schema, and every object
//      schema says what else it may hold (additionalProperties false, or a
//      schema for a map's values; true only with x-free-form saying why);
//   2. calls every documented path and method, as a role allowed to use it
//      (and, for the errors, without a token, as a role that may not, with a
//      malformed or unknown id), and checks each body against the schema
//      documented for its status and media type (web/schema.js, the checker
//      the console's developer mode uses too);
//   3. shows that the check can fail: a real body with an undocumented member,
//      a member of the wrong type, a missing required member, each fails.
// Bodies go to BROWSER_OUT/responses/ for reading. Exit status 0 only if every
// check passed.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { validate, checkResponse, templateOf } from '../../web/schema.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BASE = (process.env.FACEGATE_URL || '').replace(/\/$/, '');
const OUT = path.resolve(root, process.env.BROWSER_OUT || 'build/browser', 'responses');
const LFW = path.resolve(root, process.env.FACEGATE_LFW || '../shared/data/lfw');
const SAMPLES = path.resolve(root, process.env.FACEGATE_SAMPLES || 'var/samples');
const ROLES = ['gate', 'officer', 'supervisor', 'auditor', 'admin'];
const TOKENS = Object.fromEntries(ROLES.map((r) => [r, process.env[`FG_TOKEN_${r.toUpperCase()}`]]));
if (!BASE || ROLES.some((r) => !TOKENS[r])) {
  console.error('schemas.test: FACEGATE_URL and FG_TOKEN_{GATE,OFFICER,SUPERVISOR,AUDITOR,ADMIN} are required (tests/browser/run.sh sets them)');
  process.exit(2);
}
fs.rmSync(OUT, { recursive: true, force: true });
fs.mkdirSync(OUT, { recursive: true });

let passed = 0;
const failures = [];
function ok(cond, what, extra) {
  if (cond) passed++;
  else failures.push(what);
  if (!cond || process.env.VERBOSE) console.log(`  ${cond ? 'ok  ' : 'FAIL'} ${what}${extra ? ` (${extra})` : ''}`);
  return !!cond;
}

// ---- the document itself ----------------------------------------------------------

const docRes = await fetch(`${BASE}/openapi.json`);
const doc = await docRes.json();

// Object schemas that do not say what else they may hold, and JSON responses
// without a schema, anywhere under the operations' responses.
function lint() {
  const problems = [];
  const seen = new Set();
  const walk = (s, where) => {
    if (!s || typeof s !== 'object') return;
    if (s.$ref) {
      if (seen.has(s.$ref)) return;
      seen.add(s.$ref);
      walk(s.$ref.slice(2).split('/').reduce((o, k) => o?.[k], doc), s.$ref);
      return;
    }
    if (!s.type && !s.oneOf && !s.anyOf && !s.allOf && !s['x-free-form']) problems.push(`${where}: a schema without a type`);
    if (s.type === 'object' || s.properties) {
      if (s.additionalProperties === undefined) problems.push(`${where}: an object schema without additionalProperties`);
      if (s.additionalProperties === true && !s['x-free-form']) problems.push(`${where}: additionalProperties true without x-free-form saying why`);
    }
    for (const [k, v] of Object.entries(s.properties || {})) walk(v, `${where}.${k}`);
    if (typeof s.additionalProperties === 'object') walk(s.additionalProperties, `${where}.*`);
    if (s.items) walk(s.items, `${where}[]`);
    for (const kw of ['oneOf', 'anyOf', 'allOf']) (s[kw] || []).forEach((x, i) => walk(x, `${where}/${kw}[${i}]`));
  };
  for (const [p, ops] of Object.entries(doc.paths)) {
    for (const [m, op] of Object.entries(ops)) {
      for (const [code, res0] of Object.entries(op.responses || {})) {
        const res = res0.$ref ? res0.$ref.slice(2).split('/').reduce((o, k) => o?.[k], doc) : res0;
        for (const [mt, c] of Object.entries(res.content || {})) {
          const where = `${m.toUpperCase()} ${p} ${code} ${mt}`;
          if (/json/.test(mt) && !c.schema) problems.push(`${where}: no schema`);
          walk(c.schema, where);
        }
      }
    }
  }
  return problems;
}
const lintProblems = lint();
ok(lintProblems.length === 0, 'every JSON response has a schema that says what else an object may hold', lintProblems.slice(0, 8).join('; '));

// ---- calling every route ------------------------------------------------------------

const called = new Map(); // "METHOD template" -> Set of statuses
let saved = 0;

// Call the API as ROLE (null: no token) and check the answer against its schema.
async function call(role, method, p, { body, expect, raw } = {}) {
  const headers = { Accept: 'application/json' };
  if (role) headers.Authorization = `Bearer ${role.startsWith('fgt_') ? role : TOKENS[role]}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(BASE + p, { method, headers, body: body === undefined ? undefined : raw ? body : JSON.stringify(body) });
  const type = res.headers.get('content-type') || '';
  const buf = Buffer.from(await res.arrayBuffer());
  let json;
  if (/json/.test(type)) {
    try { json = JSON.parse(buf.toString('utf8')); } catch (e) { json = undefined; }
  }
  const label = `${method} ${p.split('?')[0]} as ${role && !role.startsWith('fgt_') ? role : role ? 'a revoked token' : 'nobody'} -> ${res.status}`;
  if (expect !== undefined) ok([].concat(expect).includes(res.status), `${label}: status ${[].concat(expect).join(' or ')}`, buf.toString('utf8').slice(0, 200));
  if (/json/.test(type)) ok(json !== undefined, `${label}: the body is JSON`);
  const errs = checkResponse(doc, method, p, res.status, type, json);
  ok(errs.length === 0, `${label}: ${type.split(';')[0] || 'no body'} fits the schema`, errs.slice(0, 6).join('; '));
  const t = templateOf(doc, method, p);
  if (t) {
    const k = `${method} ${t}`;
    if (!called.has(k)) called.set(k, new Set());
    called.get(k).add(res.status);
  }
  if (json !== undefined) {
    fs.writeFileSync(path.join(OUT, `${String(++saved).padStart(3, '0')}-${method}-${p.split('?')[0].replace(/[^A-Za-z0-9]+/g, '_')}-${res.status}.json`),
      JSON.stringify({ method, path: p, template: t, status: res.status, role: role?.startsWith('fgt_') ? 'revoked token' : role, body: json }, null, 1));
  }

  return { status: res.status, json, type, buf };
}
const b64 = (f) => fs.readFileSync(f).toString('base64');

// Faces: one person's two photos and someone else's, from LFW when present,
// else from the face fixture (tests/facefixture.h in LFW's layout, which
// tests/browser/run.sh writes to FACEGATE_FACEFIXTURE without LFW).
function faces() {
  const pick3 = (root, who, other) => {
    const img = (n, i) => path.join(root, 'lfw-deepfunneled', n, `${n}_${String(i).padStart(4, '0')}.jpg`);
    const f = { a: img(who, 1), b: img(who, 2), other: img(other, 2) };
    return Object.values(f).every((x) => fs.existsSync(x)) ? f : null;
  };
  const f = pick3(LFW, 'Colin_Powell', 'Serena_Williams')
    || (process.env.FACEGATE_FACEFIXTURE && pick3(process.env.FACEGATE_FACEFIXTURE, 'Sample_Amber', 'Sample_Basil'));
  if (!f) {
    console.error(`schemas.test: neither LFW (${LFW}) nor the face fixture (FACEGATE_FACEFIXTURE, made by build/tests/make_facefixture) is there`);
    process.exit(2);
  }
  return f;
}
const face = faces();

console.log('== the service');
await call(null, 'GET', '/healthz', { expect: 200 });
await call(null, 'GET', '/openapi.json', { expect: 200 });
await call(null, 'GET', '/', { expect: 200 });
await call('auditor', 'GET', '/metrics', { expect: 200 });
await call('officer', 'GET', '/metrics', { expect: 403 });
for (const r of ROLES) await call(r, 'GET', '/v1/whoami', { expect: 200 });
await call(null, 'GET', '/v1/whoami', { expect: 401 });
await call('fgt_' + 'A'.repeat(43), 'GET', '/v1/whoami', { expect: 401 });
for (const r of ['admin', 'supervisor', 'auditor']) await call(r, 'GET', '/v1/policy', { expect: 200 });
await call('gate', 'GET', '/v1/policy', { expect: 403 });

console.log('== manifests');
const stamp = Date.now().toString(36).slice(-5).toUpperCase();
const passenger = (i, photos) => ({
  surname: `SCHEMA${String.fromCharCode(65 + i)}`, given_names: 'Test', date_of_birth: '1970-01-0' + (i + 1),
  nationality: 'UTO', sex: 'F', category: i ? 'foreign' : 'citizen',
  document: { type: 'P', number: `SC${stamp}${i}`, issuing_state: 'UTO', expiry: '2031-01-01' }, photos,
});
const imported = await call('supervisor', 'POST', '/v1/manifests', {
  expect: 201,
  body: {
    carrier: 'SC', flight: '901', port: 'XXX', direction: 'entry',
    scheduled: new Date(Date.now() + 3600e3).toISOString().replace(/\.\d+Z$/, 'Z'),
    passengers: [passenger(0, [{ base64: b64(face.a) }]), passenger(1, [])],
  },
});
const mid = imported.json?.manifest_id;
ok(Number.isInteger(mid), 'the import report names the manifest', JSON.stringify(imported.json).slice(0, 200));
await call('supervisor', 'POST', `/v1/manifests/${mid}/passengers`, { expect: 200, body: { passengers: [passenger(2, [])] } });
await call('supervisor', 'POST', '/v1/manifests', { expect: 400, body: { carrier: 'SC' } });
await call('supervisor', 'POST', '/v1/manifests', { expect: 400, body: '{"carrier": ', raw: true });
await call('officer', 'POST', '/v1/manifests', { expect: 403, body: { carrier: 'SC' } });
for (const r of ['supervisor', 'officer']) await call(r, 'GET', '/v1/manifests', { expect: 200 });
const shown = await call('officer', 'GET', `/v1/manifests/${mid}`, { expect: 200 });
await call('officer', 'GET', '/v1/manifests/999999', { expect: 404 });
await call('officer', 'GET', '/v1/manifests/x', { expect: 400 });
await call('supervisor', 'GET', `/v1/manifests/${(await call('supervisor', 'GET', '/v1/manifests')).json?.[0]?.id ?? mid}`, { expect: 200 });

console.log('== the gate and 1:1 verification');
await call('gate', 'POST', '/v1/encounters', { expect: 201, body: { manifest_id: mid, gate: 'S1', image_base64: b64(face.b), idempotency_key: `schema-${stamp}-1` } });
await call('gate', 'POST', '/v1/encounters', { expect: 201, body: { manifest_id: mid, gate: 'S1', image_base64: b64(face.b), idempotency_key: `schema-${stamp}-1` } });
await call('gate', 'POST', '/v1/encounters', { expect: 201, body: { manifest_id: mid, gate: 'S1', opt_out: true, document: `SC${stamp}1` } });
// someone not on the flight (a no-match referral), and the first passenger
// again (already crossed): open referrals on this test's own flight
await call('gate', 'POST', '/v1/encounters', { expect: 201, body: { manifest_id: mid, gate: 'S1', image_base64: b64(face.other) } });
await call('gate', 'POST', '/v1/encounters', { expect: 201, body: { manifest_id: mid, gate: 'S1', image_base64: b64(face.b) } });
await call('gate', 'POST', '/v1/encounters', { expect: 400, body: { manifest_id: mid, gate: 'S1', image_base64: Buffer.from('not an image').toString('base64') } });
await call('gate', 'POST', '/v1/encounters', { expect: 400, body: { manifest_id: 'x', gate: 'S1' } });
await call('gate', 'POST', '/v1/encounters', { expect: 404, body: { manifest_id: 999999, gate: 'S1', image_base64: b64(face.b) } });
await call('officer', 'POST', '/v1/encounters', { expect: 403, body: {} });
await call('officer', 'POST', '/v1/verify', { expect: 200, body: { live_base64: b64(face.b), document_base64: b64(face.a) } });
await call('officer', 'POST', '/v1/verify', { expect: 400, body: { live_base64: Buffer.from('not an image').toString('base64'), document_base64: b64(face.a) } });
await call('officer', 'POST', '/v1/verify', { expect: 400, body: { live_base64: b64(face.b) } });
await call('gate', 'POST', '/v1/verify', { expect: 403, body: {} });

console.log('== the watchlist');
const added = await call('supervisor', 'POST', '/v1/watchlist', { expect: 201, body: { name: `Schema test ${stamp}`, reason: 'schema test', expires: null, photos: [b64(face.a)] } });
await call('supervisor', 'GET', '/v1/watchlist', { expect: 200 });
await call('supervisor', 'POST', '/v1/watchlist', { expect: 400, body: { name: 'x' } });
await call('supervisor', 'DELETE', `/v1/watchlist/${added.json?.id}`, { expect: 204 });
await call('supervisor', 'DELETE', `/v1/watchlist/${added.json?.id}`, { expect: 409 });
await call('supervisor', 'DELETE', '/v1/watchlist/999999', { expect: 404 });
await call('officer', 'GET', '/v1/watchlist', { expect: 403 });

console.log('== referrals');
const list = await call('officer', 'GET', '/v1/referrals', { expect: 200 });
await call('officer', 'GET', '/v1/referrals?status=open', { expect: 200 });
await call('officer', 'GET', '/v1/referrals?status=closed&site=XXX', { expect: 200 });
for (const r of ['officer', 'supervisor']) await call(r, 'GET', '/v1/referrals/summary', { expect: 200 });
const refs = Array.isArray(list.json) ? list.json : [];
ok(refs.length >= 2, 'the store holds referrals to read', `${refs.length}`);
for (const ref of refs) {
  await call('officer', 'GET', `/v1/referrals/${ref.id}`, { expect: 200 });
  await call('officer', 'GET', `/v1/referrals/${ref.id}?images=1`, { expect: 200 });
}
const open = refs.find((r) => r.status === 'open' && r.manifest_id === mid);
if (ok(open, 'an open referral to decide on')) {
  const tid = shown.json?.passengers?.[1]?.traveller_id;
  await call('officer', 'GET', `/v1/referrals/${open.id}/document-photos?traveller_id=${tid}`, { expect: 200 });
  await call('officer', 'GET', `/v1/referrals/${open.id}/document-photos`, { expect: 400 });
  await call('officer', 'POST', `/v1/referrals/${open.id}/decision`, { expect: 200, body: { decision: 'note', note: 'schema test note' } });
  await call('officer', 'POST', `/v1/referrals/${open.id}/decision`, { expect: 400, body: { decision: 'maybe' } });
  await call('officer', 'POST', `/v1/referrals/${open.id}/decision`, { expect: 200, body: { decision: 'secondary', note: 'schema test' } });
  await call('officer', 'POST', `/v1/referrals/${open.id}/decision`, { expect: 200, body: { decision: 'close', note: 'schema test' } });
  await call('officer', 'POST', `/v1/referrals/${open.id}/decision`, { expect: 409, body: { decision: 'close' } });
  await call('officer', 'GET', `/v1/referrals/${open.id}`, { expect: 200 });
}
await call('officer', 'GET', '/v1/referrals/999999', { expect: 404 });
await call('supervisor', 'GET', '/v1/referrals', { expect: 403 });

console.log('== records and figures');
const found = await call('officer', 'GET', `/v1/travellers?surname=SCHEMAA&given_names=Test&date_of_birth=1970-01-01`, { expect: 200 });
await call('officer', 'GET', `/v1/travellers?document=SC${stamp}0&issuing_state=UTO`, { expect: 200 });
await call('officer', 'GET', '/v1/travellers?limit=0', { expect: 400 });
// the console test's flight: passengers who crossed (at the gate or by an officer)
const crossedPax = [];
for (const mm of (await call('officer', 'GET', '/v1/manifests', { expect: 200 })).json || []) {
  const pax = (await call('officer', 'GET', `/v1/manifests/${mm.id}`, { expect: 200 })).json?.passengers || [];
  crossedPax.push(...pax.filter((p) => p.status === 'crossed' || p.status === 'manual'));
}
ok(crossedPax.length > 0, 'the store holds travellers who crossed');
for (const ref of [found.json?.[0]?.id, crossedPax[0]?.traveller_id, crossedPax[0]?.document?.number].filter((x) => x !== undefined))
  await call('officer', 'GET', `/v1/travellers/${encodeURIComponent(ref)}/crossings`, { expect: 200 });
await call('officer', 'GET', '/v1/travellers/NOSUCHDOC000/crossings', { expect: 404 });
for (const r of ['officer', 'supervisor']) await call(r, 'GET', '/v1/overstays', { expect: 200 });
const later = new Date(Date.now() + 400 * 86400e3).toISOString().slice(0, 10);
await call('officer', 'GET', `/v1/overstays?as_of=${later}`, { expect: 200 });
await call('officer', 'GET', '/v1/overstays?as_of=soon', { expect: 400 });
const today = new Date().toISOString().slice(0, 10);
for (const r of ['supervisor', 'auditor']) await call(r, 'GET', `/v1/reports/${today}`, { expect: 200 });
await call('supervisor', 'GET', `/v1/reports/${today}?port=XXX`, { expect: 200 });
await call('supervisor', 'GET', '/v1/reports/2001-01-01', { expect: 200 });
await call('supervisor', 'GET', '/v1/reports/yesterday', { expect: 400 });
const chart = await call('auditor', 'GET', `/v1/reports/${today}/chart.png`, { expect: 200 });
ok(chart.buf.subarray(1, 4).toString() === 'PNG', 'the chart is a PNG');
await call('officer', 'GET', `/v1/reports/${today}`, { expect: 403 });

await call('supervisor', 'POST', `/v1/manifests/${mid}/close`, { expect: 200, body: {} });
await call('supervisor', 'POST', `/v1/manifests/${mid}/close`, { expect: 409, body: {} });

console.log('== audit, retention and tokens');
await call('auditor', 'GET', '/v1/audit', { expect: 200 });
await call('auditor', 'GET', '/v1/audit?after=5&limit=3', { expect: 200 });
await call('auditor', 'GET', '/v1/audit?limit=0', { expect: 400 });
await call('auditor', 'GET', '/v1/audit/verify', { expect: 200 });
await call('auditor', 'GET', '/v1/audit/verify?anchor=1:00', { expect: [200, 400, 409] });
for (const r of ['admin', 'auditor']) await call(r, 'GET', '/v1/purge', { expect: 200 });
await call('admin', 'POST', '/v1/purge', { expect: 200, body: {} });
await call('admin', 'GET', '/v1/purge', { expect: 200 });
await call('auditor', 'POST', '/v1/purge', { expect: 403, body: {} });
const tok = await call('admin', 'POST', '/v1/tokens', { expect: 201, body: { name: `schema.${stamp}`, role: 'auditor' } });
await call('admin', 'POST', '/v1/tokens', { expect: 400, body: { name: 'x', role: 'king' } });
await call('admin', 'DELETE', `/v1/tokens/${tok.json?.id}`, { expect: 204 });
await call('admin', 'DELETE', '/v1/tokens/999999', { expect: 404 });
await call('admin', 'GET', '/v1/tokens', { expect: 200 });
await call(tok.json?.token, 'GET', '/v1/whoami', { expect: 401 });
await call('auditor', 'GET', '/v1/tokens', { expect: 403 });

// Every documented operation was called and answered 2xx at least once.
for (const [p, ops] of Object.entries(doc.paths)) {
  for (const m of Object.keys(ops)) {
    const st = called.get(`${m.toUpperCase()} ${p}`);
    ok(st && [...st].some((s) => s >= 200 && s < 300), `${m.toUpperCase()} ${p} was called and answered 2xx`, st ? [...st].join(' ') : 'never called');
  }
}

console.log('== the check can fail');
const manifestSchema = doc.paths['/v1/manifests/{id}'].get.responses['200'].content['application/json'].schema;
const body = shown.json;
const mutate = (f) => { const c = structuredClone(body); f(c); return validate(doc, manifestSchema, c); };
ok(validate(doc, manifestSchema, body).length === 0, 'the real manifest fits its schema');
ok(mutate((c) => { c.passengers[0].undocumented_field = 1; }).length > 0, 'an undocumented member of a passenger fails the check');
ok(mutate((c) => { c.id = String(c.id); }).length > 0, 'an id given as a string fails the check');
ok(mutate((c) => { delete c.passengers; }).length > 0, 'a missing required member fails the check');
ok(mutate((c) => { c.passengers[0].status = 'teleported'; }).length > 0, 'a status outside its enumeration fails the check');
const problem = { type: 'urn:facegate:error:notfound', title: 'Not Found', status: 404, detail: 'x', code: 'FG_ENOTFOUND' };
ok(checkResponse(doc, 'GET', '/v1/manifests/1', 404, 'application/problem+json', problem).length === 0, 'a problem+json body fits');
ok(checkResponse(doc, 'GET', '/v1/manifests/1', 404, 'application/problem+json', { ...problem, status: '404' }).length > 0, 'a problem whose status is a string fails');
ok(checkResponse(doc, 'GET', '/v1/manifests/1', 200, 'text/html', '').length > 0, 'an undocumented media type fails');

console.log(`\nschemas.test: ${passed} passed, ${failures.length} failed; ${called.size} operations called; bodies in ${path.relative(root, OUT)}/`);
if (failures.length) console.log(`failed:\n  ${failures.slice(0, 40).join('\n  ')}`);
process.exit(failures.length ? 1 : 0);
