#!/usr/bin/env node
// bench/pipeline_ort.js — the ONNX Runtime peer of `make bench-pipeline`
// (scripts/bench-pipeline): the same face pipeline as facegate's, stage for
// stage, with the four models run by onnxruntime-node 1.20.1 (var/cache/ort,
// installed by scripts/setup-bench) and every pixel operation in plain
// JavaScript written here (area resize, crop, grey, bilinear affine warp,
// planes). Decoding is not done here: scripts/bench-pipeline decodes each JPEG
// with OpenCV (cv2.imdecode, libjpeg-turbo; full resolution) in Python, times
// that, and hands this script the RGB pixels as binary PPM plus the decode
// times (--decode-ms), which are added to the totals.
//
// The stage settings come from facegate's resolved engine options
// (bench/pipeline_bench --options-out): detector letterbox 320x240 with area
// resize, NMS, largest face; landmark crop, refinement passes and input
// scaling; the 5 points and the least-squares similarity onto the template;
// 112x112 bilinear warp; quality (sharpness, exposure, contrast and the same
// weak-perspective pose fit); liveness crop 2.7x box, 128x128; embedding (BGR,
// (x-127)/128, plus the mirrored crop when flip is on), L2-normalised.
//
// usage: node bench/pipeline_ort.js --options OPTS.json --models-dir DIR
//             [--threads N] [--runs R] [--warmup W] [--decode-ms D.json] IMAGE.ppm...
// Prints one line of JSON like bench/pipeline_bench:
//   {"threads": N, "samples": S, "median_ms": {"decode": …, …, "total": …}, "status": {…}}
'use strict';
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const ORT_PATH = path.join(ROOT, 'var/cache/ort/node_modules/onnxruntime-node');

function die(msg) { process.stderr.write(`pipeline_ort: ${msg}\n`); process.exit(1); }

// ---- images: {w, h, c, data: Uint8Array} interleaved -------------------------------
function readPpm(file) {
  const b = fs.readFileSync(file);
  let p = 0;
  const tok = () => {
    while (p < b.length && (b[p] === 0x20 || b[p] === 0x0a || b[p] === 0x0d || b[p] === 0x09)) p++;
    if (b[p] === 0x23) { while (p < b.length && b[p] !== 0x0a) p++; return tok(); }
    const s = p;
    while (p < b.length && b[p] > 0x20) p++;
    return b.toString('latin1', s, p);
  };
  if (tok() !== 'P6') die(`${file}: not a binary PPM`);
  const w = Number(tok()), h = Number(tok()), max = Number(tok());
  if (max !== 255) die(`${file}: 8-bit PPM expected`);
  p++;
  return { w, h, c: 3, data: new Uint8Array(b.buffer, b.byteOffset + p, w * h * 3) };
}

// Area-average weights for one axis: for each output index, [start, weights...].
function areaTable(src, dst) {
  const scale = src / dst, tab = [];
  for (let o = 0; o < dst; o++) {
    const a = o * scale, b = Math.min(src, (o + 1) * scale);
    const i0 = Math.floor(a), i1 = Math.min(src - 1, Math.ceil(b) - 1);
    const w = [];
    for (let i = i0; i <= i1; i++) w.push((Math.min(b, i + 1) - Math.max(a, i)) / scale);
    tab.push([i0, w]);
  }
  return tab;
}

// Area resize of the rectangle (x, y, w, h) of img (zero outside) to ow x oh.
function cropResizeArea(img, x, y, w, h, ow, oh) {
  const c = img.c, tx = areaTable(w, ow), ty = areaTable(h, oh);
  const tmp = new Float32Array(ow * h * c);
  for (let r = 0; r < h; r++) {
    const sy = y + r;
    if (sy < 0 || sy >= img.h) continue;
    for (let o = 0; o < ow; o++) {
      const [i0, wt] = tx[o];
      for (let k = 0; k < c; k++) {
        let s = 0;
        for (let j = 0; j < wt.length; j++) {
          const sx = x + i0 + j;
          if (sx >= 0 && sx < img.w) s += wt[j] * img.data[(sy * img.w + sx) * c + k];
        }
        tmp[(r * ow + o) * c + k] = s;
      }
    }
  }
  const out = new Uint8Array(ow * oh * c);
  for (let o = 0; o < oh; o++) {
    const [i0, wt] = ty[o];
    for (let q = 0; q < ow * c; q++) {
      let s = 0;
      for (let j = 0; j < wt.length; j++) s += wt[j] * tmp[(i0 + j) * ow * c + q];
      out[o * ow * c + q] = Math.min(255, Math.max(0, Math.round(s)));
    }
  }
  return { w: ow, h: oh, c, data: out };
}

