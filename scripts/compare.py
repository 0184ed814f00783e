#!/usr/bin/env python3
"""Runs unsee's benchmark and the tools users would pick instead, on the same machine and
inputs, and prints our figure next to theirs as a ratio (>1: unsee is faster).

  * onnxruntime (CPU) inference of both models (shared/assets/models/*.onnx), batch 1;
  * cv2.inpaint TELEA and NS on unsee's own bench inputs (photo + standard stroke mask);
  * PyTorch eager CUDA with the same weights, where torch sees a CUDA GPU (CUDA events).

Usage: python3 scripts/compare.py --unsee target/release/unsee [--quick] [--out DIR]
Requires: onnxruntime, opencv-python-headless, numpy, pillow (torch + torchvision optional).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timeit(fn, warmup, n):
    for _ in range(warmup):
        fn()
    t = []
    for _ in range(n):
        s = time.perf_counter()
        fn()
        t.append((time.perf_counter() - s) * 1e3)
    t.sort()
    return statistics.median(t), t[min(len(t) - 1, round(0.95 * (len(t) - 1)))]


def onnx_bench(shared, warmup, n, threads):
    import onnxruntime as ort
    out = {}
    if not os.path.isdir(os.path.join(shared, "assets", "models")):
        raise ImportError(f"no ONNX models under {shared}/assets/models")
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    for name, file in [("squeezenet", "squeezenet1_1.onnx"), ("mobilenet", "mobilenet_v2.onnx")]:
        sess = ort.InferenceSession(os.path.join(shared, "assets", "models", file), opts,
                                    providers=["CPUExecutionProvider"])
        x = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
        feed = {sess.get_inputs()[0].name: x}
        out[f"{name}/infer"] = timeit(lambda: sess.run(None, feed), warmup, n)
    return out


def cv_bench(inputs, sizes, warmup, n):
    import cv2
    out = {}
    for size in sizes:
        img = cv2.imread(os.path.join(inputs, f"photo_{size}.png"))
        mask = cv2.imread(os.path.join(inputs, f"mask_{size}.png"), cv2.IMREAD_GRAYSCALE)
        for method, flag in [("telea", cv2.INPAINT_TELEA), ("ns", cv2.INPAINT_NS)]:
            out[f"{method}/{size}"] = timeit(lambda: cv2.inpaint(img, mask, 5, flag), warmup, n)
    return out


def torch_bench(models, warmup, n):
    try:
        import torch
        import torchvision
    except ImportError:
        return {}
    if not torch.cuda.is_available():
        return {}
    out = {}

    def load_file(path):
        import struct
        data = open(path, "rb").read()
        n = struct.unpack("<Q", data[:8])[0]
        header = json.loads(data[8:8 + n])
        return {k: torch.from_numpy(np.frombuffer(data[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]],
                                                  dtype="<f4").reshape(v["shape"]).copy())
                for k, v in header.items() if k != "__metadata__"}
    dev = torch.device("cuda")
    for name, ctor, file, size in [
        ("squeezenet", torchvision.models.squeezenet1_1, "squeezenet1_1_caffe_bgr.safetensors", 227),
        ("mobilenet", torchvision.models.mobilenet_v2, "mobilenet_v2.safetensors", 224),
    ]:
        model = ctor()
        model.load_state_dict(load_file(os.path.join(models, file)), strict=False)
        model = model.eval().to(dev)
        x = torch.randn(1, 3, size, size, device=dev)
        times = []
        with torch.no_grad():
            for i in range(warmup + n):
                a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                a.record()
                model(x)
                b.record()
                torch.cuda.synchronize()
                if i >= warmup:
                    times.append(a.elapsed_time(b))
        times.sort()
        out[f"{name}/infer"] = (statistics.median(times), times[round(0.95 * (len(times) - 1))])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--unsee", default=os.path.join(ROOT, "target", "release", "unsee"))
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=0, help="onnxruntime intra-op threads (0 = default)")
    ap.add_argument("--out", default=None, help="folder for unsee.json, others.json")
    ap.add_argument("--only", default=None, metavar="CASES",
                    help="pass `--only CASES` to `unsee bench` (e.g. infer-cpu,telea-cpu)")
    ap.add_argument("--skip-unsee-bench", default=None, metavar="JSON",
                    help="use this `unsee bench --json` output instead of running the bench again")
    args = ap.parse_args()
    inputs = tempfile.mkdtemp(prefix="unsee-bench-")
    if args.skip_unsee_bench:
        ours = json.load(open(args.skip_unsee_bench))
        # Only the inputs are needed, at every size the bench ran: `--only` with a name that
        # matches no case writes them all and times nothing.
        subprocess.run([args.unsee, "bench", "--runs", "1", "--only", "inputs-only", "--save-inputs", inputs],
                       capture_output=True)
    else:
        cmd = [args.unsee, "bench", "--json", "--save-inputs", inputs] + (["--quick"] if args.quick else [])
        if args.only:
            cmd += ["--only", args.only]
        print("running", " ".join(cmd), file=sys.stderr)
        ours = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    sizes = sorted({int(r["name"].split("/")[1]) for r in ours["results"] if r["name"].startswith(("telea/", "telea-cpu/"))})
    warmup, n = (1, 5) if args.quick else (3, 30)

    def optional(label, fn):
        try:
            return fn()
        except ImportError as e:
            print(f"skipping {label}: {e}", file=sys.stderr)
            return {}

    others = {"onnxruntime-cpu": optional("onnxruntime", lambda: onnx_bench(args.shared, warmup, n, args.threads)),
              "opencv": optional("opencv", lambda: cv_bench(inputs, sizes, warmup, n)),
              "torch-cuda-eager": optional("torch", lambda: torch_bench(os.path.join(ROOT, "models"), warmup, n))}
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        json.dump(ours, open(os.path.join(args.out, "unsee.json"), "w"), indent=1)
        json.dump(others, open(os.path.join(args.out, "others.json"), "w"), indent=1)

    print(f"unsee adapter: {ours['adapter']}")
    print(f"{'case':<26}{'unsee ms':>10}{'unsee GPU ms':>14}  {'other':<18}{'other ms':>10}{'ratio':>8}")
    for r in ours["results"]:
        gpu = r.get("gpu_median_ms")
        gpu_s = f"{gpu:.3f}" if gpu is not None else "-"
        # The CPU cases compare with the same work on the other tool: inference, Telea's fill.
        # onnxruntime gets a ready input tensor: forward-cpu is the same work, infer-cpu also
        # preprocesses the photo.
        key = (r["name"].replace("/infer-cpu", "/infer").replace("/forward-cpu", "/infer")
               .replace("telea-cpu/", "telea/"))
        rows = [(tool, res[key][0]) for tool, res in others.items() if key in res]
        if key.startswith("telea/"):
            rows += [("opencv NS", others["opencv"].get(key.replace("telea", "ns"), (None,))[0])]
        if not rows:
            print(f"{r['name']:<26}{r['median_ms']:>10.3f}{gpu_s:>14}")
        for tool, ms in rows:
            if ms is None:
                continue
            print(f"{r['name']:<26}{r['median_ms']:>10.3f}{gpu_s:>14}  {tool:<18}{ms:>10.3f}{ms / r['median_ms']:>8.2f}")


if __name__ == "__main__":
    main()
