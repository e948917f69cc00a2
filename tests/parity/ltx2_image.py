#!/usr/bin/env python3
"""Goldens for warmd's first-frame image preparation (host/image_in.c),
computed by ltx-pipelines 1.0.0 `load_image_conditioning` itself.

The script draws one small picture (a gradient with shapes, 117x75: odd
sides, so the H.264 step's even crop shows, and an aspect ratio that needs
cropping at both targets), saves it as tests/data/ltx2/image_in.png and as
tests/data/ltx2/image_in.jpg (PIL, quality 90, 4:2:0), and runs the
reference on each file at two stage sizes (32x48: scaled down, 80x40:
scaled up), with crf = 0 (no H.264 round trip) and with the reference's
default crf (33). It writes tests/data/ltx2/ltx2_image.safetensors:

    {png,jpg}_rgb                 decode_image(path): [H, W, 3] u8
    {png,jpg}_{H}x{W}_crf{0,33}   load_image_conditioning: [1, 3, 1, H, W]

The metadata records the sizes and the CRF default. ctest compares
test_image_in against these files, so CI needs no Python. Run again only
when a case changes:

    PYTHONPATH=tests/parity/pystub python3 tests/parity/ltx2_image.py
"""
import json
import os

import numpy as np
import torch
from PIL import Image, ImageDraw
from safetensors.torch import save_file

from ltx_pipelines.utils.constants import DEFAULT_IMAGE_CRF
from ltx_pipelines.utils.media_io import decode_image, load_image_conditioning

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "ltx2")
SRC_W, SRC_H = 117, 75
TARGETS = [(32, 48), (80, 40), (74, 116)]  # (height, width); 74 x 116 is the round trip itself, 116 not a multiple of 16


def picture():
    y, x = np.mgrid[0:SRC_H, 0:SRC_W].astype(np.float64)
    r = 255 * x / (SRC_W - 1)
    g = 255 * y / (SRC_H - 1)
    b = 128 + 100 * np.sin(x / 9.0) * np.cos(y / 7.0)
    arr = np.stack([r, g, b], -1).round().clip(0, 255).astype(np.uint8)
    im = Image.fromarray(arr, "RGB")
    d = ImageDraw.Draw(im)
    d.ellipse([10, 8, 50, 40], fill=(240, 30, 20))
    d.rectangle([70, 30, 105, 68], fill=(20, 40, 230))
    d.line([0, 74, 116, 0], fill=(255, 255, 255), width=3)
    d.polygon([(60, 5), (80, 25), (45, 25)], fill=(10, 200, 60))
    return im


def main():
    os.makedirs(DATA, exist_ok=True)
    im = picture()
    png = os.path.join(DATA, "image_in.png")
    jpg = os.path.join(DATA, "image_in.jpg")
    im.save(png, optimize=True)
    im.save(jpg, quality=90, subsampling=2)
    out = {}
    for tag, path in (("png", png), ("jpg", jpg)):
        out[f"{tag}_rgb"] = torch.from_numpy(np.ascontiguousarray(decode_image(path)))
        for h, w in TARGETS:
            for crf in (0, DEFAULT_IMAGE_CRF):
                t = load_image_conditioning(path, h, w, torch.float32, torch.device("cpu"), crf=crf)
                assert t.shape == (1, 3, 1, h, w), t.shape
                out[f"{tag}_{h}x{w}_crf{crf}"] = t.contiguous()
    meta = {
        "source": "ltx-pipelines 1.0.0 load_image_conditioning",
        "image": json.dumps({"width": SRC_W, "height": SRC_H}),
        "targets": json.dumps(TARGETS),
        "default_crf": str(DEFAULT_IMAGE_CRF),
    }
    dst = os.path.join(DATA, "ltx2_image.safetensors")
    save_file(out, dst, metadata=meta)
    for p in (png, jpg, dst):
        print(p, os.path.getsize(p), "bytes")


if __name__ == "__main__":
    main()