// Bilinear affine warp: destination (x, y) samples source m·(x, y, 1) (pixel
// centres at integers); border 'zero' or 'replicate'.
function warpAffine(img, m, ow, oh, replicate) {
  const c = img.c, out = new Uint8Array(ow * oh * c), W = img.w, H = img.h, d = img.data;
  for (let y = 0; y < oh; y++)
    for (let x = 0; x < ow; x++) {
      let sx = m[0] * x + m[1] * y + m[2], sy = m[3] * x + m[4] * y + m[5];
      if (replicate) { sx = Math.min(W - 1, Math.max(0, sx)); sy = Math.min(H - 1, Math.max(0, sy)); }
      const x0 = Math.floor(sx), y0 = Math.floor(sy), fx = sx - x0, fy = sy - y0;
      for (let k = 0; k < c; k++) {
        const px = (xx, yy) => (xx < 0 || yy < 0 || xx >= W || yy >= H) ? 0 : d[(yy * W + xx) * c + k];
        const v = (1 - fy) * ((1 - fx) * px(x0, y0) + fx * px(x0 + 1, y0)) +
                  fy * ((1 - fx) * px(x0, y0 + 1) + fx * px(x0 + 1, y0 + 1));
        out[(y * ow + x) * c + k] = Math.min(255, Math.max(0, Math.round(v)));
      }
    }
  return { w: ow, h: oh, c, data: out };
}

function toGrey(img) {
  const n = img.w * img.h, g = new Uint8Array(n), d = img.data;
  for (let i = 0; i < n; i++) g[i] = (77 * d[3 * i] + 150 * d[3 * i + 1] + 29 * d[3 * i + 2] + 128) >> 8;
  return { w: img.w, h: img.h, c: 1, data: g };
}

function flipH(img) {
  const out = new Uint8Array(img.data.length), c = img.c;
  for (let y = 0; y < img.h; y++)
    for (let x = 0; x < img.w; x++)
      for (let k = 0; k < c; k++) out[(y * img.w + x) * c + k] = img.data[(y * img.w + img.w - 1 - x) * c + k];
  return { w: img.w, h: img.h, c, data: out };
}

// Planar float tensor, optionally BGR, (x - mean) * scale; dst may be preallocated.
function planes(img, nplanes, bgr, mean, scale, dst) {
  const hw = img.w * img.h, d = img.data;
  if (img.c === 1) {
    for (let i = 0; i < hw; i++) { const v = (d[i] - mean) * scale; for (let k = 0; k < nplanes; k++) dst[k * hw + i] = v; }
    return dst;
  }
  const o0 = bgr ? 2 * hw : 0, o2 = bgr ? 0 : 2 * hw;
  for (let i = 0; i < hw; i++) {
    dst[o0 + i] = (d[3 * i] - mean) * scale;
    dst[hw + i] = (d[3 * i + 1] - mean) * scale;
    dst[o2 + i] = (d[3 * i + 2] - mean) * scale;
  }
  return dst;
}

// ---- geometry ------------------------------------------------------------------------
function similarity(src, dst, n) {
  let sx = 0, sy = 0, dx = 0, dy = 0;
  for (let i = 0; i < n; i++) { sx += src[2 * i]; sy += src[2 * i + 1]; dx += dst[2 * i]; dy += dst[2 * i + 1]; }
  sx /= n; sy /= n; dx /= n; dy /= n;
  let a = 0, b = 0, v = 0;
  for (let i = 0; i < n; i++) {
    const px = src[2 * i] - sx, py = src[2 * i + 1] - sy, qx = dst[2 * i] - dx, qy = dst[2 * i + 1] - dy;
    a += px * qx + py * qy; b += px * qy - py * qx; v += px * px + py * py;
  }
  a /= v; b /= v;
  return [a, -b, dx - a * sx + b * sy, b, a, dy - b * sx - a * sy];
}

