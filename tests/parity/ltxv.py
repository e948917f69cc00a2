#!/usr/bin/env python3
"""Golden outputs for the LTX-Video plugins, computed by diffusers itself.

For each case this script
  1. makes a tiny random checkpoint with warmd's own model maker
     (`warm-mkmodel --arch ltxv|ltxv-vae --preset P --seed S --out DIR`),
  2. loads that folder into diffusers (LTXVideoTransformer3DModel /
     AutoencoderKLLTXVideo),
  3. runs one forward pass on seeded random inputs the way diffusers'
     LTXPipeline calls the model, and
  4. writes inputs + outputs to tests/data/ltxv/<case>.safetensors.

ctest regenerates the same checkpoints with warm-mkmodel (same seed -> same
bytes) and compares the plugins' f32 cpu output with these files, so CI needs
no Python. Run it again only when a preset or a case changes:

    python3 tests/parity/ltxv.py --mkmodel build-ltxv/bin/warm-mkmodel

Parameters the C test needs (fps, compression ratios, tile sizes, presets,
seeds) are stored in the safetensors metadata of each golden file.
"""
import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile

import torch
from safetensors.torch import save_file

from diffusers import AutoencoderKLLTXVideo, LTXVideoTransformer3DModel

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "tests", "data", "ltxv")


def mkmodel(binary, arch, preset, seed, out, sets=()):
    cmd = [binary, "--arch", arch, "--preset", preset, "--seed", str(seed),
           "--out", out]
    for s in sets:
        cmd += ["--set", s]
    subprocess.run(cmd, check=True)


