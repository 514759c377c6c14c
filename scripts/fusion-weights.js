#!/usr/bin/env node
// scripts/fusion-weights.js — choose the score-fusion weight of two recognition
// models on the LFW development subset only (`facegate devset --dump-faces`:
// images that pairs.txt never references; docs/models.md, "Fusion").
//
//   node scripts/fusion-weights.js A.tsv B.tsv
//
// A.tsv, B.tsv: the two models' devset dumps (same images, same order). Each
// model's cosine score is mapped to the z-score of its impostor distribution,
// z = (s - mean) / std over all cross-person pairs, and the fused score is
// w z_A + (1 - w) z_B. For w = 0, 0.05, ..., 1 it prints EER and TAR at FAR
// 1e-3, 1e-4 and 1e-5 on all genuine and impostor pairs, and the w with the
// highest TAR at FAR 1e-4 (the low-FMR end the 1:N flights work at; ties to
// the larger w). The fused score is the cosine of one concatenated template,
// [sqrt(w / std_A) a, sqrt((1 - w) / std_B) b] normalised (a constant offset and
// scale apart), so that galleries, search and thresholds work unchanged; the
// factors are printed for the fused descriptor.
'use strict';
const fs = require('fs');

function load(file) {
  const rows = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split('\t'));
  return { path: rows.map((r) => r[0]), emb: rows.map((r) => Float64Array.from(r[4].trim().split(/\s+/), Number)) };
}
const [fa, fb] = process.argv.slice(2);
if (!fa || !fb) { console.error('usage: node scripts/fusion-weights.js A.tsv B.tsv'); process.exit(2); }
const A = load(fa), B = load(fb), n = A.path.length;
if (B.path.length !== n || A.path.some((p, i) => p !== B.path[i])) { console.error('the two dumps list different images'); process.exit(1); }
const person = A.path.map((p) => p.split('/').slice(-2)[0]);
const dot = (x, y) => { let s = 0; for (let k = 0; k < x.length; k++) s += x[k] * y[k]; return s; };
const gen = [[], []], imp = [[], []];
for (let i = 0; i < n; i++)
  for (let j = i + 1; j < n; j++) {
    const same = person[i] === person[j];
    (same ? gen : imp)[0].push(dot(A.emb[i], A.emb[j]));
    (same ? gen : imp)[1].push(dot(B.emb[i], B.emb[j]));
  }
const stats = (v) => { let m = 0; for (const x of v) m += x; m /= v.length; let s = 0; for (const x of v) s += (x - m) ** 2; return [m, Math.sqrt(s / v.length)]; };
const [mA, sA] = stats(imp[0]), [mB, sB] = stats(imp[1]);
console.log(`devset: ${n} images, ${gen[0].length} genuine, ${imp[0].length} impostor pairs`);
console.log(`impostor cosine: A mean ${mA.toFixed(4)} std ${sA.toFixed(4)}; B mean ${mB.toFixed(4)} std ${sB.toFixed(4)}`);
function rates(w) {
  const g = Float64Array.from(gen[0], (x, k) => w * (x - mA) / sA + (1 - w) * (gen[1][k] - mB) / sB);
  const im = Float64Array.from(imp[0], (x, k) => w * (x - mA) / sA + (1 - w) * (imp[1][k] - mB) / sB);
  im.sort(); g.sort();
  const tar = (far) => { const t = im[im.length - Math.max(1, Math.floor(far * im.length))]; let miss = 0; for (const x of g) if (x <= t) miss++; return 1 - miss / g.length; };
  let lo = 0, hi = g.length; // EER: threshold where FNMR = FMR (bisection on genuine order statistics)
  const fmr = (t) => { let a = 0, b = im.length; while (a < b) { const c = (a + b) >> 1; if (im[c] <= t) a = c + 1; else b = c; } return (im.length - a) / im.length; };
  while (lo < hi) { const c = (lo + hi) >> 1; if (c / g.length < fmr(g[c])) lo = c + 1; else hi = c; }
  return { eer: lo / g.length, t3: tar(1e-3), t4: tar(1e-4), t5: tar(1e-5) };
}
let best = null;
console.log('  w(A)   EER      TAR@1e-3  TAR@1e-4  TAR@1e-5');
for (let k = 0; k <= 20; k++) {
  const w = k / 20, r = rates(w);
  console.log(`  ${w.toFixed(2)}  ${(100 * r.eer).toFixed(3)}%  ${(100 * r.t3).toFixed(3)}%  ${(100 * r.t4).toFixed(3)}%  ${(100 * r.t5).toFixed(3)}%`);
  if (!best || r.t4 >= best.r.t4) best = { w, r };
}
const fa2 = best.w / sA, fb2 = (1 - best.w) / sB, norm = Math.sqrt(fa2 + fb2);
console.log(`best w(A) = ${best.w.toFixed(2)} (TAR@1e-4 ${(100 * best.r.t4).toFixed(3)}%); concatenation factors ` +
            `A ${(Math.sqrt(fa2) / norm).toFixed(6)}, B ${(Math.sqrt(fb2) / norm).toFixed(6)}`);