function invertAffine(m) {
  const det = m[0] * m[4] - m[1] * m[3];
  const a = m[4] / det, b = -m[1] / det, c = -m[3] / det, d = m[0] / det;
  return [a, b, -(a * m[2] + b * m[5]), c, d, -(c * m[2] + d * m[5])];
}

function points5(lm, eye4) {
  const p = new Float64Array(10);
  if (eye4) {
    for (const i of [37, 38, 40, 41]) { p[0] += lm[2 * i] / 4; p[1] += lm[2 * i + 1] / 4; }
    for (const i of [43, 44, 46, 47]) { p[2] += lm[2 * i] / 4; p[3] += lm[2 * i + 1] / 4; }
    p[6] = (lm[96] + lm[120]) / 2; p[7] = (lm[97] + lm[121]) / 2;
    p[8] = (lm[108] + lm[128]) / 2; p[9] = (lm[109] + lm[129]) / 2;
  } else {
    for (let i = 36; i < 42; i++) { p[0] += lm[2 * i] / 6; p[1] += lm[2 * i + 1] / 6; }
    for (let i = 42; i < 48; i++) { p[2] += lm[2 * i] / 6; p[3] += lm[2 * i + 1] / 6; }
    p[6] = lm[96]; p[7] = lm[97]; p[8] = lm[108]; p[9] = lm[109];
  }
  p[4] = lm[60]; p[5] = lm[61];
  return p;
}

// Weak-perspective pose from 6 landmarks (as facegate's quality stage).
const POSE_IDX = [30, 8, 36, 45, 48, 54];
const POSE_3D = [[0, 0, 0], [0, 330, 65], [-225, -170, 135], [225, -170, 135], [-150, 150, 125], [150, 150, 125]];
function pose(lm) {
  const mx = [0, 0, 0], mp = [0, 0];
  for (let k = 0; k < 6; k++) { for (let j = 0; j < 3; j++) mx[j] += POSE_3D[k][j] / 6; mp[0] += lm[2 * POSE_IDX[k]] / 6; mp[1] += lm[2 * POSE_IDX[k] + 1] / 6; }
  const xx = [[0, 0, 0], [0, 0, 0], [0, 0, 0]], px = [[0, 0, 0], [0, 0, 0]];
  for (let k = 0; k < 6; k++) {
    const X = [0, 1, 2].map(j => POSE_3D[k][j] - mx[j]);
    const P = [lm[2 * POSE_IDX[k]] - mp[0], lm[2 * POSE_IDX[k] + 1] - mp[1]];
    for (let i = 0; i < 3; i++) { for (let j = 0; j < 3; j++) xx[i][j] += X[i] * X[j]; px[0][i] += P[0] * X[i]; px[1][i] += P[1] * X[i]; }
  }
  const a = xx;
  const det = a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0]) + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]);
  if (Math.abs(det) < 1e-12) return [0, 0, 0];
  const inv = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
    const i1 = (j + 1) % 3, i2 = (j + 2) % 3, j1 = (i + 1) % 3, j2 = (i + 2) % 3;
    inv[i][j] = (a[i1][j1] * a[i2][j2] - a[i1][j2] * a[i2][j1]) / det;
  }
  const A = [[0, 0, 0], [0, 0, 0]];
  for (let r = 0; r < 2; r++) for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) A[r][j] += px[r][k] * inv[k][j];
  const n1 = Math.hypot(...A[0]), r1 = A[0].map(v => v / n1);
  const d = r1[0] * A[1][0] + r1[1] * A[1][1] + r1[2] * A[1][2];
  let r2 = A[1].map((v, j) => v - d * r1[j]);
  const n2 = Math.hypot(...r2); r2 = r2.map(v => v / n2);
  const r3 = [r1[1] * r2[2] - r1[2] * r2[1], r1[2] * r2[0] - r1[0] * r2[2], r1[0] * r2[1] - r1[1] * r2[0]];
  const deg = 180 / Math.PI;
  return [-Math.asin(Math.max(-1, Math.min(1, -r3[0]))) * deg, -Math.atan2(r3[1], r3[2]) * deg, Math.atan2(r2[0], r1[0]) * deg];
}

