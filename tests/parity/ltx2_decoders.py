#!/usr/bin/env python3
"""Golden outputs for the LTX-2 decoder plugins (vae_ltx2, upsampler_ltx2,
audio_ltx2), computed by Lightricks' ltx-core 1.0.0 itself.

For each case this script
  1. makes a tiny combined checkpoint (or upsampler file) with warmd's own
     model maker (`warm-mkmodel --arch ltx2|ltx2-upsampler --variant V
     --preset tiny --seed S`),
  2. loads it into ltx-core with the reference's own loader
     (SingleGPUModelBuilder with the component's configurator and key
     filter: proving the key names), in f32,
  3. runs the reference on seeded random inputs, and
  4. writes inputs + outputs to tests/data/ltx2/<case>.safetensors; the
     metadata names the model (variant, seed) and the parameters.

ctest regenerates the same files with warm-mkmodel (same seed, same bytes)
and compares the plugins' f32 cpu output with these goldens, so CI needs no
Python. Run it again only when a case changes:

    PYTHONPATH=tests/parity/pystub python3 tests/parity/ltx2_decoders.py \
        --mkmodel build/bin/warm-mkmodel
"""
import argparse
import json
import os
import subprocess
import tempfile

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ltx_core.loader.single_gpu_model_builder import SingleGPUModelBuilder
from ltx_core.model.upsampler.model import upsample_video
from ltx_core.model.upsampler.model_configurator import LatentUpsamplerConfigurator
from ltx_core.model.video_vae.model_configurator import (
    VAE_DECODER_COMFY_KEYS_FILTER,
    VAE_ENCODER_COMFY_KEYS_FILTER,
    VideoDecoderConfigurator,
    VideoEncoderConfigurator,
)
from ltx_core.model.audio_vae.model_configurator import (
    AUDIO_VAE_DECODER_COMFY_KEYS_FILTER,
    VOCODER_COMFY_KEYS_FILTER,
    AudioDecoderConfigurator,
    VocoderConfigurator,
)
from ltx_core.model.video_vae.tiling import (
    SpatialTilingConfig,
    TemporalTilingConfig,
    TilingConfig,
)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "tests", "data", "ltx2")

# Model files: name -> (arch, variant, seed). ctest makes the same ones
# (tests/ltx2_decoders.cmake).
MODELS = {
    "ltx2_20": ("ltx2", "2.0", 20),
    "ltx2_23": ("ltx2", "2.3", 23),
    "up_20": ("ltx2-upsampler", "2.0", 30),
    "up_23": ("ltx2-upsampler", "2.3", 33),
}


def mkmodel(binary, work, name):
    arch, variant, seed = MODELS[name]
    out = os.path.join(work, name + ".safetensors")
    if not os.path.exists(out):
        subprocess.run([binary, "--arch", arch, "--variant", variant, "--preset",
                        "tiny", "--seed", str(seed), "--out", out], check=True)
    return out


def build(path, configurator, sd_ops):
    return SingleGPUModelBuilder(
        model_class_configurator=configurator,
        model_path=path,
        model_sd_ops=sd_ops,
    ).build(device=torch.device("cpu"), dtype=torch.float32).eval()


def save_case(name, model, tensors, meta):
    out = os.path.join(OUT, name + ".safetensors")
    meta = dict(meta, model=model)
    meta = {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in meta.items()}
    save_file({k: v.contiguous().float() for k, v in tensors.items()}, out, metadata=meta)
    print("wrote", out, {k: list(v.shape) for k, v in tensors.items()})


def video_decoder_cases(binary, work):
    for name in ("ltx2_20", "ltx2_23"):
        dec = build(mkmodel(binary, work, name), VideoDecoderConfigurator,
                    VAE_DECODER_COMFY_KEYS_FILTER)
        assert not dec.timestep_conditioning
        gen = torch.Generator().manual_seed(MODELS[name][2])
        with torch.no_grad():
            z = torch.randn(1, 8, 2, 2, 2, generator=gen)
            y = dec(z)
            save_case(name + "_vae_decode", name, {"latents": z[0], "frames": y[0]}, {})
            if name != "ltx2_20":
                continue
            # Tiled: overlapping spatial and temporal tiles (64 px / 32 px
            # overlap, 16 frames / 8 overlap -> latent tiles of 2 with an
            # overlap of 1: two in time, two by two in space).
            z = torch.randn(1, 8, 3, 3, 3, generator=gen)
            tiling = TilingConfig(spatial_config=SpatialTilingConfig(64, 32),
                                  temporal_config=TemporalTilingConfig(16, 8))
            chunks = list(dec.tiled_decode(z, tiling))
            y = torch.cat(chunks, dim=2)
            save_case(name + "_vae_decode_tiled", name, {"latents": z[0], "frames": y[0]},
                      {"tile_size": 64, "tile_overlap": 32, "tile_frames": 16,
                       "tile_frames_overlap": 8, "chunks": len(chunks)})


