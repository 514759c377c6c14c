#!/usr/bin/env node
// scripts/faceapi-reference.js — run face-api's own faceRecognitionNet (dlib's
// ResNet, @vladmandic/face-api@1.7.15) in Node on aligned 150x150 crops and
// print their descriptors as JSON: the reference that tests/test_dlib.c holds
// facegate's engine to (scripts/make-dlib-fixtures writes the fixtures once).
//
//   node scripts/faceapi-reference.js MODELS_DIR CROP.png... > OUT.json
//   node scripts/faceapi-reference.js --npy CROP.png OUT.npy
//       write the crop as the engine's input: float32 1x3x150x150 RGB 0..255
//   node scripts/faceapi-reference.js --bench MODELS_DIR CROP.png [RUNS]
//       time face-api's descriptor of the crop (scripts/bench-dlib): one JSON
//       line {"median_ms", "p10_ms", "p90_ms", "runs"}, as bench/ort_bench.js
//
// TensorFlow.js runs on its pure-JavaScript CPU backend (npm @tensorflow/tfjs,
// pinned in package-lock.json; nothing native, nothing downloaded at install).
// The PNGs are decoded here (8-bit RGB, non-interlaced: what facegate writes)
// with Node's zlib, so that no image library stands between the two runs.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

function decodePng(file) {
  const b = fs.readFileSync(file);
  if (b.readUInt32BE(0) !== 0x89504e47) throw new Error(`${file}: not a PNG`);
  let off = 8, w = 0, h = 0, idat = [];
  while (off < b.length) {
    const len = b.readUInt32BE(off), type = b.toString('ascii', off + 4, off + 8);
    const data = b.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      w = data.readUInt32BE(0); h = data.readUInt32BE(4);
      if (data[8] !== 8 || data[9] !== 2 || data[12] !== 0) throw new Error(`${file}: want 8-bit RGB, not interlaced`);
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    off += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat)), stride = w * 3, out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const f = raw[y * (stride + 1)], src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= 3 ? out[y * stride + x - 3] : 0, up = y ? out[(y - 1) * stride + x] : 0;
      const c = x >= 3 && y ? out[(y - 1) * stride + x - 3] : 0;
      let p;
      switch (f) {
        case 0: p = 0; break;
        case 1: p = a; break;
        case 2: p = up; break;
        case 3: p = (a + up) >> 1; break;
        case 4: { const q = a + up - c, pa = Math.abs(q - a), pb = Math.abs(q - up), pc = Math.abs(q - c);
                  p = pa <= pb && pa <= pc ? a : pb <= pc ? up : c; break; }
        default: throw new Error(`${file}: PNG filter ${f}`);
      }
      out[y * stride + x] = (src[x] + p) & 255;
    }
  }
  return { w, h, data: out };
}

function writeNpy(file, img) {
  const n = img.w * img.h, data = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) data[c * n + i] = img.data[3 * i + c];
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, ${img.h}, ${img.w}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const pre = Buffer.alloc(10);
  pre.writeUInt8(0x93, 0); pre.write('NUMPY', 1, 'latin1'); pre.writeUInt8(1, 6); pre.writeUInt8(0, 7);
  pre.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(data.buffer)]));
}

async function loadNet(modelsDir) {
  const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
  const tf = faceapi.tf;
  await tf.setBackend('cpu');
  await tf.ready();
  await faceapi.nets.faceRecognitionNet.loadFromDisk(modelsDir);
  return faceapi;
}

async function bench(modelsDir, crop, runs) {
  const faceapi = await loadNet(modelsDir), tf = faceapi.tf, img = decodePng(crop);
  const t = tf.tensor3d(img.data, [img.h, img.w, 3], 'int32'), ms = [];
  for (let r = 0; r < runs + 2; r++) {
    const t0 = process.hrtime.bigint();
    await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(t);
    if (r >= 2) ms.push(Number(process.hrtime.bigint() - t0) / 1e6); // two untimed warm-up runs
  }
  ms.sort((a, b) => a - b);
  const q = (p) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))];
  console.log(JSON.stringify({ median_ms: q(0.5), p10_ms: q(0.1), p90_ms: q(0.9), runs, threads: 1 }));
}

async function main() {
  const args = process.argv.slice(2);
  if (args[0] === '--npy' && args.length === 3) return writeNpy(args[2], decodePng(args[1]));
  if (args[0] === '--bench' && args.length >= 3) return bench(args[1], args[2], Number(args[3] || 20));
  const [modelsDir, ...crops] = args;
  if (!modelsDir || !crops.length) {
    console.error('usage: node scripts/faceapi-reference.js MODELS_DIR CROP.png... > OUT.json');
    process.exit(2);
  }
  const faceapi = await loadNet(modelsDir), tf = faceapi.tf;
  const out = { tool: `@vladmandic/face-api ${faceapi.version || '1.7.15'}, @tensorflow/tfjs ${tf.version_core} (${tf.getBackend()} backend)`,
                model: 'face_recognition_model-weights_manifest.json', faces: [] };
  for (const f of crops) {
    const img = decodePng(f);
    if (img.w !== 150 || img.h !== 150) throw new Error(`${f}: ${img.w}x${img.h}, want 150x150`);
    const t = tf.tensor3d(img.data, [150, 150, 3], 'int32');
    const d = await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(t);
    t.dispose();
    out.faces.push({ crop: path.basename(f), descriptor: Array.from(d, (v) => Number(v.toPrecision(9))) });
  }
  process.stdout.write(JSON.stringify(out, null, 1) + '\n');
}
main().catch((e) => { console.error(`faceapi-reference: ${e.message}`); process.exit(1); });
