#!/usr/bin/env python3
"""End-to-end goldens for warmd's LTX-2 pipelines, computed by ltx-pipelines 1.0.0.

Two jobs run through the reference's own pipeline building blocks, in f32 on
the cpu, on tiny files written by warmd's model maker:

  A "two_stage" (TI2VidTwoStagesPipeline's flow): the prompt and the
    version's default negative prompt through the tiny Gemma-3 and the
    checkpoint's EmbeddingsProcessor; stage 1 at half size with
    LTX2Scheduler().execute(steps) and multi_modal_guider_factory_denoising_func
    (cfg, STG in block 1, modality isolation, rescale: all four passes);
    upsample_video; stage 2 with the same transformer plus the LoRA fused at
    strength 1.0, STAGE_2_DISTILLED_SIGMA_VALUES, video (upsampled) and
    audio (stage 1's) re-noised at 0.909375, simple_denoising_func;
  B "distilled" (DistilledPipeline's flow): one transformer, stage 1
    DISTILLED_SIGMA_VALUES with simple_denoising_func, upsample, stage 2 the
    3-step list.

Both decode the video with VideoDecoder.tiled_decode(TilingConfig.default())
(the 128 x 192 x 17 video fits one tile, so it equals the untiled decode),
and the audio with decode_audio (audio decoder + vocoder).

The files (warm-mkmodel, arguments in MKMODEL; ctest makes the same ones from
the golden's metadata): the 2.0 tiny combined checkpoint, its upsampler, a
rank-4 LoRA used as the distilled LoRA, the tiny Gemma-3 folder.

Differences from the production pipelines, all forced by the tiny files:
  * PipelineComponents.video_latent_channels is the tiny VAE's 8 (not 128);
  * AudioLatentShape.from_video_pixel_shape defaults to 8 channels x 16 mel
    bins; the tiny audio VAE has z = 2 channels, so the default `channels` is
    replaced by the audio decoder's z_channels and `mel_bins` by the
    transformer's audio_in_channels / z (= 16) for the duration of the run;
  * ltx-core refuses to fuse a LoRA into an f32 model, so the fused stage-2
    checkpoint is W + S.(B.A) in f32 (tests/parity/ltx2.py's fused_checkpoint).

Models, Spec and run_job also run bench_vs_torch's whole demo job on the
demo's files (tests/bench/torch_side.py, command `demo`).

The noise is drawn from one torch.Generator per job, seeded as recorded, by
ltx-core's GaussianNoiser itself (stage 1 video, stage 1 audio, stage 2
video, stage 2 audio, in the patchified token layout the noiser sees); each
draw is recorded by replaying the generator's state.

Output tests/data/ltx2/pipeline_{two_stage,distilled}.safetensors:
  stage1.video [N1, C], stage1.audio [Ta, Ca], stage2.video [N2, C],
  stage2.audio [Ta, Ca]                 the injected noise (warmd --noise)
  expect.stage1.video [C, F, H, W], expect.stage1.audio [Z, T, M]
  expect.stage2.video, expect.stage2.audio   unpatchified latents per stage
  expect.upsampled [C, F, 2H, 2W]       the upsampler's output
  expect.frames [3, F, H, W]            the decoder's float output
  expect.waveform [channels, samples]   the vocoder's output
  expect.context.{video,audio}_{pos,neg} [T, D]  the text side's contexts
with prompt, negative prompt, sizes, fps, steps, sigmas, seeds, guider
parameters and the warm-mkmodel arguments in __metadata__.

    PYTHONPATH=tests/parity/pystub python3 tests/parity/ltx2_pipeline.py \
        --mkmodel build/bin/warm-mkmodel
"""
import argparse
import contextlib
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import torch
import sentencepiece as spm
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import ltx2 as tr_parity            # noqa: E402  fused_checkpoint, load
import ltx2_decoders as dec_parity  # noqa: E402  build
import ltx2_text as text_parity     # noqa: E402  tokenize, build_processor

from ltx_core.components.diffusion_steps import EulerDiffusionStep  # noqa: E402
from ltx_core.components.guiders import (MultiModalGuiderParams,  # noqa: E402
                                         create_multimodal_guider_factory)
