#!/usr/bin/python3
"""The peers of `make bench-watchlist`, on the vectors and exact answers
bench_watchlist wrote (DIR/base.npy, probes.npy, mates.npy, exact-N.npy).

    peers.py DIR --n 1000000 [--nlist 1024] [--nprobe 16,64,256] [--pq-m 64]
             [--hnsw-m 16] [--hnsw-efc 100] [--ef 64,256] [--build-threads 2]
             [--train 40] [--probe-budget-s 60] [--threshold T] [--out FILE.json]

FAISS IndexIVFFlat (fp32 cells) and IndexIVFPQ (m sub-quantisers of 8 bits:
m bytes a vector) with the same number of cells as facegate's IVF index, each
at several nprobe; hnswlib (HNSW graph, space 'ip') at several ef. Builds use
--build-threads threads; every search uses one thread, one probe per call
(Python's call included). For each: build seconds, bytes per entry (the index
serialised, or hnswlib's reported size), median and p90 latency, recall@1
against the exact search (all probes, mated probes) and hits lost: probes
whose exact top 1 reaches the threshold (the watchlist's, and 0.35 / 0.45 /
0.55) but whose top 1 here is another entry or scores below (IVFPQ's scores
are its approximations).

Bounded so that a run at a million finishes on a loaded 2-core machine: both
FAISS indexes are trained on a sample of --train x nlist vectors (IVFPQ's
sub-quantisers on that sample's residuals), and a setting whose first 20
probes project past --probe-budget-s seconds for all of them is measured on
an evenly spaced subset of the probes instead (at least 100; "probes" and
"probes_mated" in its row say how many). hnswlib's graph is built with the M
and ef_construction given (each row says which).
"""
import argparse
import json
import os
import time

import numpy as np

SWEEP = (0.35, 0.45, 0.55)


