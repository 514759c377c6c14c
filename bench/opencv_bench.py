#!/usr/bin/python3
"""bench/opencv_bench.py — the OpenCV DNN peer for facegate's model benchmark
(scripts/bench-models), and the reference used by scripts/make-fixtures.py.

Runs MODEL on the tensor in IN.npy with cv2.dnn (readNetFromONNX, backend
DNN_BACKEND_OPENCV, target CPU, cv2.setNumThreads(N)) and prints one line of JSON:
  {"median_ms": ..., "p10_ms": ..., "p90_ms": ..., "runs": R, "threads": N}
With --dump PREFIX it runs once instead and writes each output as float32
PREFIX.<output name>.npy.

usage: /usr/bin/python3 bench/opencv_bench.py MODEL.onnx IN.npy [--pre P]
           [--threads N] [--runs R] [--warmup W] [--dump PREFIX]
  IN.npy  float32 or uint8, exactly the model's input shape (NCHW)
  --pre   none (x, default), sub127div128 ((x-127)/128), div256 (x/256);
          model names work too: detect, feature = sub127div128;
          landmark = div256; liveness = none
Same interface as bench/ort_bench.js. Needs Debian python3-opencv and
python3-numpy: run it with /usr/bin/python3.
"""
import argparse
import json
import sys
import time

import cv2
import numpy as np

PRE = {
    "none": lambda x: x,
    "sub127div128": lambda x: (x - 127.0) / 128.0,
    "div256": lambda x: x / 256.0,
}
PRE_ALIAS = {"detect": "sub127div128", "feature": "sub127div128",
             "landmark": "div256", "liveness": "none"}


def preprocess(x, pre):
    """Float32 model input from the array stored in an input .npy file."""
    name = PRE_ALIAS.get(pre, pre)
    if name not in PRE:
        raise SystemExit(f"opencv_bench: unknown --pre {pre}")
    return np.ascontiguousarray(PRE[name](x.astype(np.float32)), dtype=np.float32)


def load(model, threads=1):
    """A cv2.dnn net on the plain OpenCV CPU backend with THREADS threads."""
    cv2.setNumThreads(threads)
    net = cv2.dnn.readNetFromONNX(model)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    return net


def forward(net, x):
    """Dict output name -> float32 array for input X."""
    names = list(net.getUnconnectedOutLayersNames())
    net.setInput(x)
    outs = net.forward(names)
    return {n: np.asarray(o, dtype=np.float32) for n, o in zip(names, outs)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("input")
    ap.add_argument("--pre", default="none")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--dump", metavar="PREFIX")
    a = ap.parse_args()
    if a.threads < 1 or a.runs < 1 or a.warmup < 0:
        ap.error("bad number")

    x = preprocess(np.load(a.input), a.pre)
    net = load(a.model, a.threads)
    if a.dump:
        written = []
        for name, out in forward(net, x).items():
            f = f"{a.dump}.{name}.npy"
            np.save(f, out)
            written.append({"name": name, "file": f, "shape": list(out.shape)})
        print(json.dumps({"outputs": written}))
        return

    names = list(net.getUnconnectedOutLayersNames())
    for _ in range(a.warmup):
        net.setInput(x)
        net.forward(names)
    t = np.empty(a.runs)
    for i in range(a.runs):
        t0 = time.perf_counter()
        net.setInput(x)
        net.forward(names)
        t[i] = (time.perf_counter() - t0) * 1e3
    print(json.dumps({
        "median_ms": round(float(np.percentile(t, 50)), 4),
        "p10_ms": round(float(np.percentile(t, 10)), 4),
        "p90_ms": round(float(np.percentile(t, 90)), 4),
        "runs": a.runs, "threads": a.threads,
    }))


if __name__ == "__main__":
    sys.exit(main())
