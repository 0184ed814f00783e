#!/usr/bin/env python3
"""Writes the reference outputs the tests compare unsee against (tests/data/*.json).

How the references are made:
  * MobileNetV2: the shipped ONNX (shared/assets/models/mobilenet_v2.onnx) in onnxruntime.
  * SqueezeNet 1.1: an ONNX graph built here, node by node, from the very safetensors file unsee
    ships (Caffe weights, BGR input, 227x227, Caffe's ceil-mode max pooling; floor mode for the
    2018 demo's preset), run in onnxruntime. It is checked against the shipped squeezenet1_1.onnx
    at 224x224, where ceil and floor pooling agree, so the graph itself is verified.
  * Model inputs for the logits test are a deterministic smooth pattern (see `pattern`) computed
    the same way in tests/it/models.rs, so no input tensor needs committing.
  * Photo top-5: images decoded with Pillow, squashed to the model size with the same triangle
    filter as shaders/preprocess.wgsl (float64, separable), normalised as the model expects.

Requires: pip install onnxruntime onnx numpy pillow
Usage:    python3 scripts/make_references.py [--shared ../shared]
"""
import argparse
import json
import math
import os
import struct

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SQUEEZE_MEAN_BGR = (104.006, 116.669, 122.679)
PAPER_MEAN = (103.939, 116.779, 123.68)
IMNET_MEAN = (0.485, 0.456, 0.406)
IMNET_STD = (0.229, 0.224, 0.225)
FIRES = [(3, 64, 16, 64), (4, 128, 16, 64), (6, 128, 32, 128), (7, 256, 32, 128),
         (9, 256, 48, 192), (10, 384, 48, 192), (11, 384, 64, 256), (12, 512, 64, 256)]


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(data[8 + n + a:8 + n + b], dtype="<f4").reshape(v["shape"])
    return out


def squeezenet_onnx(weights, size, ceil_mode):
    """SqueezeNet 1.1 as an ONNX graph: input 'x' [1,3,size,size] BGR minus mean, output scores."""
    inits, nodes = [], []
    counter = [0]

    def name(p):
        counter[0] += 1
        return f"{p}_{counter[0]}"

    def conv(x, prefix, pad):
        w, b = prefix + ".weight", prefix + ".bias"
        for k in (w, b):
            if k not in {i.name for i in inits}:
                inits.append(numpy_helper.from_array(weights[k].astype(np.float32), k))
        y = name("conv")
        stride = 2 if prefix == "features.0" else 1
        nodes.append(helper.make_node("Conv", [x, w, b], [y], pads=[pad] * 4, strides=[stride, stride]))
        r = name("relu")
        nodes.append(helper.make_node("Relu", [y], [r]))
        return r

    def pool(x):
        y = name("pool")
        nodes.append(helper.make_node("MaxPool", [x], [y], kernel_shape=[3, 3], strides=[2, 2],
                                      ceil_mode=1 if ceil_mode else 0))
        return y

    x = pool(conv("x", "features.0", 0))
    for idx, (i, _, _, _) in enumerate(FIRES):
        s = conv(x, f"features.{i}.squeeze", 0)
        e1 = conv(s, f"features.{i}.expand1x1", 0)
        e3 = conv(s, f"features.{i}.expand3x3", 1)
        x = name("cat")
        nodes.append(helper.make_node("Concat", [e1, e3], [x], axis=1))
        if idx in (1, 3):
            x = pool(x)
    maps = conv(x, "classifier.1", 0)
    gap = name("gap")
    nodes.append(helper.make_node("GlobalAveragePool", [maps], [gap]))
    nodes.append(helper.make_node("Flatten", [gap], ["scores"], axis=1))
    graph = helper.make_graph(
        nodes, "squeezenet1_1_caffe",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 1000])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def pattern(size, amplitude, offset):
    """Deterministic smooth test input [1,3,size,size]; mirrored in tests/it/models.rs."""
    c, y, x = np.meshgrid(np.arange(3), np.arange(size), np.arange(size), indexing="ij")
    c, y, x = c.astype(np.float64), y.astype(np.float64), x.astype(np.float64)
    v = np.sin(0.07 * x + 0.11 * y + 1.3 * c) + 0.5 * np.cos(0.013 * x * y / size * 7.0 + c)
    return (offset + amplitude * v).astype(np.float32)[None]


def taps(o, src, dst):
    ratio = src / dst
    support = max(ratio, 1.0)
    center = (o + 0.5) * ratio
    lo = max(int(math.floor(center - support)), 0)
    hi = min(int(math.ceil(center + support)), src - 1)
    out = []
    for i in range(lo, hi + 1):
        w = max(0.0, 1.0 - abs(i + 0.5 - center) / support)
        if w > 0:
            out.append((i, w))
    return out


def resize_matrix(src, dst):
    m = np.zeros((dst, src))
    for o in range(dst):
        t = taps(o, src, dst)
        total = sum(w for _, w in t)
        for i, w in t:
            m[o, i] = w / total
    return m