function quality(aligned, lm, box, W, H) {
  const g = toGrey(aligned), n = g.w * g.h;
  let s = 0, ss = 0, dark = 0, bright = 0;
  for (let i = 0; i < n; i++) { const v = g.data[i]; s += v; ss += v * v; dark += v <= 10; bright += v >= 245; }
  const mean = s / n, contrast = Math.sqrt(Math.max(0, ss / n - mean * mean));
  let ls = 0, lss = 0, ln = 0;
  for (let y = 1; y < g.h - 1; y++)
    for (let x = 1; x < g.w - 1; x++) {
      const i = y * g.w + x;
      const l = g.data[i - 1] + g.data[i + 1] + g.data[i - g.w] + g.data[i + g.w] - 4 * g.data[i];
      ls += l; lss += l * l; ln++;
    }
  const sharp = lss / ln - (ls / ln) ** 2;
  const [yaw, pitch, roll] = pose(lm);
  const inFrame = Math.max(0, Math.min(box.x1, W) - Math.max(box.x0, 0)) * Math.max(0, Math.min(box.y1, H) - Math.max(box.y0, 0)) /
                  ((box.x1 - box.x0) * (box.y1 - box.y0));
  return { mean, contrast, sharp, dark: dark / n, bright: bright / n, yaw, pitch, roll, inFrame };
}

