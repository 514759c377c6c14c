#!/usr/bin/env node
// scripts/concat-embeddings.js — a fused model's embeddings from its two
// models' (docs/models.md, "Fusion"): row i of OUT is [wA * A_i, wB * B_i], what
// the face engine computes for a fused descriptor, so that `facegate eval lfw`
// and `eval identify` measure fusion with --embeddings from the single-model
// runs' --save-embeddings (the same images, sorted; float32 .npy, 2-D).
//
//   node scripts/concat-embeddings.js A.npy wA B.npy wB OUT.npy
'use strict';
const fs = require('fs');

function readNpy(file) {
  const b = fs.readFileSync(file);
  if (b.readUInt8(0) !== 0x93 || b.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not .npy`);
  const major = b.readUInt8(6), hl = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8), off = major === 1 ? 10 : 12;
  const h = b.toString('latin1', off, off + hl);
  if (!/'descr': '<f4'/.test(h) || /'fortran_order': True/.test(h)) throw new Error(`${file}: want float32, C order`);
  const shape = h.match(/'shape': \((\d+),\s*(\d+)\)/);
  if (!shape) throw new Error(`${file}: want a 2-D array`);
  const rows = +shape[1], cols = +shape[2], start = off + hl;
  return { rows, cols, data: new Float32Array(b.buffer.slice(b.byteOffset + start, b.byteOffset + start + 4 * rows * cols)) };
}

function writeNpy(file, rows, cols, data) {
  let h = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  h += ' '.repeat(63 - ((10 + h.length) % 64)) + '\n';
  const pre = Buffer.alloc(10);
  pre.writeUInt8(0x93, 0); pre.write('NUMPY', 1, 'latin1'); pre.writeUInt8(1, 6); pre.writeUInt8(0, 7); pre.writeUInt16LE(h.length, 8);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(h, 'latin1'), Buffer.from(data.buffer)]));
}

const [fa, wa, fb, wb, out] = process.argv.slice(2);
if (!out) { console.error('usage: node scripts/concat-embeddings.js A.npy wA B.npy wB OUT.npy'); process.exit(2); }
const A = readNpy(fa), B = readNpy(fb), a = Number(wa), b = Number(wb);
if (A.rows !== B.rows) { console.error(`${fa} has ${A.rows} rows, ${fb} ${B.rows}`); process.exit(1); }
const cols = A.cols + B.cols, o = new Float32Array(A.rows * cols);
for (let i = 0; i < A.rows; i++) {
  for (let k = 0; k < A.cols; k++) o[i * cols + k] = a * A.data[i * A.cols + k];
  for (let k = 0; k < B.cols; k++) o[i * cols + A.cols + k] = b * B.data[i * B.cols + k];
}
writeNpy(out, A.rows, cols, o);
console.error(`concat-embeddings: ${A.rows} rows, ${A.cols} + ${B.cols} = ${cols} columns -> ${out}`);
