#!/usr/bin/python3
"""Vectors for `make bench-search`: a gallery of up to N unit vectors and probes.

    gen.py OUTDIR --n 1000000 [--dim 512] [--probes 1000] [--real EMB.npy --labels LAB.npy | --lfw DIR]

Writes OUTDIR/base.npy (N x dim float32, unit rows: the gallery; the first n
rows form the gallery of size n), OUTDIR/probes.npy (P x dim float32, unit),
OUTDIR/mates.npy (P int64: index in base of a template of the probe's identity,
-1 for a non-mated probe) and OUTDIR/meta.json (how they were made).

Synthetic (default): identity i has a random centre c_i (isotropic Gaussian,
normalised); its template is normalise(c_i + s*n) and a probe of it
normalise(c_i + s*n') with n, n' ~ N(0, I/dim), s = 0.75, so a mated pair
scores about 1/(1+s^2) = 0.64 and non-mated pairs 0 +- 1/sqrt(dim), the shape
of real face-embedding score distributions (mated ~0.6, non-mated near 0) but
without their correlations. Half the probes are mated to one of the first
10,000 templates (so mated at every gallery size), half are non-mated.

Real (--real): L2-normalised embeddings of real faces with identity labels
(e.g. LFW through facegate's pipeline: `facegate eval identify DIR
--save-embeddings EMB.npy`, rows in sorted image order, and --lfw DIR to
derive the labels). One image of each identity with 2+
images is held out as a mated probe, identities with one image give the
non-mated probes (up to --probes in all), and the other images of identities
with 2+ images are copy 0 of the gallery (single-image identities stay out of
it, so every non-mated probe is truly non-mated). Further copies are copy 0 rotated by random orthogonal matrices
R_k (QR of a Gaussian matrix): each copy keeps the real geometry among its own
vectors (every pairwise score unchanged), while its scores against other copies
and the probes behave like those of unrelated identities. Copies are appended
until N rows.
"""
import argparse
import json
import os

import numpy as np


def normalise(x):
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def synthetic(args, out):
    rng = np.random.default_rng(args.seed)
    d, n, s = args.dim, args.n, 0.75
    base = np.lib.format.open_memmap(os.path.join(out, "base.npy"), "w+", np.float32, (n, d))
    chunk = 100_000
    centres_head = None
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        c = normalise(rng.standard_normal((hi - lo, d)))
        if lo == 0:
            centres_head = c[: min(10_000, n)].copy()
        base[lo:hi] = normalise(c + s * rng.standard_normal((hi - lo, d)) / np.sqrt(d))
    base.flush()
    p = args.probes
    n_mated = p // 2
    mates = np.full(p, -1, np.int64)
    mates[:n_mated] = rng.choice(len(centres_head), n_mated, replace=False)
    cp = np.vstack([centres_head[mates[:n_mated]], normalise(rng.standard_normal((p - n_mated, d)))])
    probes = normalise(cp + s * rng.standard_normal((p, d)) / np.sqrt(d))
    return probes, mates, {"source": "synthetic", "noise": s,
                           "how": "identity centres: isotropic Gaussian, normalised; templates and probes: "
                                  "normalise(centre + 0.75 * N(0, I/dim)); half the probes mated to one of "
                                  "the first 10,000 templates, half non-mated"}


def real(args, out):
    rng = np.random.default_rng(args.seed)
    emb = normalise(np.load(args.real).astype(np.float32))
    if args.labels:
        lab = np.load(args.labels)
    else:  # identities of an LFW tree's images in facegate's sorted (name, number) order
        root = os.path.join(args.lfw, "lfw-deepfunneled")
        lab = []
        for k, name in enumerate(sorted(os.listdir(root))):
            d = os.path.join(root, name)
            if not os.path.isdir(d):
                continue
            n = sum(1 for f in os.listdir(d) if f.startswith(name + "_") and f.endswith(".jpg"))
            lab += [k] * n
        lab = np.array(lab)
    if len(lab) != len(emb):
        raise SystemExit(f"gen.py: {len(emb)} embeddings but {len(lab)} labels")
    d = emb.shape[1]
    ids, counts = np.unique(lab, return_counts=True)
    multi, single = set(ids[counts >= 2].tolist()), set(ids[counts == 1].tolist())
    order = rng.permutation(len(emb))
    probe_rows, mates_id, gallery_rows, taken = [], [], [], set()
    n_mated_max, n_non_max = args.probes // 2, args.probes - args.probes // 2
    for r in order:
        i = lab[r].item()
        if i in multi and i not in taken and len([x for x in mates_id if x is not None]) < n_mated_max:
            taken.add(i)
            probe_rows.append(r)
            mates_id.append(i)
        elif i in single and sum(1 for x in mates_id if x is None) < n_non_max:
            probe_rows.append(r)
            mates_id.append(None)
        elif i not in single:
            gallery_rows.append(r)
    g0 = emb[gallery_rows]
    g0_lab = lab[gallery_rows]
    first = {}
    for k, i in enumerate(g0_lab.tolist()):
        first.setdefault(i, k)
    mates = np.array([first[i] if i is not None else -1 for i in mates_id], np.int64)
    n = args.n
    base = np.lib.format.open_memmap(os.path.join(out, "base.npy"), "w+", np.float32, (n, d))
    lo, copies = 0, 0
    while lo < n:
        hi = min(n, lo + len(g0))
        if copies == 0:
            block = g0
        else:
            q, r = np.linalg.qr(rng.standard_normal((d, d)))
            q *= np.sign(np.diag(r))  # Haar-distributed rotation
            block = normalise(g0 @ q.T.astype(np.float32))
        base[lo:hi] = block[: hi - lo]
        lo, copies = hi, copies + 1
    base.flush()
    return emb[probe_rows], mates, {"source": "real", "file": args.real, "real_templates": len(g0),
                                    "copies": copies,
                                    "how": "real embeddings (copy 0) plus copies rotated by random orthogonal "
                                           "matrices; probes held out: one image per identity with 2+ images "
                                           "(mated), images of single-image identities (non-mated)"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--probes", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--real")
    ap.add_argument("--labels", help="identity per embedding row (.npy)")
    ap.add_argument("--lfw", help="instead of --labels: the LFW root whose sorted images the rows are")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    probes, mates, meta = real(args, args.out) if args.real else synthetic(args, args.out)
    np.save(os.path.join(args.out, "probes.npy"), probes.astype(np.float32))
    np.save(os.path.join(args.out, "mates.npy"), mates)
    meta.update({"n": args.n, "dim": int(probes.shape[1]), "probes": len(probes),
                 "mated_probes": int((mates >= 0).sum()), "seed": args.seed})
    with open(os.path.join(args.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)


if __name__ == "__main__":
    main()
