#!/usr/bin/env python3
"""Golden outputs for the LTX-2 transformer plugin, computed by ltx-core 1.0.0.

For each case this script
  1. takes a tiny LTX-2 combined checkpoint (model.diffusion_model.* keys and
     the config JSON in __metadata__["config"]): by default it writes one
     itself from a seeded generator, or, with --mkmodel BIN, asks warmd's own
     `warm-mkmodel --arch ltx2 --variant V --preset tiny` for it;
  2. loads that file with ltx-core's own builder and key map
     (SingleGPUModelBuilder + LTXV_MODEL_COMFY_RENAMING_MAP), refusing a model
     with any parameter left unloaded, which proves the key names;
  3. runs a batch of guidance passes the way the pipelines call the model
     (per-token timesteps with the first latent frame at 0 as image
     conditioning does, sigma_video != sigma_audio, STG and modality-isolated
     perturbations), and
  4. writes tests/data/ltx2/<case>.safetensors: the checkpoint's transformer
     tensors and config, the run inputs under the names of the ABI 1.2 run
     interface, the reference velocities (ref.video_velocity,
     ref.audio_velocity) and the perturbations (metadata).

ctest runs the plugin on these files (f32, cpu) and compares; CI needs no
Python. Run it again only when a case changes:

    PYTHONPATH=/opt/pystub python3 tests/parity/ltx2.py
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

COMMON = dict(dropout=0.0, attention_bias=True, num_vector_embeds=None,
              activation_fn="gelu-approximate", num_embeds_ada_norm=1000,
              use_linear_projection=False, only_cross_attention=False,
              cross_attention_norm=True, double_self_attention=False,
              upcast_attention=False, standardization_norm="rms_norm",
              norm_elementwise_affine=False, qk_norm="rms_norm",
              positional_embedding_type="rope",
              use_audio_video_cross_attention=True, share_ff=False,
              av_cross_ada_norm=True, use_middle_indices_grid=True)
TINY20 = dict(COMMON, num_attention_heads=2, attention_head_dim=8, in_channels=8,
              out_channels=8, num_layers=2, cross_attention_dim=16,
              audio_num_attention_heads=2, audio_attention_head_dim=4,
              audio_in_channels=8, audio_out_channels=8,
              audio_cross_attention_dim=8, av_ca_timestep_scale_multiplier=1000,
              rope_type="split", frequencies_precision="float64",
              caption_channels=12)
TINY23 = dict(TINY20, apply_gated_attention=True, cross_attention_adaln=True,
              caption_proj_before_connector=True,
              caption_projection_first_linear=False,
              caption_proj_input_norm=False,
              caption_projection_second_linear=False)

# ABI 1.2 warm_perturb_kind values.
KIND = {PerturbationType.SKIP_VIDEO_SELF_ATTN: 1,
        PerturbationType.SKIP_AUDIO_SELF_ATTN: 2,
        PerturbationType.SKIP_A2V_CROSS_ATTN: 3,
        PerturbationType.SKIP_V2A_CROSS_ATTN: 4}


def selfmade_checkpoint(cfg, video_only, seed, path):
    """A combined file with the transformer's keys, filled N(0, 0.2)."""
    conf = LTXVideoOnlyModelConfigurator if video_only else LTXModelConfigurator
    m = conf.from_config({"transformer": cfg}).to_empty(device="cpu")
    g = torch.Generator().manual_seed(seed)
    sd = {PFX + k: (torch.randn(v.shape, generator=g) * 0.2).contiguous()
          for k, v in m.state_dict().items()}
    save_file(sd, path, metadata={"config": json.dumps({"transformer": cfg}),
                                  "model_version": "2.3.0" if cfg.get(
                                      "cross_attention_adaln") else "2.0.0"})


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
    vt = VideoLatentTools(VideoLatentPatchifier(1), VideoLatentShape(1, 8, F, H, W), 24.0)
    vs = vt.create_initial_state("cpu", torch.float32, torch.randn(1, 8, F, H, W, generator=g))
    at = AudioLatentTools(AudioPatchifier(1), AudioLatentShape(1, 2, Ta, 4))
    as_ = at.create_initial_state("cpu", torch.float32, torch.randn(1, 2, Ta, 4, generator=g))
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


def make_lora(base_path, rank, seed, path):
    """ComfyUI-style LoRA over every block linear of the base."""
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for k, w in load_file(base_path).items():
        if ".transformer_blocks." not in k or not k.endswith(".weight") or w.ndim != 2:
            continue
        mod = k[len(PFX):-len(".weight")]
        sd[f"diffusion_model.{mod}.lora_A.weight"] = torch.randn(rank, w.shape[1], generator=g) * 0.1
        sd[f"diffusion_model.{mod}.lora_B.weight"] = torch.randn(w.shape[0], rank, generator=g) * 0.1
    save_file(sd, path)


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


def case(name, cfg, B, seed, video_only=False, mkmodel=None, variant="2.0", lora=None,
         bf16_pos=False):
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = os.path.join(tmp, "model.safetensors")
        if mkmodel:
            subprocess.run([mkmodel, "--arch", "ltx2", "--variant", variant, "--preset",
                            "tiny", "--seed", str(seed), "--out", ckpt], check=True)
        else:
            selfmade_checkpoint(cfg, video_only, seed, ckpt)
        run_ckpt = ckpt
        meta = {}
        if lora:
            lpath = os.path.join(OUT, f"{name}.lora.safetensors")
            make_lora(ckpt, 2, seed + 100, lpath)
            run_ckpt = os.path.join(tmp, "fused.safetensors")
            fused_checkpoint(ckpt, lpath, lora, run_ckpt)
            meta["lora"] = f"{name}.lora.safetensors"
            meta["lora_strength"] = repr(lora)
        m = load(run_ckpt, video_only)
        with open(ckpt, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            cmeta = json.loads(f.read(n))["__metadata__"]
        cfg = json.loads(cmeta["config"])["transformer"]
        v, a, vpos = inputs(cfg, B, seed + 1, video_only, bf16_pos=bf16_pos)
        if bf16_pos:
            meta["position_dtype"] = "bf16"
        ptb, spec = passes(B, video_only)
        with torch.no_grad():
            vx, ax = m(v, a, ptb)
        out = {k: val for k, val in load_file(ckpt).items() if k.startswith(PFX)}
        out.update(tensors(v, a))
        out["video_positions"] = vpos.float().contiguous()
        out["ref.video_velocity"] = vx.float().contiguous()
        if ax is not None:
            out["ref.audio_velocity"] = ax.float().contiguous()
        meta.update(cmeta)
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
    ap.add_argument("--mkmodel", help="warm-mkmodel binary (writes the checkpoints)")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    mk = args.mkmodel
    case("v20_split", TINY20, 4, 11, mkmodel=mk, variant="2.0")
    case("v20_interleaved", dict(TINY20, rope_type="interleaved"), 4, 12)
    case("v23_split", TINY23, 4, 13, mkmodel=mk, variant="2.3")
    case("v20_video_only", TINY20, 3, 14, video_only=True)
    case("v20_lora", TINY20, 1, 15, lora=0.8)
    # torch's float32 frequency grid (any frequencies_precision but float64).
    case("v20_f32grid", dict(TINY20, frequencies_precision="float32"), 2, 16)
    # Video positions as a bf16 run rounds them (plugin key position_dtype).
    case("v20_bf16pos", TINY20, 1, 17, bf16_pos=True)


if __name__ == "__main__":
    main()
