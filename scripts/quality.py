#!/usr/bin/env python3
"""Fill quality in the hole (PSNR, SSIM against the untouched photo) of unsee's Telea and
PatchMatch and of OpenCV's Telea and NS, on the Telea test cases (tests/data/telea).

Usage: python3 scripts/quality.py [--unsee target/release/unsee]
Requires: numpy, pillow, opencv-python-headless.
"""
import argparse
import os
import subprocess
import tempfile

import cv2
import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = ["dog", "fruits", "coffee", "squirrel"]


def psnr(a, b, m):
    e = ((a.astype(float) - b.astype(float))[m] ** 2).mean()
    return 10 * np.log10(255 ** 2 / max(e, 1e-12))


def ssim_hole(a, b, m, win=7):
    """Mean SSIM (grey levels, 7x7 uniform windows, the usual constants) over windows centred in the hole."""
    a = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(float)
    b = cv2.cvtColor(b, cv2.COLOR_RGB2GRAY).astype(float)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    box = lambda x: cv2.blur(x, (win, win))
    ma, mb = box(a), box(b)
    va, vb, cov = box(a * a) - ma * ma, box(b * b) - mb * mb, box(a * b) - ma * mb
    s = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2))
    return s[m].mean()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--unsee", default=os.path.join(ROOT, "target", "release", "unsee"))
    args = ap.parse_args()
    out = tempfile.mkdtemp(prefix="unsee-quality-")
    print(f"{'case':<10}{'method':<22}{'PSNR dB':>9}{'SSIM':>8}")
    for name in CASES:
        d = os.path.join(ROOT, "tests", "data", "telea")
        img_p, mask_p = os.path.join(d, f"{name}.png"), os.path.join(d, f"{name}_mask.png")
        img = np.asarray(Image.open(img_p).convert("RGB"))
        mask = np.asarray(Image.open(mask_p)) > 0
        results = {}
        for method in ("telea", "patchmatch"):
            o = os.path.join(out, f"{name}_{method}.png")
            subprocess.run([args.unsee, "inpaint", "--method", method, "--mask", mask_p, img_p, "-o", o],
                           check=True, capture_output=True)
            results[f"unsee {method}"] = np.asarray(Image.open(o).convert("RGB"))
        bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
        m8 = mask.astype(np.uint8) * 255
        for label, flag in (("OpenCV TELEA", cv2.INPAINT_TELEA), ("OpenCV NS", cv2.INPAINT_NS)):
            results[label] = cv2.cvtColor(cv2.inpaint(bgr, m8, 5, flag), cv2.COLOR_BGR2RGB)
        for label, filled in results.items():
            print(f"{name:<10}{label:<22}{psnr(filled, img, mask):>9.2f}{ssim_hole(filled, img, mask):>8.3f}")


if __name__ == "__main__":
    main()
