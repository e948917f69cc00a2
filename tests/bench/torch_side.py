#!/usr/bin/env python3
"""The PyTorch side of bench_vs_torch: the same checkpoints and shapes,
driven one forward pass at a time over stdin so that the C benchmark can
interleave warmd and torch runs in one process tree.

Commands (one per line on stdin; one reply line each on stdout):
  gemma3 DIR DTYPE T          Gemma3TextModel from DIR (transformers), T
                              random token ids, no padding -> "ready"
  dit DIR DTYPE F H W TOKENS  LTXVideoTransformer3DModel (diffusers) on
                              latents [1, C, F, H, W] and TOKENS caption
                              tokens (the last quarter padded), called as
                              LTXPipeline does -> "ready"
  vae DIR F H W               AutoencoderKLLTXVideo.decode of latents
                              [1, C, F, H, W], untiled -> "ready"
  demo DIR F H W STEPS FPS STG TILE OVERLAP PROMPT...
                              the whole demo job (LTX-2 two-stage with
                              audio) through tests/parity/ltx2_pipeline.py
                              (ltx-pipelines 1.0.0's building blocks, f32)
                              on DIR/gemma, DIR/ltx2.safetensors,
                              DIR/upsampler.safetensors and
                              DIR/distilled-lora.safetensors (the names of
                              models/demo/): F x H x W frames, STEPS guided
                              stage-1 steps, STG the perturbed block, the
                              version's default negative prompt, the LoRA
                              fused at strength 1, tiled decode with TILE /
                              OVERLAP pixel tiles (temporal: the default)
                              -> "ready"
  run                         one forward pass (demo: one whole job) -> its
                              seconds (demo: then name=seconds per part)
  save PATH SEED              (demo) one job whose noise comes from a
                              generator seeded SEED, its tensors written to
                              PATH as the pipeline goldens hold them (the
                              noise for `warmd --noise`, expect.*) -> "saved"
  quit
DTYPE is f32 or bf16 (the whole model cast, as torch runs bf16). Errors are
reported as one line starting with "error:" and the script goes on.
Threads: torch.set_num_threads(argv[1]) (default 2). OpenMP waits
passively (OMP_WAIT_POLICY=PASSIVE unless the environment says otherwise):
with the default spin-waiting, torch on a shared, loaded machine runs 10 to
100 times slower than its own quiet-machine speed, which would flatter warmd.
"""
import dataclasses
import logging
import os
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads
os.environ.setdefault("TQDM_DISABLE", "1")  # the denoising loops' progress bars

import torch  # noqa: E402


