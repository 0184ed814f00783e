#!/usr/bin/env python3
"""Writes the Telea test cases and OpenCV's answers to them (tests/data/telea/).

For each case: `<name>.png` (a bundled photo, downscaled with Pillow's LANCZOS so the test stays
quick on a software GPU), `<name>_mask.png` (brush strokes, white = erase) and
`<name>_opencv.png` = cv2.inpaint(photo, mask, 5, cv2.INPAINT_TELEA). The test compares unsee's
PSNR in the hole (against the untouched photo) with OpenCV's.

Requires: pip install opencv-python-headless numpy pillow
"""
import os

import cv2
import numpy as np
from PIL import Image, ImageDraw

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "telea")


def strokes(size, paths, width):
    """A brush-stroke mask: round-capped polylines `width` pixels wide."""
    mask = Image.new("L", size, 0)
    d = ImageDraw.Draw(mask)
    for path in paths:
        pts = [(x * size[0], y * size[1]) for x, y in path]
        d.line(pts, fill=255, width=width)
        for x, y in pts:
            d.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=255)
    return mask


CASES = [
    # name, photo, width, strokes (fractions of the image), brush width
    ("dog", "dog.jpg", 256, [[(0.15, 0.3), (0.45, 0.42), (0.7, 0.35)], [(0.6, 0.7), (0.8, 0.8)]], 11),
    ("fruits", "fruits.jpg", 240, [[(0.2, 0.2), (0.5, 0.5), (0.8, 0.3)]], 13),
    ("coffee", "coffee.png", 200, [[(0.1, 0.8), (0.9, 0.75)], [(0.5, 0.1), (0.55, 0.5)]], 9),
    # Touches the right and bottom borders; a 1-pixel-wide line too.
    ("squirrel", "squirrel_cls.jpg", 180, [[(0.7, 0.6), (1.05, 0.65)], [(0.3, 0.9), (0.35, 1.05)]], 10),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, photo, width, paths, brush in CASES:
        img = Image.open(os.path.join(ROOT, "models", "gallery", photo)).convert("RGB")
        height = round(img.height * width / img.width)
        img = img.resize((width, height), Image.LANCZOS)
        mask = strokes((width, height), paths, brush)
        if name == "squirrel":
            ImageDraw.Draw(mask).line([(5, 5), (60, 5)], fill=255, width=1)
        img.save(os.path.join(OUT, f"{name}.png"))
        mask.save(os.path.join(OUT, f"{name}_mask.png"))
        bgr = cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)
        filled = cv2.inpaint(bgr, np.asarray(mask), 5, cv2.INPAINT_TELEA)
        Image.fromarray(cv2.cvtColor(filled, cv2.COLOR_BGR2RGB)).save(os.path.join(OUT, f"{name}_opencv.png"))
        m = np.asarray(mask) > 0
        print(f"{name}: {width}x{height}, {m.mean() * 100:.1f}% masked")


if __name__ == "__main__":
    main()
