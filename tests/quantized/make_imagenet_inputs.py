#!/usr/bin/python3
"""Turns ImageNet sample JPEGs into model inputs (.npy) for the top-1 tests.

Preprocessing is torchvision's ImageNet recipe, the one the ONNX model zoo
gives for ShuffleNet-v2 and MobileNetV2: RGB, resize the shorter side to 256
(bilinear), center-crop 224x224, scale to [0, 1], subtract the mean
(0.485, 0.456, 0.406), divide by the std (0.229, 0.224, 0.225), NCHW with a
batch of 1, float32.

usage: make_imagenet_inputs.py IMAGES_DIR LABELS_CSV OUT_DIR [--every K]
  Writes OUT_DIR/NNN.npy for every K-th row of LABELS_CSV (default: all)
  and OUT_DIR/labels.txt, one line per written input: "NNN.npy CLASS FILE".
Needs numpy and PIL (Debian: python3-numpy, python3-pil); exits 77 (the
test suite's "skipped") when either is missing.
"""
import csv
import os
import sys

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def preprocess(path, np, Image):
    img = Image.open(path).convert("RGB")
    w, h = img.size
    short = 256
    if w <= h:
        size = (short, int(short * h / w))
    else:
        size = (int(short * w / h), short)
    img = img.resize(size, Image.BILINEAR)
    w, h = img.size
    top = int(round((h - 224) / 2.0))
    left = int(round((w - 224) / 2.0))
    img = img.crop((left, top, left + 224, top + 224))
    x = np.asarray(img, dtype=np.float32) / np.float32(255.0)
    x = (x - np.array(MEAN, np.float32)) / np.array(STD, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None]).astype(np.float32)


def read_labels(csv_path):
    with open(csv_path, newline="") as f:
        return [(r["file"], int(r["class_index_0_999"]))
                for r in csv.DictReader(f)]


def make_inputs(images, labels_csv, out_dir, every=1):
    """Returns [(npy_path, class, image_file)] for the rows written."""
    try:
        import numpy as np
        from PIL import Image
    except ImportError as e:
        print("skipped: numpy and PIL are needed (Debian python3-numpy, "
              "python3-pil): %s" % e)
        sys.exit(77)
    os.makedirs(out_dir, exist_ok=True)
    rows = read_labels(labels_csv)[::every]
    out = []
    with open(os.path.join(out_dir, "labels.txt"), "w") as lf:
        for i, (name, cls) in enumerate(rows):
            npy = os.path.join(out_dir, "%03d.npy" % i)
            np.save(npy, preprocess(os.path.join(images, name), np, Image))
            lf.write("%03d.npy %d %s\n" % (i, cls, name))
            out.append((npy, cls, name))
    return out


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    every = 1
    if "--every" in argv:
        every = int(argv[argv.index("--every") + 1])
        args.remove(str(every))
    if len(args) != 3:
        print(__doc__)
        return 2
    rows = make_inputs(args[0], args[1], args[2], every)
    print("wrote %d inputs to %s" % (len(rows), args[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
