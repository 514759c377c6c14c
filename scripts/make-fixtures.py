#!/usr/bin/python3
"""scripts/make-fixtures.py — reference fixtures for the engine-correctness tests.

Writes tests/fixtures/nn/: for each default model an input tensor
(<model>.in.npy, uint8, exactly the model's NCHW input shape, cut from a real
photo) and the reference output computed by OpenCV DNN (<model>.out.npy,
float32; the detector has two: detect.scores.npy and detect.boxes.npy), plus a
README.md that says how they were made. If ONNX Runtime is installed
(scripts/setup-bench puts it in var/cache/ort), the same outputs are computed
with it too (bench/ort_bench.js --dump) and the largest difference between the
two references is printed and recorded in the README.

usage: /usr/bin/python3 scripts/make-fixtures.py
  (after scripts/setup and scripts/setup-bench; needs Debian python3-opencv,
  python3-numpy, and node for the ONNX Runtime comparison)
Environment: FACEGATE_MODELS (default var/models), FACEGATE_SAMPLES (default
var/samples).
"""
import json
import os
import platform
import subprocess
import sys
import tempfile

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import opencv_bench  # noqa: E402  (preprocess, load, forward)

OUT_DIR = os.path.join(ROOT, "tests", "fixtures", "nn")
MODELS = os.environ.get("FACEGATE_MODELS") or os.path.join(ROOT, "var", "models")
SAMPLES = os.environ.get("FACEGATE_SAMPLES") or os.path.join(ROOT, "var", "samples")
ORT_DIR = os.path.join(ROOT, "var", "cache", "ort", "node_modules", "onnxruntime-node")
SAMPLE = "sample1.jpg"

# model -> (preprocessing name understood by the bench drivers, formula)
PRE = {
    "detect": ("sub127div128", "(x - 127) / 128"),
    "landmark": ("div256", "x / 256"),
    "feature": ("sub127div128", "(x - 127) / 128"),
    "liveness": ("none", "x (no scaling)"),
}


def nchw(img):
    """HxW or HxWxC uint8 image -> 1xCxHxW uint8 tensor."""
    if img.ndim == 2:
        img = img[:, :, None]
    return np.ascontiguousarray(img.transpose(2, 0, 1)[None], dtype=np.uint8)


def crop(img, box, scale, square=False):
    """Crop of IMG around BOX (x1, y1, x2, y2 in pixels) scaled by SCALE about
    its centre, shifted to stay inside the image (as the model package's own
    JavaScript does for the landmark and liveness crops)."""
    h, w = img.shape[:2]
    x1, y1, x2, y2 = box
    bw, bh = x2 - x1, y2 - y1
    if square:
        bw = bh = max(bw, bh)
    s = min((h - 1) / bh, (w - 1) / bw, scale)
    nw, nh = bw * s, bh * s
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    l, t = cx - nw / 2, cy - nh / 2
    l = min(max(l, 0), w - 1 - nw)
    t = min(max(t, 0), h - 1 - nh)
    l, t = int(l), int(t)
    return img[t:t + int(nh), l:l + int(nw)], (l, t, l + int(nw), t + int(nh))


def run_opencv(model, x_u8):
    net = opencv_bench.load(os.path.join(MODELS, f"fr_{model}.onnx"), 1)
    return opencv_bench.forward(net, opencv_bench.preprocess(x_u8, PRE[model][0]))


def run_ort(model, in_file, tmp):
    prefix = os.path.join(tmp, model)
    r = subprocess.run(["node", os.path.join(ROOT, "bench", "ort_bench.js"),
                        os.path.join(MODELS, f"fr_{model}.onnx"), in_file,
                        "--pre", PRE[model][0], "--dump", prefix],
                       check=True, capture_output=True, text=True)
    return {o["name"]: np.load(o["file"]) for o in json.loads(r.stdout)["outputs"]}


