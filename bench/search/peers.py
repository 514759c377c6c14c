#!/usr/bin/python3
"""The peers of `make bench-search`, on the vectors bench/search/gen.py wrote.

    peers.py DIR [--sizes 420,10000,100000,1000000] [--threads 1,2] [--single N]
             [--batched N] [--k 10] [--hnsw-max N] [--out FILE.json]

FAISS IndexFlatIP (exact inner product on fp32; python3-faiss) and hnswlib
(approximate HNSW graph, space 'ip'; python3-hnswlib), at each gallery size
(the first n rows of DIR/base.npy) and thread count:
  single   one probe per search call (median / mean latency, Python call included)
  batched  all probes in one call, probes/s
FAISS's top 1 per probe is written out so report.py can check it agrees with
facegate's exact fp32 search; hnswlib's recall@1 is computed the same way.
hnswlib: M=16, ef_construction=200, ef=64 (search), built with every thread
given; galleries above --hnsw-max (default 1,000,000) are skipped.
FAISS's batched search multiplies matrices with the system BLAS: run this
with OpenBLAS on the library path (scripts/bench-search does) or it gets
Debian's reference BLAS, an unfairly slow peer; the BLAS used is recorded.
"""
import argparse
import json
import os
import sys
import time

import numpy as np


def timed_single(fn, probes, n):
    lat = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(probes[i:i + 1])
        lat.append(time.perf_counter() - t0)
    lat = np.array(lat)
    return {"single_median_us": float(np.median(lat) * 1e6), "single_mean_us": float(lat.mean() * 1e6),
            "single_qps": float(1.0 / lat.mean())}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--sizes", default="420,10000,100000,1000000")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--single", type=int, default=200)
    ap.add_argument("--batched", type=int, default=1000)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--hnsw-max", type=int, default=1_000_000)
    ap.add_argument("--out")
    a = ap.parse_args()
    import ctypes
    import faiss
    blas, set_blas_threads = "netlib reference (libblas3)", None
    try:  # FAISS batched search calls sgemm: say which BLAS, and give it the same thread count
        lib = ctypes.CDLL("libblas.so.3")
        if hasattr(lib, "openblas_get_config"):
            lib.openblas_get_config.restype = ctypes.c_char_p
            blas = "OpenBLAS " + lib.openblas_get_config().decode()
            set_blas_threads = lib.openblas_set_num_threads
    except OSError:
        pass
    try:
        import hnswlib
    except ImportError:
        hnswlib = None
    base = np.load(os.path.join(a.dir, "base.npy"), mmap_mode="r")
    probes = np.ascontiguousarray(np.load(os.path.join(a.dir, "probes.npy")), dtype=np.float32)
    threads = [int(t) for t in a.threads.split(",")]
    res = {"faiss_version": faiss.__version__, "faiss_compile": faiss.get_compile_options(), "blas": blas,
           "hnswlib": {"M": 16, "ef_construction": 200, "ef": 64}, "sizes": {}}
    for n in [int(s) for s in a.sizes.split(",")]:
        nb, ns1 = min(len(probes), a.batched), min(len(probes), a.single)
        if n >= 1_000_000:
            ns1 = min(ns1, 50)
        P = probes[:nb]
        xb = np.ascontiguousarray(base[:n], dtype=np.float32)
        out = {"faiss_flat_ip": {"threads": {}}, "hnswlib": None}
        t0 = time.perf_counter()
        index = faiss.IndexFlatIP(xb.shape[1])
        index.add(xb)
        out["faiss_flat_ip"]["build_s"] = time.perf_counter() - t0
        index.search(P[:1], a.k)  # warm up
        for t in threads:
            faiss.omp_set_num_threads(t)
            if set_blas_threads:
                set_blas_threads(t)
            r = timed_single(lambda q: index.search(q, a.k), P, ns1)
            t0 = time.perf_counter()
            _, I = index.search(P, a.k)
            r["batched_qps"] = nb / (time.perf_counter() - t0)
            out["faiss_flat_ip"]["threads"][str(t)] = r
            if t == threads[0]:
                out["faiss_flat_ip"]["top1"] = I[:, 0].tolist()
            print(f"peers: n={n} faiss {t} thr: single {r['single_mean_us']:.1f} us, "
                  f"batched {r['batched_qps']:.0f} probes/s", file=sys.stderr)
        del index
        if hnswlib is not None and n <= a.hnsw_max:
            h = {"threads": {}}
            t0 = time.perf_counter()
            hi = hnswlib.Index(space="ip", dim=xb.shape[1])
            hi.init_index(max_elements=n, M=16, ef_construction=200, random_seed=1)
            hi.add_items(xb, np.arange(n), num_threads=max(threads))
            h["build_s"] = time.perf_counter() - t0
            hi.set_ef(64)
            for t in threads:
                hi.set_num_threads(t)
                r = timed_single(lambda q: hi.knn_query(q, k=a.k, num_threads=1), P, ns1)
                t0 = time.perf_counter()
                L, _ = hi.knn_query(P, k=a.k, num_threads=t)
                r["batched_qps"] = nb / (time.perf_counter() - t0)
                h["threads"][str(t)] = r
                if t == threads[0]:
                    h["top1"] = L[:, 0].astype(int).tolist()
                print(f"peers: n={n} hnswlib {t} thr: single {r['single_mean_us']:.1f} us, "
                      f"batched {r['batched_qps']:.0f} probes/s (build {h['build_s']:.0f} s)", file=sys.stderr)
            out["hnswlib"] = h
            del hi
        res["sizes"][str(n)] = out
        del xb
    s = json.dumps(res)
    if a.out:
        with open(a.out, "w") as f:
            f.write(s + "\n")
    else:
        print(s)


if __name__ == "__main__":
    main()