// ---- the pipeline ------------------------------------------------------------------------
class Pipeline {
  constructor(ort, sessions, o) {
    this.ort = ort; this.s = sessions; this.o = o;
    this.detIn = new Float32Array(3 * 240 * 320);
    this.lmIn = new Float32Array(64 * 64);
    this.featIn = new Float32Array(3 * 112 * 112);
    this.liveIn = new Float32Array(3 * 128 * 128);
  }
  async run1(name, data, dims) {
    const sess = this.s[name];
    const out = await sess.run({ [sess.inputNames[0]]: new this.ort.Tensor('float32', data, dims) });
    return sess.outputNames.map(n => out[n].data);
  }
  async detect(img) {
    const W = 320, H = 240, o = this.o;
    const s = Math.min(W / img.w, H / img.h);
    const nw = Math.max(1, Math.min(W, Math.round(img.w * s))), nh = Math.max(1, Math.min(H, Math.round(img.h * s)));
    const ox = (W - nw) >> 1, oy = (H - nh) >> 1;
    const small = (nw === img.w && nh === img.h) ? img : cropResizeArea(img, 0, 0, img.w, img.h, nw, nh);
    const plane = W * H, x = this.detIn;
    x.fill(0);
    const r0 = o.det_bgr ? 2 * plane : 0, r2 = o.det_bgr ? 0 : 2 * plane;
    for (let y = 0; y < nh; y++)
      for (let xx = 0; xx < nw; xx++) {
        const p = (y * nw + xx) * 3, q = (y + oy) * W + xx + ox;
        x[r0 + q] = (small.data[p] - 127) / 128; x[plane + q] = (small.data[p + 1] - 127) / 128; x[r2 + q] = (small.data[p + 2] - 127) / 128;
      }
    const [scores, boxes] = await this.run1('detect', x, [1, 3, H, W]);
    const fx = nw / img.w, fy = nh / img.h, cand = [];
    for (let i = 0; i < scores.length / 2; i++) {
      const sc = scores[2 * i + 1];
      if (!(sc > o.det_score)) continue;
      const b = { x0: (boxes[4 * i] * W - ox) / fx, y0: (boxes[4 * i + 1] * H - oy) / fy,
                  x1: (boxes[4 * i + 2] * W - ox) / fx, y1: (boxes[4 * i + 3] * H - oy) / fy, score: sc };
      if (b.x1 > b.x0 && b.y1 > b.y0) cand.push(b);
    }
    cand.sort((a, b) => b.score - a.score);
    const iou = (a, b) => {
      const ix = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0), iy = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
      if (ix <= 0 || iy <= 0) return 0;
      const inter = ix * iy;
      return inter / ((a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter);
    };
    const kept = [];
    for (const c of cand) if (kept.every(k => iou(c, k) <= o.det_nms_iou)) kept.push(c);
    const faces = kept.filter(c => c.x1 - c.x0 >= o.min_face_px);
    if (!faces.length) return null;
    const area = b => (b.x1 - b.x0) * (b.y1 - b.y0);
    const best = Math.max(...faces.map(area));
    let pick = null, bd = Infinity;
    for (const b of faces) {
      if (area(b) < 0.9 * best) continue;
      const d = Math.hypot((b.x0 + b.x1) / 2 - img.w / 2, (b.y0 + b.y1) / 2 - img.h / 2);
      if (d < bd) { bd = d; pick = b; }
    }
    return { box: pick, count: faces.length };
  }
  async landmarksOnce(img, box) {
    const o = this.o;
    let cw = (box.x1 - box.x0) * o.lm_crop_scale, ch = (box.y1 - box.y0) * o.lm_crop_scale;
    if (o.lm_square) cw = ch = Math.max(cw, ch);
    const x = Math.round((box.x0 + box.x1) / 2 - cw / 2), y = Math.round((box.y0 + box.y1) / 2 - ch / 2);
    const w = Math.max(1, Math.round(cw)), h = Math.max(1, Math.round(ch));
    const crop = toGrey(cropResizeArea(img, x, y, w, h, 64, 64));
    planes(crop, 1, false, o.lm_mean, o.lm_scale, this.lmIn);
    const [out] = await this.run1('landmark', this.lmIn, [1, 1, 64, 64]);
    const lm = new Float64Array(136);
    for (let i = 0; i < 68; i++) { lm[2 * i] = x + out[2 * i] * w; lm[2 * i + 1] = y + out[2 * i + 1] * h; }
    return lm;
  }
  async landmarks(img, box) {
    let lm = await this.landmarksOnce(img, box);
    for (let p = 0; p < this.o.lm_refine; p++) {
      let mx = 0, my = 0;
      for (let i = 0; i < 68; i++) { mx += lm[2 * i] / 68; my += lm[2 * i + 1] / 68; }
      const hw = (box.x1 - box.x0) / 2, hh = (box.y1 - box.y0) / 2;
      lm = await this.landmarksOnce(img, { x0: mx - hw, y0: my - hh, x1: mx + hw, y1: my + hh });
    }
    return lm;
  }
  async liveness(img, box) {
    const o = this.o, W = img.w, H = img.h;
    const bw = box.x1 - box.x0, bh = box.y1 - box.y0;
    const s = Math.min((H - 1) / bh, (W - 1) / bw, o.live_crop_scale);
    const nw = bw * s, nh = bh * s, cx = box.x0 + bw / 2, cy = box.y0 + bh / 2;
    let x0 = cx - nw / 2, y0 = cy - nh / 2, x1 = cx + nw / 2, y1 = cy + nh / 2;
    if (x0 < 0) { x1 -= x0; x0 = 0; }
    if (y0 < 0) { y1 -= y0; y0 = 0; }
    if (x1 > W - 1) { x0 -= x1 - W + 1; x1 = W - 1; }
    if (y1 > H - 1) { y0 -= y1 - H + 1; y1 = H - 1; }
    const ix0 = Math.max(0, Math.trunc(x0)), iy0 = Math.max(0, Math.trunc(y0));
    const cw = Math.max(ix0, Math.trunc(x1)) - ix0 + 1, ch = Math.max(iy0, Math.trunc(y1)) - iy0 + 1;
    const sx = cw / 128, sy = ch / 128;
    const small = warpAffine(img, [sx, 0, ix0 + 0.5 * sx - 0.5, 0, sy, iy0 + 0.5 * sy - 0.5], 128, 128, true);
    planes(small, 3, o.live_bgr, o.live_mean, o.live_scale, this.liveIn);
    const [out] = await this.run1('liveness', this.liveIn, [1, 3, 128, 128]);
    const mx = Math.max(...out);
    let se = 0;
    for (const v of out) se += Math.exp(v - mx);
    return Math.exp(out[o.live_index] - mx) / se;
  }
  async embed(aligned) {
    const o = this.o;
    planes(aligned, 3, o.feat_bgr, o.feat_mean, o.feat_scale, this.featIn);
    const [a] = await this.run1('feature', this.featIn, [1, 3, 112, 112]);
    const e = Float64Array.from(a);
    if (o.flip) {
      planes(flipH(aligned), 3, o.feat_bgr, o.feat_mean, o.feat_scale, this.featIn);
      const [b] = await this.run1('feature', this.featIn, [1, 3, 112, 112]);
      for (let i = 0; i < e.length; i++) e[i] += b[i];
    }
    let n = 0;
    for (const v of e) n += v * v;
    n = Math.sqrt(n);
    return e.map(v => v / n);
  }
  // Returns per-stage milliseconds (decode excluded: measured by the caller).
  async process(img) {
    const ms = { detect: 0, landmarks: 0, align: 0, quality: 0, liveness: 0, embed: 0 };
    const now = () => Number(process.hrtime.bigint()) / 1e6;
    let t = now();
    const det = await this.detect(img);
    ms.detect = now() - t;
    if (!det) return { ms, status: 'no_face' };
    t = now();
    const lm = await this.landmarks(img, det.box);
    ms.landmarks = now() - t;
    t = now();
    const p5 = points5(lm, this.o.points5_eye4);
    const p5c = p5.map(v => v - 0.5);
    const m = similarity(p5c, this.o.align_template, 5);
    const aligned = warpAffine(img, invertAffine(m), 112, 112, false);
    ms.align = now() - t;
    t = now();
    quality(aligned, lm, det.box, img.w, img.h);
    ms.quality = now() - t;
    if (this.o.liveness) {
      t = now();
      await this.liveness(img, det.box);
      ms.liveness = now() - t;
    }
    t = now();
    await this.embed(aligned);
    ms.embed = now() - t;
    return { ms, status: 'ok' };
  }
}