from ltx_core.components.noisers import GaussianNoiser  # noqa: E402
from ltx_core.components.schedulers import LTX2Scheduler  # noqa: E402
from ltx_core.model.audio_vae import decode_audio  # noqa: E402
from ltx_core.model.audio_vae.model_configurator import (  # noqa: E402
    AUDIO_VAE_DECODER_COMFY_KEYS_FILTER, VOCODER_COMFY_KEYS_FILTER,
    AudioDecoderConfigurator, VocoderConfigurator)
from ltx_core.model.transformer import X0Model  # noqa: E402
from ltx_core.model.upsampler import upsample_video  # noqa: E402
from ltx_core.model.upsampler.model_configurator import LatentUpsamplerConfigurator  # noqa: E402
from ltx_core.model.video_vae import TilingConfig  # noqa: E402
from ltx_core.model.video_vae.model_configurator import (  # noqa: E402
    VAE_DECODER_COMFY_KEYS_FILTER, VAE_ENCODER_COMFY_KEYS_FILTER,
    VideoDecoderConfigurator, VideoEncoderConfigurator)
from ltx_core.types import AudioLatentShape, VideoPixelShape  # noqa: E402
from ltx_pipelines.utils.constants import (DEFAULT_IMAGE_CRF,  # noqa: E402
                                           DEFAULT_NEGATIVE_PROMPT,
                                           DISTILLED_SIGMA_VALUES,
                                           STAGE_2_DISTILLED_SIGMA_VALUES)
from ltx_pipelines.utils.args import ImageConditioningInput  # noqa: E402
from ltx_pipelines.utils.helpers import (combined_image_conditionings,  # noqa: E402
                                         denoise_audio_video,
                                         multi_modal_guider_factory_denoising_func,
                                         simple_denoising_func)
from ltx_pipelines.utils.samplers import euler_denoising_loop  # noqa: E402
from ltx_pipelines.utils.types import PipelineComponents  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "tests", "data", "ltx2")

# File -> warm-mkmodel arguments (ctest reads them from the golden).
MKMODEL = {
    "ckpt": ["--arch", "ltx2", "--variant", "2.0", "--preset", "tiny", "--seed", "60"],
    "upsampler": ["--arch", "ltx2-upsampler", "--variant", "2.0", "--preset", "tiny",
                  "--seed", "61"],
    "lora": ["--arch", "ltx2-lora", "--variant", "2.0", "--preset", "tiny", "--rank", "4",
             "--seed", "62"],
    "gemma": ["--arch", "gemma3", "--preset", "tiny", "--seed", "63"],
}
# GemmaTextEncoder's padded length (LTXVGemmaTokenizer(path, 1024)); the
# default negative prompt is 664 pieces with the tiny tokenizer.
MAX_TOKENS = 1024
PROMPT = "a red fox running through snow, with wind"
FPS = 24.0
# Frames, height, width per job: small, so the goldens (which hold every
# decoded frame) stay small; the image job encodes its picture at each
# stage's size and needs sides the encoder's reflect padding accepts.
SIZES = {"two_stage": (9, 64, 128), "distilled": (9, 64, 128),
         "image": (17, 128, 192)}
STEPS = 3
LORA_STRENGTH = 1.0
VIDEO_GUIDE = MultiModalGuiderParams(cfg_scale=3.0, stg_scale=1.0, rescale_scale=0.7,
                                     modality_scale=3.0, skip_step=0, stg_blocks=[1])
AUDIO_GUIDE = MultiModalGuiderParams(cfg_scale=7.0, stg_scale=1.0, rescale_scale=0.7,
                                     modality_scale=3.0, skip_step=0, stg_blocks=[1])
JOBS = {"two_stage": 10, "distilled": 11, "image": 12}  # job -> noise seed
# Job "image": two_stage with a first-frame image (tests/data/ltx2/image_in.png,
# tests/parity/ltx2_image.py), encoded at each stage's size with the default
# crf. Its golden leaves out the frames and the contexts (the other two
# goldens cover the decoder and the text side) to stay small.
IMAGE = os.path.join(OUT, "image_in.png")
IMAGE_STRENGTH = 0.8


