#!/usr/bin/env python3
"""Calibration and held-out inputs for the int8 accuracy tests of the sample
CNNs (tests/models/int8_accuracy.sh), generated at test time, never checked
in.

usage: make_calib_data.py OUTDIR [N_CALIB [N_HELDOUT]]

Writes OUTDIR/calib/NNNN.npy (default 128) and OUTDIR/heldout/NNNN.npy
(default 200), each one float32 [1,3,32,32] input.  The images come from the
same family as the models' sample inputs (make_models.py image_input: a
smooth colour gradient, a disc, stripes, a little noise, normalised with the
ImageNet mean/std), with the family's parameters drawn per image: gradient
weights, disc centre, radius and colour, stripe frequency, angle and phase,
noise level.  So the classes the models give vary from image to image, which
is what a top-1 agreement test needs.  Calibration and held-out images use
disjoint seeds.  Deterministic (numpy RandomState, fixed seeds).
"""
import os
import sys

import numpy as np

MEAN = np.array([0.485, 0.456, 0.406]).reshape(3, 1, 1)
STD = np.array([0.229, 0.224, 0.225]).reshape(3, 1, 1)


def image(seed):
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[0:32, 0:32] / 31.0
    cx, cy = rng.uniform(0.2, 0.8, 2)
    rad = rng.uniform(0.03, 0.12)
    disc = ((xx - cx) ** 2 + (yy - cy) ** 2 < rad).astype(np.float64)
    freq = rng.uniform(1.0, 5.0)
    ang = rng.uniform(0.0, 1.0)
    phase = rng.uniform(0.0, 2 * np.pi)
    stripes = 0.5 + 0.5 * np.sin(2 * np.pi * (xx + ang * yy) * freq + phase)
    a = rng.uniform(0.2, 0.8, 9)
    r = a[0] * xx + a[1] * disc + a[2] * 0.3 * stripes
    g = a[3] * yy + a[4] * (1 - disc) * stripes + a[5] * 0.2
    b = a[6] * (1 - xx) * (1 - yy) + a[7] * disc + a[8] * 0.2 * stripes
    img = np.stack([r, g, b]) + rng.standard_normal((3, 32, 32)) * \
        rng.uniform(0.01, 0.06)
    img = np.clip(img, 0.0, 1.0)
    return ((img - MEAN) / STD)[None].astype(np.float32)


def main():
    out = sys.argv[1]
    n_calib = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    n_held = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    for sub, base, n in (("calib", 10000, n_calib), ("heldout", 50000, n_held)):
        d = os.path.join(out, sub)
        os.makedirs(d, exist_ok=True)
        for i in range(n):
            np.save(os.path.join(d, f"{i:04d}.npy"), image(base + i))


if __name__ == "__main__":
    main()