def main():
    img_path = os.path.join(SAMPLES, SAMPLE)
    img = cv2.imread(img_path)  # BGR
    if img is None:
        sys.exit(f"make-fixtures: cannot read {img_path} (run scripts/setup)")
    os.makedirs(OUT_DIR, exist_ok=True)
    H, W = img.shape[:2]
    inputs, outputs, notes = {}, {}, {}

    # Detector: whole photo, resized to 320x240, RGB planes.
    det = cv2.cvtColor(cv2.resize(img, (320, 240)), cv2.COLOR_BGR2RGB)
    inputs["detect"] = nchw(det)
    outputs["detect"] = run_opencv("detect", inputs["detect"])
    notes["detect"] = f"{SAMPLE} ({W}x{H}) resized to 320x240 (cv2.resize, bilinear), RGB planes"

    # The most confident face (boxes are corners relative to the image).
    scores = outputs["detect"]["scores"][0, :, 1]
    best = int(np.argmax(scores))
    bx = outputs["detect"]["boxes"][0, best] * [W, H, W, H]
    box = tuple(float(v) for v in bx)
    face = f"the detector's most confident face (score {scores[best]:.3f}), box " \
           f"({box[0]:.0f}, {box[1]:.0f})-({box[2]:.0f}, {box[3]:.0f}) in {SAMPLE}"

    # Landmarks: the detector box (scale 1.0), 64x64, grey.
    c, r = crop(img, box, 1.0)
    inputs["landmark"] = nchw(cv2.cvtColor(cv2.resize(c, (64, 64)), cv2.COLOR_BGR2GRAY))
    notes["landmark"] = f"crop {r} = {face}, resized to 64x64, grey (cv2.COLOR_BGR2GRAY)"

    # Recognition: a square crop around the face (not aligned), 112x112, BGR planes.
    c, r = crop(img, box, 1.2, square=True)
    inputs["feature"] = nchw(cv2.resize(c, (112, 112)))
    notes["feature"] = f"square crop {r}, 1.2x the larger side of that face box, " \
                       f"centred on it (not aligned), resized to 112x112, BGR planes"

    # Liveness: 2.7x the detector box, as the model package does, 128x128, BGR planes.
    c, r = crop(img, box, 2.7)
    inputs["liveness"] = nchw(cv2.resize(c, (128, 128)))
    notes["liveness"] = f"crop {r}, 2.7x that face box about its centre (clamped to the " \
                        f"image), resized to 128x128, BGR planes"

    for m in ("landmark", "feature", "liveness"):
        outputs[m] = run_opencv(m, inputs[m])

    files = []
    for m, x in inputs.items():
        f = os.path.join(OUT_DIR, f"{m}.in.npy")
        np.save(f, x)
        files.append(f)
        outs = outputs[m]
        if m == "detect":
            for name in ("scores", "boxes"):
                f = os.path.join(OUT_DIR, f"detect.{name}.npy")
                np.save(f, outs[name])
                files.append(f)
        else:
            f = os.path.join(OUT_DIR, f"{m}.out.npy")
            np.save(f, outs["output"])
            files.append(f)

    # ONNX Runtime, when installed: the same inputs through the same models.
    ort_lines = []
    ort_version = None
    if os.path.isdir(ORT_DIR):
        with open(os.path.join(ORT_DIR, "package.json")) as fp:
            ort_version = json.load(fp)["version"]
        with tempfile.TemporaryDirectory() as tmp:
            for m in inputs:
                ref = run_ort(m, os.path.join(OUT_DIR, f"{m}.in.npy"), tmp)
                for name, o in outputs[m].items():
                    d = float(np.max(np.abs(o - ref[name])))
                    extra = ""
                    if m == "feature":
                        a, b = o.ravel().astype(np.float64), ref[name].ravel().astype(np.float64)
                        cos = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
                        extra = f", 1 - cosine {1 - cos:.2g}"
                    scale = float(np.max(np.abs(o)))
                    line = f"{m}.{name}: max |OpenCV - ORT| = {d:.3g} (max |output| {scale:.3g}{extra})"
                    print("make-fixtures: " + line)
                    ort_lines.append(line)
    else:
        print("make-fixtures: var/cache/ort missing, no ONNX Runtime comparison (run scripts/setup-bench)")

    total = sum(os.path.getsize(f) for f in files)
    write_readme(notes, outputs, ort_version, ort_lines, total)
    print(f"make-fixtures: wrote {len(files)} fixtures ({total / 1024:.0f} KiB) and README.md "
          f"to {os.path.relpath(OUT_DIR, ROOT)}")


def write_readme(notes, outputs, ort_version, ort_lines, total):
    shapes = {m: "1x" + "x".join(str(d) for d in np.load(
        os.path.join(OUT_DIR, f"{m}.in.npy")).shape[1:]) for m in notes}
    out_desc = {
        "detect": "detect.scores.npy 1x4420x2, detect.boxes.npy 1x4420x4",
        "landmark": "landmark.out.npy " + "x".join(map(str, outputs["landmark"]["output"].shape)),
        "feature": "feature.out.npy " + "x".join(map(str, outputs["feature"]["output"].shape)),
        "liveness": "liveness.out.npy " + "x".join(map(str, outputs["liveness"]["output"].shape)),
    }
    lines = [
        "# Engine-correctness fixtures",
        "",
        "Made by `scripts/make-fixtures.py` (run it with `/usr/bin/python3` after `scripts/setup`",
        "and `scripts/setup-bench`; it rewrites everything here). Do not edit by hand.",
        "",
        f"Photo: `{SAMPLE}` from npm `@vladmandic/face-api@1.7.15` (`demo/`, pinned in",
        "`scripts/samples.sha256`). Models: the defaults pinned in `scripts/models.sha256`.",
        "",
        "Each `<model>.in.npy` is a uint8 tensor with exactly the model's input shape (NCHW).",
        "The model's float input is made from it element-wise, and the reference output is",
        f"OpenCV DNN's (`cv2.dnn.readNetFromONNX`, `DNN_BACKEND_OPENCV`, OpenCV {cv2.__version__},",
        f"numpy {np.__version__}, Python {platform.python_version()}) on that float input,",
        "stored as float32.",
        "",
        "| model | input | float input | how the input was cut | reference output |",
        "|---|---|---|---|---|",
    ]
    for m in notes:
        lines.append(f"| fr_{m}.onnx | `{m}.in.npy` {shapes[m]} uint8 | {PRE[m][1]} | "
                     f"{notes[m]} | {out_desc[m]} |")
    lines += [
        "",
        "The crops only need to be realistic (a real face, the right size and channel order",
        "for the model): they test the inference engine, not the face pipeline.",
        "",
        "## OpenCV DNN vs ONNX Runtime",
        "",
    ]
    if ort_lines:
        lines += [f"The same inputs through ONNX Runtime {ort_version} (`onnxruntime-node`,",
                  "`bench/ort_bench.js --dump`), compared with the OpenCV reference:", ""]
        lines += [f"- {s}" for s in ort_lines]
        lines += ["", "A tolerance for the engine's tests should be no tighter than this spread",
                  "between the two reference implementations."]
    else:
        lines += ["Not measured (ONNX Runtime was not installed when these were made)."]
    lines += ["", f"Total size of the .npy files: {total / 1024:.0f} KiB.", ""]
    with open(os.path.join(OUT_DIR, "README.md"), "w") as fp:
        fp.write("\n".join(lines))


if __name__ == "__main__":
    main()