@dataclasses.dataclass
class Spec:
    """One job's parameters. The goldens' jobs are SPECS; the bench's whole
    demo job (tests/bench/torch_side.py) gives its own."""
    guided: bool  # stage 1 guided (all four passes), stage 2 the fused LoRA
    frames: int
    height: int
    width: int
    steps: int = STEPS  # stage 1's LTX2Scheduler steps when guided
    prompt: str = PROMPT
    fps: float = FPS
    image: bool = False  # the first-frame image IMAGE
    max_tokens: int = MAX_TOKENS
    video_guide: MultiModalGuiderParams = dataclasses.field(
        default_factory=lambda: VIDEO_GUIDE)
    audio_guide: MultiModalGuiderParams = dataclasses.field(
        default_factory=lambda: AUDIO_GUIDE)
    tiling: TilingConfig = dataclasses.field(default_factory=TilingConfig.default)


SPECS = {"two_stage": Spec(True, *SIZES["two_stage"]),
         "distilled": Spec(False, *SIZES["distilled"]),
         "image": Spec(True, *SIZES["image"], image=True)}


class RecordingNoiser:
    """ltx-core's GaussianNoiser over one seeded generator; each draw is
    recorded by replaying the generator's state before the call."""

    def __init__(self, seed):
        self.seed = seed
        self.gen = torch.Generator().manual_seed(seed)
        self.noiser = GaussianNoiser(generator=self.gen)
        self.drawn = []

    def __call__(self, state, noise_scale=1.0):
        before = self.gen.get_state()
        out = self.noiser(state, noise_scale)
        replay = torch.Generator()
        replay.set_state(before)
        noise = torch.randn(*state.latent.shape, dtype=state.latent.dtype, generator=replay)
        m = state.denoise_mask * noise_scale
        assert torch.equal(out.latent, noise * m + state.latent * (1 - m)), "replay differs"
        self.drawn.append(noise[0].contiguous())
        return out


def make_files(mk, work, mkmodel=None):
    """warm-mkmodel's files into work: {"ckpt", "upsampler", "lora", "gemma"}
    -> path (arguments per name: MKMODEL, the goldens' tiny files, unless
    given)."""
    paths = {}
    for name, args in (mkmodel or MKMODEL).items():
        path = os.path.join(work, name if name == "gemma" else name + ".safetensors")
        if os.path.isdir(path):
            shutil.rmtree(path)
        subprocess.run([mk] + args + ["--out", path, "--quiet"], check=True)
        paths[name] = path
    return paths


class Models:
    """Every model of the two-stage flow, in f32 on the cpu, from the files
    in paths (make_files' keys); work holds the fused stage-2 checkpoint."""

    def __init__(self, paths, work, lora_strength=LORA_STRENGTH):
        self.paths = dict(paths)
        ck = self.paths["ckpt"]
        fused = os.path.join(work, "fused.safetensors")
        tr_parity.fused_checkpoint(ck, self.paths["lora"], lora_strength, fused)
        self.base = X0Model(tr_parity.load(ck, False)).eval()
        self.fused = X0Model(tr_parity.load(fused, False)).eval()
        self.encoder = dec_parity.build(ck, VideoEncoderConfigurator, VAE_ENCODER_COMFY_KEYS_FILTER)
        self.decoder = dec_parity.build(ck, VideoDecoderConfigurator, VAE_DECODER_COMFY_KEYS_FILTER)
        self.audio_decoder = dec_parity.build(ck, AudioDecoderConfigurator,
                                              AUDIO_VAE_DECODER_COMFY_KEYS_FILTER)
        self.vocoder = dec_parity.build(ck, VocoderConfigurator, VOCODER_COMFY_KEYS_FILTER)
        self.upsampler = dec_parity.build(self.paths["upsampler"], LatentUpsamplerConfigurator, None)
        cfg = json.loads(_metadata(ck)["config"])["transformer"]
        self.video_channels = cfg["in_channels"]
        self.audio_z = self.audio_decoder.z_channels
        assert cfg["audio_in_channels"] % self.audio_z == 0
        self.audio_bins = cfg["audio_in_channels"] // self.audio_z
        self.sp = spm.SentencePieceProcessor(
            model_file=os.path.join(self.paths["gemma"], "tokenizer.model"))
        from transformers import Gemma3ForCausalLM
        self.gemma = Gemma3ForCausalLM.from_pretrained(self.paths["gemma"],
                                                       dtype=torch.float32).model.eval()
        D = self.gemma.config.hidden_size
        S = self.gemma.config.num_hidden_layers + 1
        self.processor = text_parity.build_processor(ck, D, S)

    def encode(self, prompt, max_tokens=MAX_TOKENS):
        """GemmaTextEncoder.encode + EmbeddingsProcessor.process_hidden_states."""
        ids, mask = text_parity.tokenize(self.sp, prompt, max_tokens)
        ids_t, mask_t = torch.tensor([ids]), torch.tensor([mask])
        o = self.gemma(input_ids=ids_t, attention_mask=mask_t, output_hidden_states=True)
        r = self.processor.process_hidden_states(tuple(o.hidden_states), mask_t)
        return r.video_encoding, r.audio_encoding, sum(mask)


