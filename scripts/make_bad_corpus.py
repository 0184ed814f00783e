#!/usr/bin/env python3
"""Writes tests/data/bad/: small broken inputs for every command (see tests/it/bad_corpus.rs).

images/   files given as a photo (and as a mask): empty, fake, truncated, huge headers, too small
masks/    well-formed images that are bad masks for the test's 32x32 photo
sessions/ hostile session folders for `unsee replay`

Needs Pillow. Deterministic: rerunning rewrites the same bytes.
"""
import io
import json
import os
import struct
import zlib

from PIL import Image

ROOT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "bad")


def write(rel, data):
    path = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def encoded(img, fmt, **kw):
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def gradient(w, h):
    img = Image.new("RGB", (w, h))
    img.putdata([((x * 7) % 256, (y * 5) % 256, (x * y) % 256) for y in range(h) for x in range(w)])
    return img


def png_header(w, h):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"") + chunk(b"IEND", b"")


def bmp_header(w, h):
    # BITMAPFILEHEADER + BITMAPINFOHEADER claiming w x h at 24 bits, with no pixels after it.
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(info), 0, 0, 14 + len(info)) + info


photo = gradient(64, 64)
write("images/zero_bytes.png", b"")
write("images/text_named.jpg", b"this is a text file, not a JPEG\n")
write("images/html_named.png", b"<!doctype html><html><body>404 Not Found</body></html>\n")
write("images/fake_header.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 60)
for fmt, ext in [("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp"), ("GIF", "gif"), ("TIFF", "tif"), ("BMP", "bmp")]:
    data = encoded(photo, fmt)
    write(f"images/truncated.{ext}", data[: len(data) // 2])
write("images/huge_header.png", png_header(100_000, 100_000))
write("images/huge_header.bmp", bmp_header(100_000, 100_000))
write("images/tiny_8x8.png", encoded(gradient(8, 8), "PNG"))

write("masks/mask_wrong_size.png", encoded(Image.new("L", (16, 16), 0), "PNG"))
write("masks/mask_rgba_wrong_size.png", encoded(Image.new("RGBA", (16, 16), (0, 0, 0, 0)), "PNG"))
write("masks/mask_white_full.png", encoded(Image.new("L", (32, 32), 255), "PNG"))
write("masks/mask_rgba_opaque_white.png", encoded(Image.new("RGBA", (32, 32), (255, 255, 255, 255)), "PNG"))

good = {
    "image": "original.png",
    "model": "squeezenet",
    "fill": {"method": "telea", "radius": 5, "patch": 7, "iterations": 4, "seed": 0},
    "strokes": [{"restore": False, "radius": 4.0, "points": [[8.0, 8.0], [20.0, 20.0]]}],
    "original": [{"index": 967, "label": "espresso", "probability": 0.5}],
    "modified": [{"index": 967, "label": "espresso", "probability": 0.4}],
}


def session(name, change=None, text=None):
    if text is None:
        s = json.loads(json.dumps(good))
        change(s)
        text = json.dumps(s, indent=1)
    write(f"sessions/{name}/session.json", text.encode())


def setf(path, value):
    def change(s):
        obj = s
        for key in path[:-1]:
            obj = obj[key]
        obj[path[-1]] = value

    return change


session("radius_max", setf(["fill", "radius"], 4294967295))
session("radius_zero", setf(["fill", "radius"], 0))
session("iterations_max", setf(["fill", "iterations"], 4294967295))
session("patch_even", setf(["fill", "patch"], 8))
session("patch_huge", setf(["fill", "patch"], 4001))
session("absolute_image", setf(["image"], "/etc/passwd"))
session("dotdot_image", setf(["image"], "../../images/tiny_8x8.png"))
session("nested_image", setf(["image"], "sub/original.png"))
session("brush_radius_huge", lambda s: s["strokes"][0].update(radius=1e9))
session("brush_radius_negative", lambda s: s["strokes"][0].update(radius=-3.0))
session("point_infinite", lambda s: s["strokes"][0].update(points=[[1e39, 3.0]]))
session("point_far", lambda s: s["strokes"][0].update(points=[[3.0, -1e12]]))
session("run_infinite", lambda s: s["strokes"][0].update(runs=[[0.5, 0.5, 1e40, 0.5]]))
session("class_index_huge", lambda s: s["original"][0].update(index=5000))
session("probability_7", lambda s: s["modified"][0].update(probability=7.0))
session("unknown_model", setf(["model"], "alexnet"))
session("unknown_method", lambda s: s["fill"].update(method="blur"))
session("missing_image", lambda s: None)
session("malformed", text='{"image": "original.png", "model": ')
session("empty", text="")
session("not_an_object", text="[1, 2, 3]\n")
# A session whose photo is text.
session("image_is_text", lambda s: None)
write("sessions/image_is_text/original.png", b"not a PNG\n")