def measure(search, probes, exact_idx, exact_score, mated, thr, budget_s):
    # Time 20 probes first; past the budget, keep an evenly spaced subset.
    t0 = time.perf_counter()
    for i in range(min(20, len(probes))):
        search(probes[i:i + 1])
    per = (time.perf_counter() - t0) / min(20, len(probes))
    keep = np.arange(len(probes))
    if per * len(probes) > budget_s:
        m = max(100, int(budget_s / per))
        keep = np.unique(np.linspace(0, len(probes) - 1, m).astype(np.int64))
    probes, exact_idx, exact_score, mated = probes[keep], exact_idx[keep], exact_score[keep], mated[keep]
    lat, top, score = [], [], []
    for i in range(len(probes)):
        t0 = time.perf_counter()
        s, ix = search(probes[i:i + 1])
        lat.append(time.perf_counter() - t0)
        top.append(int(ix[0]))
        score.append(float(s[0]))
    lat, top, score = np.array(lat) * 1e3, np.array(top), np.array(score)
    same = top == exact_idx
    lost = lambda t: int(((exact_score >= t) & ~(same & (score >= t))).sum())
    return {"probe_ms_median_1thread": float(np.median(lat)), "probe_ms_p90_1thread": float(np.percentile(lat, 90)),
            "recall_at_1": float(same.mean()), "recall_at_1_mated": float(same[mated].mean()),
            "hits_lost_at_threshold": lost(thr), "hits_lost_at": {f"{t:.2f}": lost(t) for t in SWEEP},
            "probes": int(len(probes)), "probes_mated": int(mated.sum())}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--nlist", type=int, default=1024)
    ap.add_argument("--nprobe", default="16,64,256")
    ap.add_argument("--pq-m", type=int, default=64)
    ap.add_argument("--hnsw-m", type=int, default=16)
    ap.add_argument("--hnsw-efc", type=int, default=100)
    ap.add_argument("--ef", default="64,256")
    ap.add_argument("--build-threads", type=int, default=2)
    ap.add_argument("--threshold", type=float, default=0.9633)
    ap.add_argument("--train", type=int, default=40, help="training sample: this many vectors per cell")
    ap.add_argument("--probe-budget-s", type=float, default=60.0)
    ap.add_argument("--skip-hnsw", action="store_true")
    ap.add_argument("--skip-faiss", action="store_true", help="hnswlib only (e.g. run beside the FAISS half)")
    ap.add_argument("--out")
    a = ap.parse_args()
    import faiss
    import hnswlib

    base = np.load(os.path.join(a.dir, "base.npy"), mmap_mode="r")
    xb = np.ascontiguousarray(base[: a.n], dtype=np.float32)
    probes = np.load(os.path.join(a.dir, "probes.npy")).astype(np.float32)
    mated = np.load(os.path.join(a.dir, "mates.npy")) >= 0
    ex = np.load(os.path.join(a.dir, f"exact-{a.n}.npy"))
    exact_idx, exact_score = ex[:, 0].astype(np.int64), ex[:, 1]
    d = xb.shape[1]
    out = {"entries": a.n, "faiss_version": faiss.__version__, "hnswlib": getattr(hnswlib, "__version__", "?"),
           "build_threads": a.build_threads, "peers": {}}

    def faiss_ivf(name, make, settings):
        faiss.omp_set_num_threads(a.build_threads)
        t0 = time.perf_counter()
        quant = faiss.IndexFlatIP(d)
        index = make(quant)
        sample = xb[np.random.default_rng(1).choice(a.n, min(a.n, a.train * a.nlist), replace=False)]
        index.train(sample)
        index.add(xb)
        build = time.perf_counter() - t0
        print(f"peers: {name} built in {build:.0f} s (trained on {len(sample)} vectors)", flush=True)
        size = faiss.serialize_index(index).nbytes
        faiss.omp_set_num_threads(1)
        runs = []
        for nprobe in settings:
            index.nprobe = nprobe

            def search(q):
                s, i = index.search(q, 1)
                return s[0], i[0]
            r = measure(search, probes, exact_idx, exact_score, mated, a.threshold, a.probe_budget_s)
            r["nprobe"] = nprobe
            runs.append(r)
            print(f"peers: {name} nprobe {nprobe}: {r['probe_ms_median_1thread']:.3f} ms, "
                  f"recall mated {r['recall_at_1_mated']:.4f}", flush=True)
        out["peers"][name] = {"build_s": build, "bytes_per_entry": size / a.n, "nlist": a.nlist,
                              "train_vectors": int(len(sample)), "runs": runs}

    nprobes = [int(x) for x in a.nprobe.split(",")]
    if not a.skip_faiss:
        faiss_ivf("faiss_ivfflat", lambda q: faiss.IndexIVFFlat(q, d, a.nlist, faiss.METRIC_INNER_PRODUCT), nprobes)
        faiss_ivf("faiss_ivfpq", lambda q: faiss.IndexIVFPQ(q, d, a.nlist, a.pq_m, 8, faiss.METRIC_INNER_PRODUCT),
                  nprobes)

    if not a.skip_hnsw:
        t0 = time.perf_counter()
        h = hnswlib.Index(space="ip", dim=d)
        h.init_index(max_elements=a.n, ef_construction=a.hnsw_efc, M=a.hnsw_m)
        h.set_num_threads(a.build_threads)
        h.add_items(xb, np.arange(a.n))
        build = time.perf_counter() - t0
        print(f"peers: hnswlib graph built in {build:.0f} s (M {a.hnsw_m}, ef_construction {a.hnsw_efc})", flush=True)
        h.set_num_threads(1)
        runs = []
        for ef in [int(x) for x in a.ef.split(",")]:
            h.set_ef(ef)

            def search(q):
                i, dist = h.knn_query(q, k=1)
                return 1 - dist[0], i[0]  # 'ip' distance is 1 - inner product
            r = measure(search, probes, exact_idx, exact_score, mated, a.threshold, a.probe_budget_s)
            r["ef"] = ef
            runs.append(r)
            print(f"peers: hnswlib ef {ef}: {r['probe_ms_median_1thread']:.3f} ms, "
                  f"recall mated {r['recall_at_1_mated']:.4f}", flush=True)
        # data (4 bytes a value) plus the graph's links (about 2 M ints a node at level 0)
        per = 4 * d + 8 * a.hnsw_m + 8
        out["peers"]["hnswlib"] = {"build_s": build, "bytes_per_entry": per, "M": a.hnsw_m,
                                   "ef_construction": a.hnsw_efc, "runs": runs}
    text = json.dumps(out, indent=1)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