def timestep_conditioned_case(binary, work):
    """LTX-2 files have no timestep conditioning (warm-mkmodel refuses it), so
    this case writes its own small file: the decoder of a 2.0 tiny file with
    decoder_base_channels 4, plus the time embedders and scale/shift tables,
    seeded. The file is committed (tests/data/ltx2/vae_tc.safetensors)."""
    out = os.path.join(work, "ltx2_tc_base.safetensors")
    subprocess.run([binary, "--arch", "ltx2", "--variant", "2.0", "--preset", "tiny",
                    "--seed", "40", "--set", "vae.decoder_base_channels=4",
                    "--out", out], check=True)
    with safe_open(out, "pt") as f:
        cfg = json.loads(f.metadata()["config"])["vae"]
        base = {k: f.get_tensor(k) for k in f.keys()
                if k.startswith("vae.decoder.") or k.startswith("vae.per_channel_statistics.")}
    cfg["timestep_conditioning"] = True
    dec = VideoDecoderConfigurator.from_config({"vae": cfg})
    gen = torch.Generator().manual_seed(41)
    tensors = {}
    for k, v in dec.state_dict().items():
        key = ("vae." + k) if k.startswith("per_channel_statistics.") else "vae.decoder." + k
        if key in base:
            tensors[key] = base[key]
        elif k.endswith("timestep_scale_multiplier"):
            tensors[key] = torch.tensor(1000.0)
        elif "scale_shift_table" in k:
            tensors[key] = torch.randn(v.shape, generator=gen) * 0.1
        elif k.endswith(".bias"):
            tensors[key] = torch.randn(v.shape, generator=gen) * 0.02
        else:
            tensors[key] = torch.randn(v.shape, generator=gen) * (0.5 / v.shape[1] ** 0.5)
    path = os.path.join(OUT, "vae_tc.safetensors")
    # Stored as bf16 to keep the committed file small.
    save_file({k: t.to(torch.bfloat16).contiguous() for k, t in tensors.items()}, path,
              metadata={"config": json.dumps({"vae": cfg}), "model_version": "2.0.0"})
    dec = build(path, VideoDecoderConfigurator, VAE_DECODER_COMFY_KEYS_FILTER)
    assert dec.timestep_conditioning
    g = torch.Generator().manual_seed(42)
    with torch.no_grad():
        z = torch.randn(1, 8, 2, 2, 2, generator=g)
        # The decoder's first draw from its generator is the noise.
        noise = torch.randn(z.shape, generator=torch.Generator().manual_seed(7))
        y = dec(z, generator=torch.Generator().manual_seed(7))
    out = os.path.join(OUT, "vae_tc_decode.safetensors")
    save_file({"latents": z[0].contiguous(), "noise": noise[0].contiguous(),
               "frames": y[0].contiguous()}, out,
              metadata={"model_file": "vae_tc.safetensors", "decode_timestep": "0.05"})
    print("wrote", path, out)


def encoder_cases(binary, work):
    for name in ("ltx2_20", "ltx2_23"):
        enc = build(mkmodel(binary, work, name), VideoEncoderConfigurator,
                    VAE_ENCODER_COMFY_KEYS_FILTER)
        gen = torch.Generator().manual_seed(200 + MODELS[name][2])
        with torch.no_grad():
            # 10 frames: the reference drops the last to keep 1 + 8k.
            x = torch.rand(1, 3, 10, 64, 64, generator=gen) * 2 - 1
            z = enc(x)
            save_case(name + "_vae_encode", name, {"frames": x[0], "encoded": z[0]}, {})


def audio_cases(binary, work):
    for name in ("ltx2_20", "ltx2_23"):
        path = mkmodel(binary, work, name)
        dec = build(path, AudioDecoderConfigurator, AUDIO_VAE_DECODER_COMFY_KEYS_FILTER)
        voc = build(path, VocoderConfigurator, VOCODER_COMFY_KEYS_FILTER)
        gen = torch.Generator().manual_seed(100 + MODELS[name][2])
        with torch.no_grad():
            # latent [1, z, T, ch/z]: statistics are per (channel, latent bin)
            z = torch.randn(1, dec.z_channels, 5, dec.ch // dec.z_channels, generator=gen)
            mel = dec(z)
            wave = voc(mel)
            save_case(name + "_audio_decode", name,
                      {"latents": z[0], "mel": mel[0], "waveform": wave[0]},
                      {"sample_rate": voc.output_sampling_rate})
            # log-mel magnitudes span several units
            mel = torch.randn(1, 2, 9, 64, generator=gen) * 4.0
            wave = voc(mel)
            save_case(name + "_vocoder", name, {"mel": mel[0], "waveform": wave[0]},
                      {"sample_rate": voc.output_sampling_rate})


def upsampler_cases(binary, work):
    # upsample_video un-normalises / normalises with the video encoder's
    # statistics: the 2.0 file's (the plugin gets them from vae_ltx2).
    enc = build(mkmodel(binary, work, "ltx2_20"), VideoEncoderConfigurator,
                VAE_ENCODER_COMFY_KEYS_FILTER)
    for name in ("up_20", "up_23"):
        up = build(mkmodel(binary, work, name), LatentUpsamplerConfigurator, None)
        assert up.rational_resampler == (name == "up_20")
        gen = torch.Generator().manual_seed(MODELS[name][2])
        with torch.no_grad():
            z = torch.randn(1, 8, 2, 3, 4, generator=gen)
            y = upsample_video(z, enc, up)
            save_case(name + "_upsample", name, {"latents": z[0], "upsampled": y[0]},
                      {"vae_model": "ltx2_20", "rational_resampler": up.rational_resampler})


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mkmodel", default=os.path.join(ROOT, "build", "bin", "warm-mkmodel"))
    ap.add_argument("--only", default="", help="comma-separated case groups")
    a = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    groups = {"video": video_decoder_cases, "tc": timestep_conditioned_case,
              "encoder": encoder_cases,
              "audio": audio_cases,
              "upsampler": upsampler_cases}
    with tempfile.TemporaryDirectory() as work:
        for g, fn in groups.items():
            if not a.only or g in a.only.split(","):
                fn(a.mkmodel, work)


if __name__ == "__main__":
    main()
