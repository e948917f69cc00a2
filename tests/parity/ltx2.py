#!/usr/bin/env python3
"""Golden outputs for the LTX-2 transformer plugin, computed by ltx-core 1.0.0.

For each case this script
  1. has warmd's own model maker write the tiny checkpoint
     (`warm-mkmodel --arch ltx2 --variant V --preset tiny --seed S [--set ..]`,
     the same command ctest's ltx2_checkpoints fixture runs) and, for the
     LoRA case, `warm-mkmodel --arch ltx2-lora --rank 2`;
  2. loads it with ltx-core's own builder and key map
     (SingleGPUModelBuilder + LTXV_MODEL_COMFY_RENAMING_MAP), refusing a model
     with any parameter left unloaded, which proves the key names;
  3. runs a batch of guidance passes the way the pipelines call the model
     (per-token timesteps with the first latent frame at 0 as image
     conditioning does, sigma_video != sigma_audio, STG and modality-isolated
     perturbations), and
  4. writes tests/data/ltx2/<case>.safetensors: the run inputs under the
     names of the ABI 1.2 run interface, the reference velocities
     (ref.video_velocity, ref.audio_velocity), and in the metadata the
     checkpoint's fixture name ("ckpt"), the perturbations and plugin keys.

The video-only case has no warm-mkmodel command (the maker writes the
audio+video model): its checkpoint is the 2.0 tiny file without the audio and
audio<->video tensors, stored inside the golden itself (model.diffusion_model.*
keys and the config), and ltx-core reads it with LTXVideoOnlyModelConfigurator.

ctest runs the plugin on these files (f32, cpu) and compares; CI needs no
Python. Run it again only when a case or a preset changes:

    PYTHONPATH=tests/parity/pystub python3 tests/parity/ltx2.py --mkmodel build/bin/warm-mkmodel
"""
import argparse
import json
import os
import subprocess
import tempfile

import torch
from safetensors.torch import load_file, save_file

from ltx_core.components.patchifiers import AudioPatchifier, VideoLatentPatchifier
from ltx_core.guidance.perturbations import (BatchedPerturbationConfig, Perturbation,
                                             PerturbationConfig, PerturbationType)
from ltx_core.loader.sd_ops import LTXV_LORA_COMFY_RENAMING_MAP
from ltx_core.loader.single_gpu_model_builder import SingleGPUModelBuilder
from ltx_core.model.transformer import Modality
from ltx_core.model.transformer.model_configurator import (LTXV_MODEL_COMFY_RENAMING_MAP,
                                                           LTXModelConfigurator,
                                                           LTXVideoOnlyModelConfigurator)
from ltx_core.tools import AudioLatentTools, VideoLatentTools
from ltx_core.types import AudioLatentShape, VideoLatentShape

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "tests", "data", "ltx2")
PFX = "model.diffusion_model."

# ABI 1.2 warm_perturb_kind values.
KIND = {PerturbationType.SKIP_VIDEO_SELF_ATTN: 1,
        PerturbationType.SKIP_AUDIO_SELF_ATTN: 2,
        PerturbationType.SKIP_A2V_CROSS_ATTN: 3,
        PerturbationType.SKIP_V2A_CROSS_ATTN: 4}


# Fixture name -> warm-mkmodel arguments; tests/ltx2.cmake makes the same.
CKPTS = {
    "v20": ["--arch", "ltx2", "--variant", "2.0", "--preset", "tiny", "--seed", "11"],
    "v20_interleaved": ["--arch", "ltx2", "--variant", "2.0", "--preset", "tiny", "--seed", "12",
                        "--set", "transformer.rope_type=interleaved"],
    "v23": ["--arch", "ltx2", "--variant", "2.3", "--preset", "tiny", "--seed", "13"],
    "v20_f32grid": ["--arch", "ltx2", "--variant", "2.0", "--preset", "tiny", "--seed", "16",
                    "--set", "transformer.frequencies_precision=float32"],
    "v20_lora": ["--arch", "ltx2-lora", "--variant", "2.0", "--preset", "tiny", "--rank", "2",
                 "--seed", "15"],
}


def mkmodel(binary, name, out):
    subprocess.run([binary] + CKPTS[name] + ["--out", out, "--quiet"], check=True)