def pack(latents, p, pt):
    """diffusers LTXPipeline._pack_latents: [B,C,F,H,W] -> [B, S, C*pt*p*p]."""
    b, c, f, h, w = latents.shape
    x = latents.reshape(b, c, f // pt, pt, h // p, p, w // p, p)
    return x.permute(0, 2, 4, 6, 1, 3, 5, 7).flatten(4, 7).flatten(1, 3)


def unpack(x, f, h, w, p, pt):
    """diffusers LTXPipeline._unpack_latents (f, h, w post-patch)."""
    b = x.size(0)
    x = x.reshape(b, f, h, w, -1, pt, p, p)
    return x.permute(0, 4, 1, 5, 2, 6, 3, 7).flatten(6, 7).flatten(4, 5).flatten(2, 3)


def dit_case(binary, work, name, preset, seed, shape, tokens, sets=(),
             fps=25.0, tc=8, sc=32):
    d = os.path.join(work, name)
    mkmodel(binary, "ltxv", preset, seed, d, sets)
    model = LTXVideoTransformer3DModel.from_pretrained(
        d, low_cpu_mem_usage=False).float().eval()
    cfg = model.config
    p, pt = cfg.patch_size, cfg.patch_size_t
    g = torch.Generator().manual_seed(1000 + seed)
    b, c, f, h, w = shape
    latents = torch.randn(shape, generator=g)
    timestep = torch.rand(b, generator=g) * 1000.0
    emb = torch.randn(b, tokens, cfg.caption_channels, generator=g)
    mask = torch.ones(b, tokens, dtype=torch.int32)
    for i in range(1, b):  # later samples: shorter prompts (padding)
        mask[i, tokens - 2 * i:] = 0
    fp, hp, wp = f // pt, h // p, w // p
    with torch.no_grad():
        out = model(hidden_states=pack(latents, p, pt), encoder_hidden_states=emb,
                    timestep=timestep, encoder_attention_mask=mask,
                    num_frames=fp, height=hp, width=wp,
                    rope_interpolation_scale=(tc / fps, sc, sc),
                    return_dict=False)[0]
    vel = unpack(out, fp, hp, wp, p, pt)
    meta = {"arch": "ltxv", "preset": preset, "seed": str(seed),
            "sets": json.dumps(list(sets)), "fps": repr(fps),
            "temporal_compression": str(tc), "spatial_compression": str(sc)}
    save_file({"latents": latents.contiguous(), "timestep": timestep,
               "embeddings": emb.contiguous(), "mask": mask,
               "velocity": vel.contiguous()},
              os.path.join(OUT, name + ".safetensors"), metadata=meta)
    print(f"{name}: velocity {tuple(vel.shape)} |max| {vel.abs().max():.4g}")


def load_vae(d):
    """The maker writes the decoder only (plus latents_mean/std); diffusers
    leaves the encoder at its initialisation, which decoding never uses."""
    model, info = AutoencoderKLLTXVideo.from_pretrained(
        d, low_cpu_mem_usage=False, output_loading_info=True)
    missing = [k for k in info["missing_keys"] if not k.startswith("encoder.")]
    if missing or info["unexpected_keys"]:
        sys.exit(f"{d}: decoder tensors missing {missing[:5]} / unexpected "
                 f"{info['unexpected_keys'][:5]}")
    return model.float().eval()


def vae_case(binary, work, name, preset, seed, shape, tile=None,
             decode_timestep=None, sets=()):
    d = os.path.join(work, name)
    mkmodel(binary, "ltxv-vae", preset, seed, d, sets)
    vae = load_vae(d)
    g = torch.Generator().manual_seed(2000 + seed)
    latents = torch.randn(shape, generator=g)  # [C, F, H, W], normalised
    # LTXPipeline._denormalize_latents, then vae.decode(latents, timestep).
    mean = vae.latents_mean.view(-1, 1, 1, 1)
    std = vae.latents_std.view(-1, 1, 1, 1)
    z = (latents * std / vae.config.scaling_factor + mean)[None]
    temb = None
    if vae.config.timestep_conditioning:
        temb = torch.tensor([decode_timestep], dtype=torch.float32)
    if tile is not None:
        vae.enable_tiling(tile_sample_min_height=tile[0], tile_sample_min_width=tile[0],
                          tile_sample_stride_height=tile[1],
                          tile_sample_stride_width=tile[1])
    with torch.no_grad():
        frames = vae.decode(z, temb, return_dict=False)[0][0]
    meta = {"arch": "ltxv-vae", "preset": preset, "seed": str(seed),
            "sets": json.dumps(list(sets))}
    tensors = {"latents": latents.contiguous(), "frames": frames.contiguous()}
    if temb is not None:
        tensors["timestep"] = temb
    if tile is not None:
        meta["tile_size"], meta["tile_stride"] = str(tile[0]), str(tile[1])
    save_file(tensors, os.path.join(OUT, name + ".safetensors"), metadata=meta)
    print(f"{name}: frames {tuple(frames.shape)} |max| {frames.abs().max():.4g}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mkmodel", default=os.path.join(ROOT, "build-ltxv", "bin", "warm-mkmodel"))
    ap.add_argument("--keep", help="keep the checkpoints in this folder")
    a = ap.parse_args()
    torch.manual_seed(0)
    logging.getLogger("diffusers").setLevel(logging.ERROR)
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = a.keep or tmp
        dit_case(a.mkmodel, work, "dit_tiny", "tiny", 1, (2, 8, 3, 4, 6), 7)
        dit_case(a.mkmodel, work, "dit_tiny_p2", "tiny", 2, (1, 4, 4, 4, 6), 5,
                 sets=("patch_size=2", "patch_size_t=2", "in_channels=32", "out_channels=32"),
                 fps=24.0)
        dit_case(a.mkmodel, work, "dit_tiny_affine", "tiny", 6, (1, 8, 2, 3, 5), 4,
                 sets=("norm_elementwise_affine=true", "attention_bias=false"))
        vae_case(a.mkmodel, work, "vae_tiny", "tiny", 3, (8, 2, 3, 4))
        vae_case(a.mkmodel, work, "vae_tiny_causal", "tiny", 7, (8, 3, 3, 4),
                 sets=("decoder_causal=true",))
        vae_case(a.mkmodel, work, "vae_tiny_t", "tiny-t", 4, (8, 2, 3, 4),
                 decode_timestep=0.05)
        vae_case(a.mkmodel, work, "vae_tiny_tiled", "tiny", 5, (8, 2, 5, 7),
                 tile=(32, 24))


if __name__ == "__main__":
    main()