function median(v) {
  const s = Float64Array.from(v).sort();
  const n = s.length;
  return n ? (n % 2 ? s[n >> 1] : 0.5 * (s[n / 2 - 1] + s[n / 2])) : 0;
}

async function main() {
  const opt = { options: null, 'models-dir': path.join(ROOT, 'var/models'), threads: 1, runs: 1, warmup: 5, 'decode-ms': null };
  const files = [];
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const k = a.slice(2), v = argv[++i];
      if (!(k in opt) || v === undefined) die(`bad option ${a}`);
      opt[k] = ['options', 'models-dir', 'decode-ms'].includes(k) ? v : Number(v);
    } else files.push(a);
  }
  if (!opt.options || !files.length) die('usage: node bench/pipeline_ort.js --options OPTS.json [--models-dir DIR] [--threads N] [--runs R] [--warmup W] [--decode-ms D.json] IMAGE.ppm...');
  let ort;
  try { ort = require(ORT_PATH); } catch (e) { die(`cannot load ${ORT_PATH} (run scripts/setup-bench): ${e.message}`); }
  const o = JSON.parse(fs.readFileSync(opt.options, 'utf8'));
  const decodeMs = opt['decode-ms'] ? JSON.parse(fs.readFileSync(opt['decode-ms'], 'utf8')) : {};
  const so = { intraOpNumThreads: opt.threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' };
  const sessions = {};
  for (const m of ['detect', 'landmark', 'feature'].concat(o.liveness ? ['liveness'] : []))
    sessions[m] = await ort.InferenceSession.create(path.join(opt['models-dir'], `fr_${m}.onnx`), so);
  const pipe = new Pipeline(ort, sessions, o);
  const imgs = files.map(readPpm);
  for (let i = 0; i < opt.warmup; i++) await pipe.process(imgs[0]);
  const names = ['decode', 'detect', 'landmarks', 'align', 'quality', 'liveness', 'embed', 'total'];
  const v = Object.fromEntries(names.map(n => [n, []]));
  const status = { ok: 0, no_face: 0, low_quality: 0 };
  for (let i = 0; i < imgs.length; i++) {
    const dec = decodeMs[path.basename(files[i])] || 0;
    for (let r = 0; r < opt.runs; r++) {
      const t0 = Number(process.hrtime.bigint()) / 1e6;
      const res = await pipe.process(imgs[i]);
      const tot = Number(process.hrtime.bigint()) / 1e6 - t0;
      if (r === 0) status[res.status]++;
      v.decode.push(dec);
      for (const n of names.slice(1, -1)) v[n].push(res.ms[n]);
      v.total.push(tot + dec);
    }
  }
  const med = {};
  for (const n of names) med[n] = Math.round(median(v[n]) * 10000) / 10000;
  console.log(JSON.stringify({ threads: opt.threads, samples: v.total.length, images: imgs.length, runs: opt.runs, flip: o.flip, median_ms: med, status }));
}

main().catch(e => die(e.stack || e.message));