def video_only(src, path):
    """The transformer of `src` without its audio and audio<->video parts."""
    keep = {}
    for k, v in load_file(src).items():
        if not k.startswith(PFX) or "_embeddings_connector." in k:
            continue
        mod = k[len(PFX):]
        if "audio" in mod or "av_ca_" in mod or "a2v" in mod or "v2a" in mod:
            continue
        keep[k] = v
    with open(src, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        meta = json.loads(f.read(n))["__metadata__"]
    save_file(keep, path, metadata={"config": meta["config"],
                                    "model_version": meta["model_version"]})


def load(path, video_only):
    conf = LTXVideoOnlyModelConfigurator if video_only else LTXModelConfigurator
    m = SingleGPUModelBuilder(model_class_configurator=conf, model_path=path,
                              model_sd_ops=LTXV_MODEL_COMFY_RENAMING_MAP).build(
                                  device=torch.device("cpu"))
    left = [n for n, p in m.named_parameters() if p.device.type == "meta"]
    assert not left, f"{path}: parameters not loaded: {left}"
    return m.eval()


def passes(B, video_only):
    """cond, negative, STG (self-attention skipped in block 1), isolated."""
    cfgs = [PerturbationConfig.empty(), PerturbationConfig.empty(),
            PerturbationConfig([Perturbation(PerturbationType.SKIP_VIDEO_SELF_ATTN, [1]),
                                Perturbation(PerturbationType.SKIP_AUDIO_SELF_ATTN, [1])]),
            PerturbationConfig([Perturbation(PerturbationType.SKIP_A2V_CROSS_ATTN, None),
                                Perturbation(PerturbationType.SKIP_V2A_CROSS_ATTN, None)])]
    cfgs = cfgs[:B]
    spec = []
    for b, pc in enumerate(cfgs):
        for p in pc.perturbations:
            if video_only and p.type != PerturbationType.SKIP_VIDEO_SELF_ATTN:
                continue
            spec.append([b, KIND[p.type], p.blocks])
    return BatchedPerturbationConfig(cfgs), spec


def inputs(cfg, B, seed, video_only, sig_v=0.7, sig_a=0.4, bf16_pos=False):
    g = torch.Generator().manual_seed(seed)
    F, H, W, Ta = 2, 2, 3, 5
    cv = cfg["in_channels"]
    # Audio tokens are latent channels x mel bins (patchifier: b t (c f)).
    mel = 16 if cfg["audio_in_channels"] % 16 == 0 else 4
    ca = cfg["audio_in_channels"] // mel
    vt = VideoLatentTools(VideoLatentPatchifier(1), VideoLatentShape(1, cv, F, H, W), 24.0)
    vs = vt.create_initial_state("cpu", torch.float32, torch.randn(1, cv, F, H, W, generator=g))
    at = AudioLatentTools(AudioPatchifier(1), AudioLatentShape(1, ca, Ta, mel))
    as_ = at.create_initial_state("cpu", torch.float32, torch.randn(1, ca, Ta, mel, generator=g))
    # Image conditioning: the first latent frame's tokens are clean (mask 0).
    mask = vs.denoise_mask.clone()
    mask[:, :H * W] = 0
    ev = cfg["caption_channels"] if not cfg.get("caption_proj_before_connector") else cfg["cross_attention_dim"]
    ea = cfg["caption_channels"] if not cfg.get("caption_proj_before_connector") else cfg["audio_cross_attention_dim"]
    S = 6
    ctx_v = torch.randn(B, S, ev, generator=g)
    ctx_a = torch.randn(B, S, ea, generator=g)
    ctx_v[2:] = ctx_v[0]  # perturbed passes use the conditional prompt
    ctx_a[2:] = ctx_a[0]
    rep = lambda t: t.expand(B, *t.shape[1:]).contiguous()
    sv = torch.full((B,), sig_v)
    sa = torch.full((B,), sig_a)
    # A bf16 pipeline casts the video positions to bf16 (tools.py); the
    # file keeps the f32 bounds the host computes.
    vpos = rep(vs.positions)
    v = Modality(latent=rep(vs.latent), sigma=sv, timesteps=rep(mask * sig_v),
                 positions=vpos.to(torch.bfloat16) if bf16_pos else vpos, context=ctx_v)
    a = None if video_only else Modality(
        latent=rep(as_.latent), sigma=sa, timesteps=rep(as_.denoise_mask * sig_a),
        positions=rep(as_.positions), context=ctx_a)
    return v, a, vpos


def tensors(v, a):
    t = {}
    for name, mo in (("video", v), ("audio", a)):
        if mo is None:
            continue
        t[f"{name}_latent"] = mo.latent
        t[f"{name}_timesteps"] = mo.timesteps.reshape(mo.latent.shape[0], -1)
        t[f"{name}_sigma"] = mo.sigma
        t[f"{name}_positions"] = mo.positions.float()
        t[f"{name}_context"] = mo.context
    return {k: x.float().contiguous() for k, x in t.items()}


def fused_checkpoint(base_path, lora_path, strength, path):
    """ltx-core's apply_loras in f32 (it refuses an f32 base itself):
    W + (strength * B) @ A, key map LTXV_LORA_COMFY_RENAMING_MAP."""
    base = load_file(base_path)
    lora = {LTXV_LORA_COMFY_RENAMING_MAP.apply_to_key(k): v for k, v in load_file(lora_path).items()}
    for k in list(base):
        mod = k[len(PFX):-len(".weight")] if k.endswith(".weight") else None
        if mod and f"{mod}.lora_A.weight" in lora:
            a, b = lora[f"{mod}.lora_A.weight"], lora[f"{mod}.lora_B.weight"]
            base[k] = base[k] + torch.matmul(b * strength, a)
    with open(base_path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        meta = json.loads(f.read(n))["__metadata__"]
    save_file(base, path, metadata=meta)


def case(mk, name, ckpt, B, seed, video=False, lora=None, bf16_pos=False):
    with tempfile.TemporaryDirectory() as tmp:
        path_ck = os.path.join(tmp, "model.safetensors")
        mkmodel(mk, ckpt, path_ck)
        meta, out = {}, {}
        run_ckpt = path_ck
        if video:
            run_ckpt = os.path.join(tmp, "video.safetensors")
            video_only(path_ck, run_ckpt)
            out.update(load_file(run_ckpt))
            with open(run_ckpt, "rb") as f:
                n = int.from_bytes(f.read(8), "little")
                meta.update(json.loads(f.read(n))["__metadata__"])
        else:
            meta["ckpt"] = ckpt
        if lora:
            lpath = os.path.join(tmp, "lora.safetensors")
            mkmodel(mk, lora[0], lpath)
            run_ckpt = os.path.join(tmp, "fused.safetensors")
            fused_checkpoint(path_ck, lpath, lora[1], run_ckpt)
            meta["lora"] = lora[0]
            meta["lora_strength"] = repr(lora[1])
        m = load(run_ckpt, video)
        with open(path_ck, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            cmeta = json.loads(f.read(n))["__metadata__"]
        cfg = json.loads(cmeta["config"])["transformer"]
        v, a, vpos = inputs(cfg, B, seed, video, bf16_pos=bf16_pos)
        if bf16_pos:
            meta["position_dtype"] = "bf16"
        ptb, spec = passes(B, video)
        with torch.no_grad():
            vx, ax = m(v, a, ptb)
        out.update(tensors(v, a))
        out["video_positions"] = vpos.float().contiguous()
        out["ref.video_velocity"] = vx.float().contiguous()
        if ax is not None:
            out["ref.audio_velocity"] = ax.float().contiguous()
        # "pass:kind:blocks" items, ';'-separated; blocks "*" = every block.
        meta["perturbations"] = ";".join(
            f"{b}:{k}:{'*' if bl is None else ','.join(map(str, bl))}" for b, k, bl in spec)
        path = os.path.join(OUT, f"{name}.safetensors")
        save_file(out, path, metadata=meta)
        print(f"{path}: video {tuple(vx.shape)} max {float(vx.abs().max()):.4g}",
              "" if ax is None else f"audio {tuple(ax.shape)} max {float(ax.abs().max()):.4g}",
              f"perturbations {spec}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mkmodel", default=os.path.join(ROOT, "build", "bin", "warm-mkmodel"),
                    help="warm-mkmodel binary (writes the checkpoints)")
    mk = ap.parse_args().mkmodel
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    case(mk, "v20_split", "v20", 4, 21)
    case(mk, "v20_interleaved", "v20_interleaved", 4, 22)
    case(mk, "v23_split", "v23", 4, 23)
    case(mk, "v20_video_only", "v20", 3, 24, video=True)
    case(mk, "v20_lora", "v20", 1, 25, lora=("v20_lora", 0.8))
    # torch's float32 frequency grid (any frequencies_precision but float64).
    case(mk, "v20_f32grid", "v20_f32grid", 2, 26)
    # Video positions as a bf16 run rounds them (plugin key position_dtype).
    case(mk, "v20_bf16pos", "v20", 1, 27, bf16_pos=True)


if __name__ == "__main__":
    main()