def preprocess(path, size, source, mean, scale):
    img = Image.open(path)
    has_alpha = img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info)
    rgba = np.asarray(img.convert("RGBA"), dtype=np.float64)
    if has_alpha:
        a = rgba[..., 3:4]
        rgba[..., :3] = np.floor((rgba[..., :3] * a + 255 * (255 - a) + 127) / 255)
    h, w = rgba.shape[:2]
    my, mx = resize_matrix(h, size), resize_matrix(w, size)
    out = np.zeros((1, 3, size, size), dtype=np.float32)
    for c in range(3):
        plane = my @ rgba[..., source[c]] @ mx.T
        out[0, c] = ((plane - mean[c]) * scale[c]).astype(np.float32)
    return out


def softmax(z):
    z = z.astype(np.float64) - z.max()
    e = np.exp(z)
    return e / e.sum()


def top5(scores, labels):
    p = softmax(scores)
    order = np.argsort(-p, kind="stable")[:5]
    return [{"index": int(i), "label": labels[i], "probability": float(p[i])} for i in order]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"))
    args = ap.parse_args()
    models = os.path.join(ROOT, "models")
    data = os.path.join(ROOT, "tests", "data")
    os.makedirs(data, exist_ok=True)
    labels = open(os.path.join(models, "imagenet_classes.txt")).read().splitlines()

    sq_w = load_safetensors(os.path.join(models, "squeezenet1_1_caffe_bgr.safetensors"))
    sq227 = squeezenet_onnx(sq_w, 227, ceil_mode=True)
    sq227_floor = squeezenet_onnx(sq_w, 227, ceil_mode=False)
    mb = ort.InferenceSession(os.path.join(args.shared, "assets", "models", "mobilenet_v2.onnx"),
                              providers=["CPUExecutionProvider"])

    # Verify the SqueezeNet graph against the shipped ONNX at 224 (normalisation folded in there).
    sq224 = squeezenet_onnx(sq_w, 224, ceil_mode=True)
    shipped = ort.InferenceSession(os.path.join(args.shared, "assets", "models", "squeezenet1_1.onnx"),
                                   providers=["CPUExecutionProvider"])
    x_norm = pattern(224, 1.0, 0.0)
    rgb255 = (x_norm[0] * np.array(IMNET_STD)[:, None, None] + np.array(IMNET_MEAN)[:, None, None]) * 255
    bgr = (rgb255[::-1] - np.array(SQUEEZE_MEAN_BGR)[:, None, None])[None].astype(np.float32)
    a = shipped.run(None, {shipped.get_inputs()[0].name: x_norm})[0][0]
    b = sq224.run(None, {"x": bgr})[0][0]
    diff = float(np.abs(a - b).max())
    print(f"squeezenet graph vs shipped onnx at 224: max|d| = {diff:.2e} (max |score| {np.abs(a).max():.2f})")
    assert diff <= 1e-3 * np.abs(a).max(), "the SqueezeNet graph does not match the shipped ONNX"

    # Logits on fixed inputs.
    refs = {}
    for model, sess, feed, size, amp, off in [
        ("squeezenet", sq227, "x", 227, 60.0, 0.0),
        ("mobilenet", mb, mb.get_inputs()[0].name, 224, 1.5, 0.0),
    ]:
        x = pattern(size, amp, off)
        logits = sess.run(None, {feed: x})[0][0]
        refs[model] = {"size": size, "amplitude": amp, "offset": off,
                       "logits": [float(v) for v in logits]}
        print(f"{model}: logits range {logits.min():.3f}..{logits.max():.3f}, top-1 {labels[int(logits.argmax())]}")
    with open(os.path.join(data, "ref_logits.json"), "w") as f:
        json.dump(refs, f)

    # Top-5 on the bundled photos.
    specs = {
        "squeezenet": (sq227, "x", 227, (2, 1, 0), SQUEEZE_MEAN_BGR, (1.0, 1.0, 1.0)),
        "mobilenet": (mb, mb.get_inputs()[0].name, 224, (0, 1, 2),
                      tuple(m * 255 for m in IMNET_MEAN), tuple(1 / (s * 255) for s in IMNET_STD)),
        "squeezenet-paper2018": (sq227_floor, "x", 227, (0, 1, 2), PAPER_MEAN, (1.0, 1.0, 1.0)),
    }
    photos = {}
    gallery = os.path.join(models, "gallery")
    for photo in sorted(os.listdir(gallery)):
        for model in ("squeezenet", "mobilenet"):
            sess, feed, size, src, mean, scale = specs[model]
            x = preprocess(os.path.join(gallery, photo), size, src, mean, scale)
            photos.setdefault(photo, {})[model] = top5(sess.run(None, {feed: x})[0][0], labels)
        print(photo, {m: [(t["label"].split(",")[0], round(t["probability"] * 100, 2)) for t in v[:3]]
                      for m, v in photos[photo].items()})
    for photo in ("baseball.jpg", "sailboat.jpg"):
        sess, feed, size, src, mean, scale = specs["squeezenet-paper2018"]
        x = preprocess(os.path.join(args.shared, "paper", photo), size, src, mean, scale)
        t = top5(sess.run(None, {feed: x})[0][0], labels)
        print("paper2018", photo, [(r["label"].split(",")[0], round(r["probability"] * 100, 2)) for r in t])
    with open(os.path.join(data, "ref_top5.json"), "w") as f:
        json.dump(photos, f, indent=1)


if __name__ == "__main__":
    main()
