#!/usr/bin/env node
// bench/ort_bench.js — the ONNX Runtime peer for facegate's model benchmark
// (scripts/bench-models) and reference tool for the test fixtures
// (scripts/make-fixtures.py).
//
// Loads onnxruntime-node from var/cache/ort (installed by scripts/setup-bench),
// runs MODEL on the tensor in IN.npy and prints one line of JSON:
//   {"median_ms": …, "p10_ms": …, "p90_ms": …, "runs": R, "threads": N}
// With --dump PREFIX it runs once instead and writes each output as float32
// PREFIX.<output name>.npy.
//
// usage: node bench/ort_bench.js MODEL.onnx IN.npy [--pre P] [--threads N]
//                                [--runs R] [--warmup W] [--dump PREFIX]
//   IN.npy   float32 or uint8, C order, exactly the model's input shape
//   --pre    how IN becomes the float input: none (x, default),
//            sub127div128 ((x-127)/128), div256 (x/256); model names work too:
//            detect, feature = sub127div128; landmark = div256; liveness = none
//   --threads N  intraOpNumThreads=N, interOpNumThreads=1 (default 1)
//   --runs R     timed runs (default 200); --warmup W untimed runs first (default 20)
// Session options: graphOptimizationLevel 'all', executionMode 'sequential'.
'use strict';
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const ORT_PATH = path.join(ROOT, 'var/cache/ort/node_modules/onnxruntime-node');

function usage(msg) {
  if (msg) process.stderr.write(`ort_bench: ${msg}\n`);
  process.stderr.write('usage: node bench/ort_bench.js MODEL.onnx IN.npy [--pre none|sub127div128|div256] ' +
                       '[--threads N] [--runs R] [--warmup W] [--dump PREFIX]\n');
  process.exit(2);
}

// ---- .npy (format versions 1-3, C order, float32/float64/uint8) ----------------
function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf.readUInt8(0) !== 0x93 || buf.toString('latin1', 1, 6) !== 'NUMPY')
    throw new Error(`${file}: not a .npy file`);
  const major = buf.readUInt8(6);
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !shape) throw new Error(`${file}: bad .npy header`);
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${file}: Fortran order not supported`);
  const dims = shape[1].split(',').map(s => s.trim()).filter(s => s.length).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const body = buf.subarray(start + hlen);
  const kinds = { '<f4': [Float32Array, 4], '<f8': [Float64Array, 8], '|u1': [Uint8Array, 1], '<u1': [Uint8Array, 1] };
  const kind = kinds[descr[1]];
  if (!kind) throw new Error(`${file}: dtype ${descr[1]} not supported (float32, float64, uint8)`);
  if (body.length < count * kind[1]) throw new Error(`${file}: truncated data`);
  const aligned = Buffer.from(body.subarray(0, count * kind[1])); // copy: aligned for typed array
  return { dtype: descr[1], dims, data: new kind[0](aligned.buffer, aligned.byteOffset, count) };
}

function writeNpyF32(file, dims, data) {
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const pre = Buffer.alloc(10);
  pre.writeUInt8(0x93, 0); pre.write('NUMPY', 1, 'latin1');
  pre.writeUInt8(1, 6); pre.writeUInt8(0, 7); pre.writeUInt16LE(header.length, 8);
  const f32 = Float32Array.from(data);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'),
                                        Buffer.from(f32.buffer, f32.byteOffset, f32.byteLength)]));
}

const PRE = {
  none: x => x, sub127div128: x => (x - 127) / 128, div256: x => x / 256,
};
const PRE_ALIAS = { detect: 'sub127div128', feature: 'sub127div128', landmark: 'div256', liveness: 'none' };

function percentile(sorted, q) {
  const pos = q * (sorted.length - 1), lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}
const round = x => Math.round(x * 10000) / 10000;

async function main() {
  const pos = [];
  const opt = { pre: 'none', threads: 1, runs: 200, warmup: 20, dump: null };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') usage();
    if (a.startsWith('--')) {
      const k = a.slice(2), v = argv[++i];
      if (!(k in opt) || v === undefined) usage(`bad option ${a}`);
      opt[k] = (k === 'pre' || k === 'dump') ? v : Number(v);
    } else pos.push(a);
  }
  if (pos.length !== 2) usage();
  const pre = PRE[PRE_ALIAS[opt.pre] || opt.pre];
  if (!pre) usage(`unknown --pre ${opt.pre}`);
  if (!(opt.threads >= 1) || !(opt.runs >= 1) || !(opt.warmup >= 0)) usage('bad number');

  let ort;
  try { ort = require(ORT_PATH); } catch (e) {
    process.stderr.write(`ort_bench: cannot load ${ORT_PATH} (run scripts/setup-bench): ${e.message}\n`);
    process.exit(1);
  }
  const input = readNpy(pos[1]);
  const x = new Float32Array(input.data.length);
  for (let i = 0; i < x.length; i++) x[i] = pre(input.data[i]);

  const session = await ort.InferenceSession.create(pos[0], {
    intraOpNumThreads: opt.threads, interOpNumThreads: 1,
    graphOptimizationLevel: 'all', executionMode: 'sequential',
  });
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', x, input.dims) };

  if (opt.dump) {
    const out = await session.run(feeds);
    const written = [];
    for (const name of session.outputNames) {
      const file = `${opt.dump}.${name}.npy`;
      writeNpyF32(file, out[name].dims, out[name].data);
      written.push({ name, file, shape: out[name].dims });
    }
    console.log(JSON.stringify({ outputs: written }));
    return;
  }

  for (let i = 0; i < opt.warmup; i++) await session.run(feeds);
  const t = new Float64Array(opt.runs);
  for (let i = 0; i < opt.runs; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    t[i] = Number(process.hrtime.bigint() - t0) / 1e6;
  }
  t.sort();
  console.log(JSON.stringify({
    median_ms: round(percentile(t, 0.5)), p10_ms: round(percentile(t, 0.1)),
    p90_ms: round(percentile(t, 0.9)), runs: opt.runs, threads: opt.threads,
  }));
}

main().catch(e => { process.stderr.write(`ort_bench: ${e.message}\n`); process.exit(1); });