def pack(latents, p, pt):
    """diffusers LTXPipeline._pack_latents: [B,C,F,H,W] -> [B, S, C*pt*p*p]."""
    b, c, f, h, w = latents.shape
    x = latents.reshape(b, c, f // pt, pt, h // p, p, w // p, p)
    return x.permute(0, 2, 4, 6, 1, 3, 5, 7).flatten(4, 7).flatten(1, 3)


def dtype_of(name):
    if name not in ("f32", "bf16"):
        raise ValueError(f"dtype {name!r} (f32 or bf16)")
    return torch.float32 if name == "f32" else torch.bfloat16


def load_gemma3(d, dt, t):
    from transformers import Gemma3TextModel
    m = Gemma3TextModel.from_pretrained(d, torch_dtype=dtype_of(dt)).eval()
    g = torch.Generator().manual_seed(5)
    ids = torch.randint(3, m.config.vocab_size, (1, int(t)), generator=g)
    mask = torch.ones(1, int(t), dtype=torch.long)
    return lambda: m(input_ids=ids, attention_mask=mask)


def load_dit(d, dt, f, h, w, tokens):
    from diffusers import LTXVideoTransformer3DModel
    m = LTXVideoTransformer3DModel.from_pretrained(
        d, low_cpu_mem_usage=False).to(dtype_of(dt)).eval()
    cfg = m.config
    p, pt = cfg.patch_size, cfg.patch_size_t
    f, h, w, tokens = int(f), int(h), int(w), int(tokens)
    g = torch.Generator().manual_seed(7)
    lat = torch.randn(1, cfg.in_channels, f, h, w, generator=g)
    x = pack(lat, p, pt).to(dtype_of(dt))
    emb = torch.randn(1, tokens, cfg.caption_channels, generator=g).to(dtype_of(dt))
    mask = torch.ones(1, tokens, dtype=torch.int32)
    mask[0, tokens * 3 // 4:] = 0
    ts = torch.tensor([700.0])
    return lambda: m(hidden_states=x, encoder_hidden_states=emb, timestep=ts,
                     encoder_attention_mask=mask, num_frames=f // pt,
                     height=h // p, width=w // p,
                     rope_interpolation_scale=(8 / 25.0, 32, 32),
                     return_dict=False)


def load_vae(d, f, h, w):
    from diffusers import AutoencoderKLLTXVideo
    m = AutoencoderKLLTXVideo.from_pretrained(d, low_cpu_mem_usage=False).float().eval()
    g = torch.Generator().manual_seed(8)
    z = torch.randn(1, m.config.latent_channels, int(f), int(h), int(w), generator=g)
    temb = None
    if m.config.timestep_conditioning:
        temb = torch.tensor([0.05])
    return lambda: m.decode(z, temb, return_dict=False)


def load_demo(d, f, h, w, steps, fps, stg, tile, overlap, *prompt):
    here = os.path.dirname(os.path.abspath(__file__))
    parity = os.path.join(os.path.dirname(here), "parity")
    sys.path.insert(0, parity)
    sys.path.append(os.path.join(parity, "pystub"))  # ltx-core imports torchaudio
    import ltx2_pipeline as lp
    from ltx_core.components.noisers import GaussianNoiser
    from ltx_core.model.video_vae import SpatialTilingConfig, TilingConfig
    paths = {"ckpt": os.path.join(d, "ltx2.safetensors"),
             "upsampler": os.path.join(d, "upsampler.safetensors"),
             "lora": os.path.join(d, "distilled-lora.safetensors"),
             "gemma": os.path.join(d, "gemma")}
    work = os.path.join(d, "torch-work")  # the fused stage-2 checkpoint
    os.makedirs(work, exist_ok=True)
    m = lp.Models(paths, work)
    guide = {"stg_blocks": [int(stg)]}
    tiling = TilingConfig(
        spatial_config=SpatialTilingConfig(int(tile), int(overlap)),
        temporal_config=TilingConfig.default().temporal_config)
    spec = lp.Spec(True, int(f), int(h), int(w), steps=int(steps), fps=float(fps),
                   prompt=" ".join(prompt),
                   video_guide=dataclasses.replace(lp.VIDEO_GUIDE, **guide),
                   audio_guide=dataclasses.replace(lp.AUDIO_GUIDE, **guide),
                   tiling=tiling)

    class Noiser:  # GaussianNoiser with the generator run_job reads
        def __init__(self):
            self.gen = torch.Generator().manual_seed(42)
            self.noiser = GaussianNoiser(generator=self.gen)

        def __call__(self, state, noise_scale=1.0):
            return self.noiser(state, noise_scale)

    def run(save=None):
        times = {}
        noiser = lp.RecordingNoiser(int(save[1])) if save else Noiser()
        with lp.tiny_audio_shape(m):
            out, _ = lp.run_job(m, "demo", noiser, spec=spec, times=times)
        if save:
            from safetensors.torch import save_file
            save_file({k: v.float().contiguous() for k, v in out.items()}, save[0])
            return None
        return " ".join(f"{k}={v:.4f}" for k, v in times.items())
    run.saves = True
    return run


def main():
    logging.disable(logging.WARNING)
    torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
    fn = None
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        try:
            if words[0] == "quit":
                break
            if words[0] == "run":
                if fn is None:
                    raise RuntimeError("run before a model was loaded")
                with torch.inference_mode():
                    t0 = time.perf_counter()
                    parts = fn()
                    reply = f"{time.perf_counter() - t0:.6f}"
                if isinstance(parts, str):
                    reply += " " + parts
            elif words[0] == "gemma3":
                fn = load_gemma3(*words[1:4])
                reply = "ready"
            elif words[0] == "dit":
                fn = load_dit(*words[1:7])
                reply = "ready"
            elif words[0] == "vae":
                fn = load_vae(*words[1:5])
                reply = "ready"
            elif words[0] == "save":
                if fn is None or not getattr(fn, "saves", False):
                    raise RuntimeError("save needs the demo loaded")
                with torch.inference_mode():
                    fn(words[1:3])
                reply = "saved"
            elif words[0] == "demo":
                fn = load_demo(*words[1:])
                reply = "ready"
            else:
                raise ValueError(f"unknown command {words[0]!r}")
        except Exception as e:  # reported to the C side, which skips the row
            fn = None if words[0] != "run" else fn
            reply = "error: " + str(e).replace("\n", " ")[:300]
        print(reply, flush=True)


if __name__ == "__main__":
    main()