@contextlib.contextmanager
def tiny_audio_shape(m):
    """AudioLatentShape.from_video_pixel_shape with the files' audio latent
    channels and mel bins (the defaults are the production model's)."""
    orig = AudioLatentShape.from_video_pixel_shape

    def audio_shape(shape, channels=None, mel_bins=None, **kw):
        return orig(shape, channels=m.audio_z, mel_bins=m.audio_bins, **kw)

    AudioLatentShape.from_video_pixel_shape = staticmethod(audio_shape)
    try:
        yield
    finally:
        AudioLatentShape.from_video_pixel_shape = orig


def _metadata(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        return json.loads(f.read(n))["__metadata__"]


class FixedNoiser:
    """GaussianNoiser's formula over given noise (--check)."""

    def __init__(self, noise):
        self.noise = list(noise)
        self.gen = None
        self.drawn = []

    def __call__(self, state, noise_scale=1.0):
        noise = self.noise.pop(0).unsqueeze(0)
        self.drawn.append(noise[0])
        m = state.denoise_mask * noise_scale
        return dataclasses.replace(state, latent=noise * m + state.latent * (1 - m))


def run_job(m, job, noiser, restart=None, spec=None, times=None):
    """The job (spec, or SPECS[job]); restart {"stage1"|"stage2": (video,
    audio)} replaces that stage's unpatchified result before the rest runs
    (--check); times, a dict, gets each part's seconds (encode, stage1,
    upsample, stage2, decode, audio). A noiser without `drawn` (a plain
    GaussianNoiser's wrapper) leaves the noise out of the tensors."""
    spec = spec or SPECS[job]
    guided = spec.guided
    images = [ImageConditioningInput(IMAGE, 0, IMAGE_STRENGTH, DEFAULT_IMAGE_CRF)] \
        if spec.image else []
    restart = restart or {}
    FRAMES, HEIGHT, WIDTH = spec.frames, spec.height, spec.width
    clock = [time.perf_counter()]

    def lap(name):
        now = time.perf_counter()
        if times is not None:
            times[name] = now - clock[0]
        clock[0] = now

    dtype, dev = torch.float32, torch.device("cpu")
    components = PipelineComponents(dtype=dtype, device=dev)
    components.video_latent_channels = m.video_channels
    stepper = EulerDiffusionStep()
    out, meta = {}, {}

    vp, ap, n_pos = m.encode(spec.prompt, spec.max_tokens)
    out["expect.context.video_pos"], out["expect.context.audio_pos"] = vp[0], ap[0]
    meta["prompt_tokens"] = n_pos
    if guided:
        vn, an, n_neg = m.encode(DEFAULT_NEGATIVE_PROMPT, spec.max_tokens)
        out["expect.context.video_neg"], out["expect.context.audio_neg"] = vn[0], an[0]
        meta["negative_prompt_tokens"] = n_neg
    lap("encode")

    stage1_shape = VideoPixelShape(batch=1, frames=FRAMES, width=WIDTH // 2,
                                   height=HEIGHT // 2, fps=spec.fps)
    stage2_shape = VideoPixelShape(batch=1, frames=FRAMES, width=WIDTH, height=HEIGHT,
                                   fps=spec.fps)

    def loop(denoise_fn):
        def f(sigmas, video_state, audio_state, stepper):
            return euler_denoising_loop(sigmas=sigmas, video_state=video_state,
                                        audio_state=audio_state, stepper=stepper,
                                        denoise_fn=denoise_fn)
        return f

    if guided:
        sigmas1 = LTX2Scheduler().execute(steps=spec.steps).to(dtype=torch.float32)
        fn1 = multi_modal_guider_factory_denoising_func(
            video_guider_factory=create_multimodal_guider_factory(spec.video_guide,
                                                                  negative_context=vn),
            audio_guider_factory=create_multimodal_guider_factory(spec.audio_guide,
                                                                  negative_context=an),
            v_context=vp, a_context=ap, transformer=m.base)
        stage2_model = m.fused
    else:
        sigmas1 = torch.Tensor(DISTILLED_SIGMA_VALUES)
        fn1 = simple_denoising_func(video_context=vp, audio_context=ap, transformer=m.base)
        stage2_model = m.base
    video, audio = denoise_audio_video(
        output_shape=stage1_shape, noiser=noiser, sigmas=sigmas1,
        conditionings=combined_image_conditionings(
            images=images, height=stage1_shape.height, width=stage1_shape.width,
            video_encoder=m.encoder, dtype=dtype, device=dev),
        stepper=stepper, denoising_loop_fn=loop(fn1), components=components,
        dtype=dtype, device=dev)
    out["expect.stage1.video"], out["expect.stage1.audio"] = video.latent[0], audio.latent[0]
    lap("stage1")
    if "stage1" in restart:
        video = dataclasses.replace(video, latent=restart["stage1"][0][None])
        audio = dataclasses.replace(audio, latent=restart["stage1"][1][None])

    upsampled = upsample_video(latent=video.latent[:1], video_encoder=m.encoder,
                               upsampler=m.upsampler)
    out["expect.upsampled"] = upsampled[0]
    lap("upsample")
    sigmas2 = torch.Tensor(STAGE_2_DISTILLED_SIGMA_VALUES)
    fn2 = simple_denoising_func(video_context=vp, audio_context=ap, transformer=stage2_model)
    video, audio = denoise_audio_video(
        output_shape=stage2_shape, noiser=noiser, sigmas=sigmas2,
        conditionings=combined_image_conditionings(
            images=images, height=stage2_shape.height, width=stage2_shape.width,
            video_encoder=m.encoder, dtype=dtype, device=dev),
        stepper=stepper, denoising_loop_fn=loop(fn2), components=components,
        dtype=dtype, device=dev, noise_scale=sigmas2[0],
        initial_video_latent=upsampled, initial_audio_latent=audio.latent)
    out["expect.stage2.video"], out["expect.stage2.audio"] = video.latent[0], audio.latent[0]
    lap("stage2")
    if "stage2" in restart:
        video = dataclasses.replace(video, latent=restart["stage2"][0][None])
        audio = dataclasses.replace(audio, latent=restart["stage2"][1][None])

    # tiled_decode yields consecutive, non-overlapping temporal slices (one
    # for the goldens).
    chunks = list(m.decoder.tiled_decode(video.latent, spec.tiling, generator=noiser.gen))
    out["expect.frames"] = torch.cat(chunks, dim=2)[0]
    lap("decode")
    out["expect.waveform"] = decode_audio(audio.latent, m.audio_decoder, m.vocoder).waveform
    lap("audio")

    if hasattr(noiser, "drawn"):
        assert len(noiser.drawn) == 4
        for name, t in zip(("stage1.video", "stage1.audio", "stage2.video", "stage2.audio"),
                           noiser.drawn):
            out[name] = t
    meta.update({
        "job": job,
        "pipeline": "ltx2" if guided else "ltx2_distilled",
        "prompt": spec.prompt,
        "negative_prompt": DEFAULT_NEGATIVE_PROMPT if guided else "",
        "frames": FRAMES, "height": HEIGHT, "width": WIDTH, "fps": spec.fps,
        "steps": spec.steps if guided else len(DISTILLED_SIGMA_VALUES) - 1,
        "sigmas.stage1": [float(s) for s in sigmas1],
        "sigmas.stage2": [float(s) for s in sigmas2],
        "noise_seed": getattr(noiser, "seed", None),
        "noise_order": "stage1.video, stage1.audio, stage2.video, stage2.audio from one "
                       "torch.Generator (cpu) seeded noise_seed",
        "max_tokens": spec.max_tokens,
        "lora_strength": LORA_STRENGTH if guided else 0.0,
        "mkmodel": MKMODEL,
        "video_decode": ("VideoDecoder.tiled_decode(TilingConfig.default()): one tile"
                         if spec.tiling == TilingConfig.default() and len(chunks) == 1 else
                         f"VideoDecoder.tiled_decode({spec.tiling}): {len(chunks)} chunk(s)"),
        "audio_shape": [m.audio_z, int(out["expect.stage1.audio"].shape[1]), m.audio_bins],
        "sample_rate": m.vocoder.output_sampling_rate,
    })
    if spec.image:
        meta.update({"image": os.path.relpath(IMAGE, os.path.dirname(OUT)),
                     "image_strength": IMAGE_STRENGTH, "image_crf": DEFAULT_IMAGE_CRF})
        for k in [k for k in out if k.startswith("expect.context.") or k == "expect.frames"]:
            del out[k]
    if guided:
        for name, g in (("video_guider", spec.video_guide), ("audio_guider", spec.audio_guide)):
            meta[name] = {"cfg": g.cfg_scale, "stg": g.stg_scale, "rescale": g.rescale_scale,
                          "modality": g.modality_scale, "skip_step": g.skip_step,
                          "stg_blocks": g.stg_blocks}
    return out, meta


def check(m, job, path):
    """Where warmd and the reference part: stage 1 from the same noise; stage
    2 and the upsampler from warmd's stage 1; the decoders from warmd's stage
    2. Errors are max|warmd - ref| / max|ref|."""
    from safetensors.torch import load_file
    w = load_file(path)
    g = load_file(os.path.join(OUT, f"pipeline_{job}.safetensors"))
    noise = [g[k] for k in ("stage1.video", "stage1.audio", "stage2.video", "stage2.audio")]

    def err(name, ref):
        x = w[name]
        if tuple(x.shape) != tuple(ref.shape):
            return f"shape {list(x.shape)} vs {list(ref.shape)}"
        return f"{float((x - ref).abs().max() / ref.abs().max()):.3g}"

    full, _ = run_job(m, job, FixedNoiser(noise))
    for k in ("expect.stage1.video", "expect.stage2.video", "expect.frames"):
        assert k not in g or torch.equal(full[k], g[k]), f"the golden does not replay: {k}"
    print("from the same noise (the golden):")
    for n in ("stage1.video", "stage1.audio", "stage2.video", "stage2.audio", "frames",
              "waveform"):
        print(f"  {n:14s} {err(n, full['expect.' + n])}")
    s1 = (w["stage1.video"], w["stage1.audio"])
    o, _ = run_job(m, job, FixedNoiser(noise), restart={"stage1": s1})
    print("stage 2 and decoders from warmd's stage 1:")
    for n in ("stage2.video", "stage2.audio", "frames", "waveform"):
        print(f"  {n:14s} {err(n, o['expect.' + n])}")
    s2 = (w["stage2.video"], w["stage2.audio"])
    o, _ = run_job(m, job, FixedNoiser(noise), restart={"stage2": s2})
    print("decoders from warmd's stage 2:")
    for n in ("frames", "waveform"):
        print(f"  {n:14s} {err(n, o['expect.' + n])}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mkmodel", default=os.path.join(ROOT, "build", "bin", "warm-mkmodel"))
    ap.add_argument("--only", default="", help="one job: two_stage or distilled")
    ap.add_argument("--check", metavar="TENSORS",
                    help="warmd's tensors.safetensors of job --only: each stage of the "
                         "reference rerun from warmd's previous stage, to see where "
                         "they part (writes no golden)")
    a = ap.parse_args()
    if a.check and not a.only:
        ap.error("--check needs --only JOB")
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as work, torch.no_grad():
        m = Models(make_files(a.mkmodel, work), work)
        with tiny_audio_shape(m):
            if a.check:
                check(m, a.only, a.check)
                return
            for job, seed in JOBS.items():
                if a.only and job != a.only:
                    continue
                out, meta = run_job(m, job, RecordingNoiser(seed))
                path = os.path.join(OUT, f"pipeline_{job}.safetensors")
                save_file({k: v.float().contiguous() for k, v in out.items()}, path,
                          metadata={k: v if isinstance(v, str) else json.dumps(v)
                                    for k, v in meta.items()})
                print(f"{path}: {os.path.getsize(path)} bytes")
                for k, v in out.items():
                    print(f"  {k:28s} {str(list(v.shape)):20s} max|x| {float(v.abs().max()):.4g}")


if __name__ == "__main__":
    main()
