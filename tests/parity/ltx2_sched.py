#!/usr/bin/env python3
"""Golden values for host/ltx2_sched.c, the LTX-2 sampler's arithmetic,
computed by Lightricks' ltx-core / ltx-pipelines 1.0.0 themselves.

Every value comes from the reference's own classes and functions:
LTX2Scheduler.execute, VideoLatentTools / AudioLatentTools
create_initial_state (positions, patchify), AudioLatentShape
.from_video_pixel_shape, VideoConditionByLatentIndex.apply_to, GaussianNoiser
(with a generator whose draws are recorded, so the noise is known),
MultiModalGuider (calculate, do_*_generation, should_skip_step),
post_process_latent + EulerDiffusionStep.step, to_denoised,
timesteps_from_mask, and the pipelines' constants / detect_params.

It writes tests/data/ltx2/sched_golden.safetensors (f32 / i64 / f64
tensors; the pipeline defaults and the negative prompt as JSON metadata),
which tests/unit/test_ltx2_sched.c compares with. Run it again only when a
case changes:

    PYTHONPATH=tests/parity/pystub python3 tests/parity/ltx2_sched.py
"""
import json
import os
import tempfile

import torch
from safetensors.torch import save_file

from ltx_core.components.diffusion_steps import EulerDiffusionStep
from ltx_core.components.guiders import MultiModalGuider, MultiModalGuiderParams
from ltx_core.components.noisers import GaussianNoiser
from ltx_core.components.patchifiers import AudioPatchifier, VideoLatentPatchifier
from ltx_core.components.schedulers import LTX2Scheduler
from ltx_core.conditioning import VideoConditionByLatentIndex
from ltx_core.tools import AudioLatentTools, VideoLatentTools
from ltx_core.types import AudioLatentShape, VideoLatentShape, VideoPixelShape
from ltx_core.utils import to_denoised
from ltx_pipelines.utils import constants
from ltx_pipelines.utils.helpers import post_process_latent, timesteps_from_mask

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "tests", "data", "ltx2", "sched_golden.safetensors")

SCHED_STEPS = [1, 3, 8, 30, 40]
SCHED_TOKENS = [0, 64, 1024, 6144, 34680]  # 0: no latent (4096 tokens)
VIDEO_GRIDS = [(3, 2, 3, 24.0), (5, 2, 2, 25.0), (4, 1, 2, 23.976), (17, 1, 1, 30.0)]
AUDIO_T = [1, 2, 7, 126, 251]
AUDIO_FRAMES = [(121, 24.0), (121, 25.0), (1, 50.0), (3, 50.0), (97, 23.976),
                (257, 30.0), (9, 24.0), (241, 29.97), (1, 24.0)]
# MultiModalGuider cases: name -> (params, which of u, p, i are tensors).
GUIDE_CASES = {
    "video": (MultiModalGuiderParams(cfg_scale=3.0, stg_scale=1.0, rescale_scale=0.7,
                                     modality_scale=3.0, stg_blocks=[29]), "upi"),
    "audio": (MultiModalGuiderParams(cfg_scale=7.0, stg_scale=1.0, rescale_scale=0.7,
                                     modality_scale=3.0, stg_blocks=[29]), "upi"),
    "norescale": (MultiModalGuiderParams(cfg_scale=2.5, stg_scale=0.5, rescale_scale=0.0,
                                         modality_scale=1.5), "upi"),
    "cfgonly": (MultiModalGuiderParams(cfg_scale=3.0, rescale_scale=0.45), "u"),
    "off": (MultiModalGuiderParams(rescale_scale=0.7), ""),
    # The other modality ran the passes: tensors present, this scale off.
    "offpresent": (MultiModalGuiderParams(cfg_scale=1.0, stg_scale=0.0, rescale_scale=1.0,
                                          modality_scale=1.0), "upi"),
    # Scales within isclose of "off": no pass, yet the 0.0 placeholder term.
    "nearoff": (MultiModalGuiderParams(cfg_scale=1.0 + 1e-10, stg_scale=0.0,
                                       rescale_scale=0.0, modality_scale=1.0 - 1e-10), ""),
}
# (cfg, stg, modality) for the pass flags, isclose edges included.
PASS_CASES = [(1.0, 0.0, 1.0), (3.0, 1.0, 3.0), (1.0 + 1e-10, 1e-300, 1.0 - 1e-10),
              (1.0 + 1e-8, -1.0, 1.0 + 2e-9), (7.0, 0.0, 1.0), (1.0, 0.5, 1.0)]
SKIP_STEPS = [0, 1, 2, 3]


def noised_with_known_noise(state, scale, seed):
    """GaussianNoiser.__call__ with the noise it draws captured: the noiser
    runs unchanged on a real generator, and the same draw is repeated from
    an identically seeded one."""
    g = torch.Generator().manual_seed(seed)
    out = GaussianNoiser(generator=g)(state, scale)
    g2 = torch.Generator().manual_seed(seed)
    noise = torch.randn(*state.latent.shape, dtype=state.latent.dtype, generator=g2)
    return out, noise


def main():
    torch.manual_seed(1234)
    t = {}
    meta = {}

    # Sigma schedules.
    sched = LTX2Scheduler()
    for steps in SCHED_STEPS:
        for tokens in SCHED_TOKENS:
            latent = None if tokens == 0 else torch.zeros(1, 1, tokens, 1, 1)
            t[f"sigmas_{steps}_{tokens}"] = sched.execute(steps=steps, latent=latent)
    # One step at one token: the stretch divides 0 by 0.
    t["sigmas_1_1"] = sched.execute(steps=1, latent=torch.zeros(1, 1, 1, 1, 1))
    t["distilled_sigmas"] = torch.tensor(constants.DISTILLED_SIGMA_VALUES)
    t["stage2_sigmas"] = torch.Tensor(constants.STAGE_2_DISTILLED_SIGMA_VALUES)

    # Video positions and patchify.
    for k, (F, H, W, fps) in enumerate(VIDEO_GRIDS):
        shape = VideoLatentShape(batch=1, channels=3, frames=F, height=H, width=W)
        grid = torch.randn(shape.to_torch_shape())
        tools = VideoLatentTools(VideoLatentPatchifier(patch_size=1), shape, fps)
        st = tools.create_initial_state("cpu", torch.float32, initial_latent=grid)
        t[f"vpos_{k}"] = st.positions[0]  # [3, N, 2]
        t[f"vgrid_{k}"] = grid[0]
        t[f"vtokens_{k}"] = st.latent[0]
        meta[f"vpos_{k}"] = json.dumps({"F": F, "H": H, "W": W, "fps": fps})

    # Audio positions and patchify.
    for k, T in enumerate(AUDIO_T):
        shape = AudioLatentShape(batch=1, channels=2, frames=T, mel_bins=3)
        lat = torch.randn(shape.to_torch_shape())
        tools = AudioLatentTools(AudioPatchifier(patch_size=1), shape)
        st = tools.create_initial_state("cpu", torch.float32, initial_latent=lat)
        t[f"apos_{k}"] = st.positions[0, 0]  # [T, 2]
        t[f"alat_{k}"] = lat[0]
        t[f"atokens_{k}"] = st.latent[0]

    # Audio latent frames for a video.
    t["aframes_in"] = torch.tensor([f for f, _ in AUDIO_FRAMES], dtype=torch.int64)
    t["aframes_fps"] = torch.tensor([fps for _, fps in AUDIO_FRAMES], dtype=torch.float64)
    t["aframes_out"] = torch.tensor(
        [AudioLatentShape.from_video_pixel_shape(VideoPixelShape(1, f, 64, 64, fps)).frames
         for f, fps in AUDIO_FRAMES], dtype=torch.int64)

    # Initial state of stage 2: a clean latent (the upsampled one), the image
    # conditioning at latent index 0, then the noiser at 0.909375, as
    # denoise_audio_video does; and stage 1 (zeros, scale 1).
    shape = VideoLatentShape(batch=1, channels=4, frames=3, height=2, width=3)
    tools = VideoLatentTools(VideoLatentPatchifier(patch_size=1), shape, 24.0)
    image = torch.randn(1, 4, 1, 2, 3)
    # Strength 0.65: (float)(1 - 0.65) differs from 1 - (float)0.65.
    for name, initial, scale, strength in (
            ("s2", torch.randn(shape.to_torch_shape()), constants.STAGE_2_DISTILLED_SIGMA_VALUES[0], 0.65),
            ("s1", None, 1.0, 0.7)):
        cond = VideoConditionByLatentIndex(latent=image, strength=strength, latent_idx=0)
        st = tools.create_initial_state("cpu", torch.float32, initial_latent=initial)
        t[f"noise_{name}_x_in"] = st.latent[0].clone()
        st = cond.apply_to(latent_state=st, latent_tools=tools)
        t[f"noise_{name}_x_cond"] = st.latent[0].clone()
        t[f"noise_{name}_clean"] = st.clean_latent[0].clone()
        t[f"noise_{name}_mask"] = st.denoise_mask[0, :, 0].clone()
        out, noise = noised_with_known_noise(st, scale, seed=77)
        t[f"noise_{name}_noise"] = noise[0]
        t[f"noise_{name}_x_out"] = out.latent[0]
        t[f"noise_{name}_scale"] = torch.tensor([scale], dtype=torch.float64)
        t[f"noise_{name}_strength"] = torch.tensor([strength], dtype=torch.float64)
    t["cond_image"] = image[0]

    # Guider.
    n_tok, width = 48, 8
    for name, (params, present) in GUIDE_CASES.items():
        g = MultiModalGuider(params=params)
        c = torch.randn(1, n_tok, width)
        u, p, i = (torch.randn(1, n_tok, width) if x in present else 0.0 for x in "upi")
        t[f"guide_{name}_c"] = c[0]
        for x, v in zip("upi", (u, p, i)):
            if isinstance(v, torch.Tensor):
                t[f"guide_{name}_{x}"] = v[0]
        t[f"guide_{name}_out"] = g.calculate(c, u, p, i)[0]
        meta[f"guide_{name}"] = json.dumps({
            "cfg": params.cfg_scale, "stg": params.stg_scale,
            "rescale": params.rescale_scale, "modality": params.modality_scale})
    flags = []
    for cfg, stg, mod in PASS_CASES:
        g = MultiModalGuider(MultiModalGuiderParams(cfg_scale=cfg, stg_scale=stg, modality_scale=mod))
        flags.append([int(g.do_unconditional_generation()), int(g.do_perturbed_generation()),
                      int(g.do_isolated_modality_generation())])
    t["pass_params"] = torch.tensor(PASS_CASES, dtype=torch.float64)
    t["pass_flags"] = torch.tensor(flags, dtype=torch.int64)
    t["skip_params"] = torch.tensor(SKIP_STEPS, dtype=torch.int64)
    t["skip_flags"] = torch.tensor(
        [[int(MultiModalGuider(MultiModalGuiderParams(skip_step=s)).should_skip_step(step))
          for step in range(10)] for s in SKIP_STEPS], dtype=torch.int64)

    # x0 from velocity (X0Model: to_denoised with per-token timesteps), then
    # post_process_latent + Euler, over two steps of the 8-step schedule.
    sig = sched.execute(steps=8)
    n_tok, width = 12, 5
    x = torch.randn(1, n_tok, width)
    v = torch.randn(1, n_tok, width)
    clean = torch.randn(1, n_tok, width)
    mask = torch.ones(1, n_tok, 1)
    mask[:, :3] = 1.0 - 0.7
    mask[:, 3:4] = 0.0
    t["euler_x"], t["euler_v"], t["euler_clean"] = x[0], v[0], clean[0]
    t["euler_mask"] = mask[0, :, 0]
    t["euler_sigmas"] = sig
    step = EulerDiffusionStep()
    for k in range(2):
        ts = timesteps_from_mask(mask, sig[k])
        x0 = to_denoised(x, v, ts)
        t[f"euler_ts_{k}"] = ts[0, :, 0]
        t[f"euler_x0_{k}"] = x0[0]
        x0 = post_process_latent(x0, mask, clean)
        x = step.step(x, x0, sig, k)
        t[f"euler_out_{k}"] = x[0]

    # Defaults per model_version, via detect_params on a real file.
    defaults = []
    with tempfile.TemporaryDirectory() as d:
        for version in ("2.0.0", "2.3.0", "", "2.3-hq", "3.0"):
            path = os.path.join(d, "ck.safetensors")
            save_file({"x": torch.zeros(1)}, path, metadata={"model_version": version})
            p = constants.detect_params(path)
            guides = {}
            for m, gp in (("video", p.video_guider_params), ("audio", p.audio_guider_params)):
                guides[m] = {"cfg": gp.cfg_scale, "stg": gp.stg_scale, "rescale": gp.rescale_scale,
                             "modality": gp.modality_scale, "skip_step": gp.skip_step,
                             "stg_blocks": list(gp.stg_blocks)}
            defaults.append({
                "model_version": version, "steps": p.num_inference_steps, "frames": p.num_frames,
                "height": p.stage_2_height, "width": p.stage_2_width,
                "fps": p.frame_rate, "seed": p.seed, **guides})
    meta["defaults"] = json.dumps(defaults)
    meta["negative_prompt"] = constants.DEFAULT_NEGATIVE_PROMPT

    tensors = {k: v.contiguous() for k, v in t.items()}
    save_file(tensors, OUT, metadata=meta)
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes, {len(tensors)} tensors)")


if __name__ == "__main__":
    main()
