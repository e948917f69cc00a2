"""LTX-2 file keys against ltx-core 1.0.0 (the reference's own loaders).

Two uses:

  ltx2_keys.py golden OUTDIR
      Builds every component of the production 2.0 and 2.3 configs on the
      meta device with ltx-core's configurators and writes, per variant, the
      file keys (component prefix + module key) with shapes:
      OUTDIR/keys_full_2.0.txt, keys_full_2.3.txt, upsampler_full_2.0.txt,
      upsampler_full_2.3.txt. ctest compares `warm-mkmodel --preset full
      --sparse` against these (tests/ltx2_files.cmake).

  ltx2_keys.py check FILE [FILE ...]
      Loads files written by warm-mkmodel (--arch ltx2, ltx2-upsampler,
      ltx2-lora) into ltx-core: the config from the file's metadata through
      SafetensorsModelStateDictLoader, the models from the configurators, the
      tensors through each component's SDOps key map, then load_state_dict
      with strict=True (every module key present, no stray key, shapes
      equal). The constant buffers (vocoder filters, STFT and mel bases,
      upsampler blur kernel) are compared with what ltx-core computes.

Run with `PYTHONPATH=tests/parity/pystub python3 tests/parity/ltx2_keys.py ...`
(ltx-core imports torchaudio; an empty stub package is enough).
"""
import json
import re
import sys

import numpy as np
import torch
from safetensors import safe_open

from ltx_core.loader.sd_ops import LTXV_LORA_COMFY_RENAMING_MAP
from ltx_core.loader.sft_loader import SafetensorsModelStateDictLoader
from ltx_core.model.audio_vae.model_configurator import (
    AUDIO_VAE_DECODER_COMFY_KEYS_FILTER, AUDIO_VAE_ENCODER_COMFY_KEYS_FILTER,
    VOCODER_COMFY_KEYS_FILTER, AudioDecoderConfigurator,
    AudioEncoderConfigurator, VocoderConfigurator)
from ltx_core.model.audio_vae.vocoder import kaiser_sinc_filter1d
from ltx_core.model.transformer.model_configurator import (
    LTXV_MODEL_COMFY_RENAMING_MAP, LTXModelConfigurator)
from ltx_core.model.upsampler.model_configurator import \
    LatentUpsamplerConfigurator
from ltx_core.model.video_vae.model_configurator import (
    VAE_DECODER_COMFY_KEYS_FILTER, VAE_ENCODER_COMFY_KEYS_FILTER,
    VideoDecoderConfigurator, VideoEncoderConfigurator)
import ltx_core.text_encoders.gemma.encoders.encoder_configurator as enc_cfg
from ltx_core.text_encoders.gemma.encoders.encoder_configurator import (
    EMBEDDINGS_PROCESSOR_KEY_OPS, EmbeddingsProcessorConfigurator)

# Statistics real video VAE files carry beside the two ltx-core reads.
VAE_EXTRA = ("vae.per_channel_statistics.channel",
             "vae.per_channel_statistics.mean-of-stds")

# (name, configurator, SDOps) per component of the combined file.
COMPONENTS = (
    ("transformer", LTXModelConfigurator, LTXV_MODEL_COMFY_RENAMING_MAP),
    ("embeddings processor", EmbeddingsProcessorConfigurator,
     EMBEDDINGS_PROCESSOR_KEY_OPS),
    ("video decoder", VideoDecoderConfigurator, VAE_DECODER_COMFY_KEYS_FILTER),
    ("video encoder", VideoEncoderConfigurator, VAE_ENCODER_COMFY_KEYS_FILTER),
    ("audio decoder", AudioDecoderConfigurator,
     AUDIO_VAE_DECODER_COMFY_KEYS_FILTER),
    ("audio encoder", AudioEncoderConfigurator,
     AUDIO_VAE_ENCODER_COMFY_KEYS_FILTER),
    ("vocoder", VocoderConfigurator, VOCODER_COMFY_KEYS_FILTER),
)


def production_config(variant):
    """The production config of LTX2.md §1.5 / ltx2/counts.py (what
    warm-mkmodel --preset full writes; read back from its metadata in
    `check`)."""
    base = dict(
        dropout=0.0, attention_bias=True, num_vector_embeds=None,
        activation_fn="gelu-approximate", num_embeds_ada_norm=1000,
        use_linear_projection=False, only_cross_attention=False,
        cross_attention_norm=True, double_self_attention=False,
        upcast_attention=False, standardization_norm="rms_norm",
        norm_elementwise_affine=False, qk_norm="rms_norm",
        positional_embedding_type="rope",
        use_audio_video_cross_attention=True, share_ff=False,
        av_cross_ada_norm=True, use_middle_indices_grid=True,
        num_attention_heads=32, attention_head_dim=128, in_channels=128,
        out_channels=128, num_layers=48, cross_attention_dim=4096,
        audio_num_attention_heads=32, audio_attention_head_dim=64,
        audio_in_channels=128, audio_out_channels=128,
        audio_cross_attention_dim=2048, av_ca_timestep_scale_multiplier=1000,
        rope_type="split", frequencies_precision="float64",
        caption_channels=3840, connector_num_attention_heads=30,
        connector_attention_head_dim=128, connector_num_layers=2,
        connector_positional_embedding_max_pos=[4096])
    vae = dict(
        dims=3, latent_channels=128, patch_size=4, norm_layer="pixel_norm",
        latent_log_var="uniform", spatial_padding_mode="reflect",
        causal_decoder=False, timestep_conditioning=False,
        decoder_base_channels=128,
        encoder_blocks=[["res_x", {"num_layers": 4}],
                        ["compress_space_res", {"multiplier": 2}],
                        ["res_x", {"num_layers": 6}],
                        ["compress_time_res", {"multiplier": 2}],
                        ["res_x", {"num_layers": 6}],
                        ["compress_all_res", {"multiplier": 2}],
                        ["res_x", {"num_layers": 2}],
                        ["compress_all_res", {"multiplier": 2}],
                        ["res_x", {"num_layers": 2}]],
        decoder_blocks=[["res_x", {"num_layers": 5}],
                        ["compress_all", {"residual": True, "multiplier": 2}],
                        ["res_x", {"num_layers": 5}],
                        ["compress_all", {"residual": True, "multiplier": 2}],
                        ["res_x", {"num_layers": 5}],
                        ["compress_all", {"residual": True, "multiplier": 2}],
                        ["res_x", {"num_layers": 5}]])
    audio_vae = {"model": {"params": {"ddconfig": dict(
        ch=128, out_ch=2, ch_mult=[1, 2, 4], num_res_blocks=2,
        attn_resolutions=[], resolution=256, z_channels=8, double_z=True,
        in_channels=2, norm_type="pixel", causality_axis="height",
        mid_block_add_attention=False, mel_bins=64, dropout=0.0),
        "sampling_rate": 16000}},
        "preprocessing": {"stft": {"hop_length": 160, "filter_length": 1024,
                                   "causal": True},
                          "mel": {"n_mel_channels": 64}}}
    vocoder = dict(resblock="1", stereo=True, resblock_kernel_sizes=[3, 7, 11],
                   upsample_rates=[6, 5, 2, 2, 2],
                   upsample_kernel_sizes=[16, 15, 8, 4, 4],
                   resblock_dilation_sizes=[[1, 3, 5]] * 3,
                   upsample_initial_channel=1024, output_sampling_rate=24000)
    if variant == "2.3":
        base.update(apply_gated_attention=True, cross_attention_adaln=True,
                    connector_apply_gated_attention=True,
                    caption_proj_before_connector=True,
                    caption_projection_first_linear=False,
                    caption_proj_input_norm=False,
                    caption_projection_second_linear=False,
                    connector_num_attention_heads=32,
                    connector_attention_head_dim=128, connector_num_layers=8,
                    audio_connector_num_attention_heads=32,
                    audio_connector_attention_head_dim=64)
        vae.update(
            spatial_padding_mode="zeros",
            encoder_blocks=[["res_x", {"num_layers": 4}],
                            ["compress_space_res", {"multiplier": 2}],
                            ["res_x", {"num_layers": 6}],
                            ["compress_time_res", {"multiplier": 2}],
                            ["res_x", {"num_layers": 4}],
                            ["compress_all_res", {"multiplier": 2}],
                            ["res_x", {"num_layers": 2}],
                            ["compress_all_res", {"multiplier": 1}],
                            ["res_x", {"num_layers": 2}]],
            decoder_blocks=[["res_x", {"num_layers": 4}],
                            ["compress_all", {"multiplier": 2}],
                            ["res_x", {"num_layers": 6}],
                            ["compress_all", {"multiplier": 2}],
                            ["res_x", {"num_layers": 4}],
                            ["compress_time", {"multiplier": 1}],
                            ["res_x", {"num_layers": 2}],
                            ["compress_space", {"multiplier": 2}],
                            ["res_x", {"num_layers": 2}]])
        amp = dict(resblock="AMP1", stereo=True, activation="snakebeta",
                   resblock_kernel_sizes=[3, 7, 11],
                   resblock_dilation_sizes=[[1, 3, 5]] * 3,
                   use_tanh_at_final=False, use_bias_at_final=False)
        vocoder = {"vocoder": dict(amp, upsample_initial_channel=1536,
                                   upsample_rates=[5, 2, 2, 2, 2, 2],
                                   upsample_kernel_sizes=[11, 4, 4, 4, 4, 4]),
                   "bwe": dict(amp, upsample_initial_channel=512,
                               upsample_rates=[6, 5, 2, 2, 2],
                               upsample_kernel_sizes=[12, 11, 4, 4, 4],
                               input_sampling_rate=16000,
                               output_sampling_rate=48000, n_fft=512,
                               hop_length=80, num_mels=64)}
    return {"transformer": base, "vae": vae, "audio_vae": audio_vae,
            "vocoder": vocoder}


def upsampler_config(variant):
    return dict(in_channels=128, mid_channels=1024, num_blocks_per_stage=4,
                dims=3, spatial_upsample=True, temporal_upsample=False,
                spatial_scale=2.0, rational_resampler=variant == "2.0")


def set_gemma_dims(hidden, layers):
    """The feature extractor's dims come from the hard-coded Gemma config;
    the tiny files are made for the tiny Gemma (warm-mkmodel --arch gemma3)."""
    tc = enc_cfg.GEMMA3_CONFIG_FOR_LTX.text_config
    tc.hidden_size, tc.num_hidden_layers = hidden, layers


def file_prefix(name, key):
    """The file key of module key `key` of component `name`."""
    if name == "transformer":
        return "model.diffusion_model." + key
    if name == "embeddings processor":
        for m, f in (("feature_extractor.", "text_embedding_projection."),
                     ("video_connector.",
                      "model.diffusion_model.video_embeddings_connector."),
                     ("audio_connector.",
                      "model.diffusion_model.audio_embeddings_connector.")):
            if key.startswith(m):
                return f + key[len(m):]
    stats = key.startswith("per_channel_statistics.")
    if name == "video decoder":
        return ("vae." if stats else "vae.decoder.") + key
    if name == "video encoder":
        return ("vae." if stats else "vae.encoder.") + key
    if name == "audio decoder":
        return ("audio_vae." if stats else "audio_vae.decoder.") + key
    if name == "audio encoder":
        return ("audio_vae." if stats else "audio_vae.encoder.") + key
    if name == "vocoder":
        return "vocoder." + key
    raise ValueError(name)


def shape_str(shape):
    return "[" + ",".join(str(d) for d in shape) + "]"


def write_compact(path, keys):
    """One line per key, `KEY [d0,d1,...]`; keys of repeated blocks
    (`transformer_blocks.I.`, `transformer_1d_blocks.I.`) present with the
    same shape for every I in 0..n-1 are written once as `...blocks.[0-n-1].`
    (tests/unit/test_ltx2_files.c expands them)."""
    pat = re.compile(r"^(.*\.(?:transformer_blocks|transformer_1d_blocks))"
                     r"\.(\d+)\.(.*)$")
    groups, lines = {}, []
    for k, shape in keys.items():
        m = pat.match(k)
        if m:
            groups.setdefault((m[1], m[3], shape), set()).add(int(m[2]))
        else:
            lines.append(f"{k} {shape_str(shape)}")
    for (pre, post, shape), idx in groups.items():
        n = max(idx) + 1
        if idx == set(range(n)):
            lines.append(f"{pre}.[0-{n - 1}].{post} {shape_str(shape)}")
        else:
            lines += [f"{pre}.{i}.{post} {shape_str(shape)}" for i in idx]
    with open(path, "w") as f:
        f.write("\n".join(sorted(lines)) + "\n")


def golden(outdir):
    for variant in ("2.0", "2.3"):
        cfg = production_config(variant)
        keys = {}
        with torch.device("meta"):
            for name, conf, _ in COMPONENTS:
                m = conf.from_config(cfg)
                for k, v in m.state_dict().items():
                    keys[file_prefix(name, k)] = tuple(v.shape)
        for k in VAE_EXTRA:
            keys[k] = (cfg["vae"]["latent_channels"],)
        write_compact(f"{outdir}/keys_full_{variant}.txt", keys)
        with torch.device("meta"):
            up = LatentUpsamplerConfigurator.from_config(
                upsampler_config(variant))
        with open(f"{outdir}/upsampler_full_{variant}.txt", "w") as f:
            for k, v in sorted(up.state_dict().items()):
                f.write(f"{k} {shape_str(v.shape)}\n")
        print(f"{variant}: {len(keys)} keys, upsampler "
              f"{len(up.state_dict())}")


def load_component(path, cfg, name, conf, sdops):
    """Builds component `name` from cfg and loads its tensors from the file
    strictly; returns the module."""
    m = conf.from_config(cfg)
    m = m.to_empty(device="cpu") if any(
        p.is_meta for p in list(m.parameters()) + list(m.buffers())) else m
    sd = SafetensorsModelStateDictLoader().load(path, sdops).sd
    want = m.state_dict()
    missing = sorted(set(want) - set(sd))
    extra = sorted(set(sd) - set(want))
    # The transformer's SDOps also keeps the connectors (ltx-core drops them
    # with strict=False); everything else must match exactly.
    if name == "transformer":
        extra = [k for k in extra if "_embeddings_connector." not in k]
    if name.startswith("video"):
        extra = [k for k in extra
                 if "per_channel_statistics." + k.split(".")[-1] not in
                 [e[4:] for e in VAE_EXTRA]]
    bad = [k for k in want if k in sd and tuple(sd[k].shape) !=
           tuple(want[k].shape)]
    if missing or extra or bad:
        raise SystemExit(f"{path}: {name}: missing {missing[:5]} "
                         f"({len(missing)}), unexpected {extra[:5]} "
                         f"({len(extra)}), wrong shape {bad[:5]}")
    sd = {k: v for k, v in sd.items() if k in want}
    m.load_state_dict(sd, strict=True, assign=True)
    return m


def close(a, b, what, tol=1e-6):
    a = a.detach().float().reshape(-1)
    b = torch.as_tensor(b).float().reshape(-1)
    if a.shape != b.shape or (a - b).abs().max() > tol * max(1.0, b.abs().max()):
        raise SystemExit(f"{what}: stored values differ from the reference "
                         f"(max |d| {(a - b).abs().max():.3g})")


def check_vocoder_constants(voc, cfg):
    """Filters and bases of the 2.3 vocoder: the kaiser-sinc filters as
    ltx-core computes them; the STFT bases as DFT x periodic Hann (forward)
    and its pseudo-inverse (inverse); the mel basis as librosa's Slaney
    filterbank (fmin 0, fmax sr/2)."""
    n = 0
    for name, mod in voc.named_modules():
        if type(mod).__name__ == "UpSample1d" and "resampler" not in name:
            close(mod.filter, kaiser_sinc_filter1d(0.25, 0.3, 12), name)
            n += 1
        if type(mod).__name__ == "LowPassFilter1d":
            close(mod.filter, kaiser_sinc_filter1d(0.25, 0.3, 12), name)
            n += 1
    bwe = cfg["vocoder"]["bwe"]
    nfft, hop = bwe["n_fft"], bwe["hop_length"]
    fb = np.fft.fft(np.eye(nfft))
    cut = nfft // 2 + 1
    fb = np.vstack([np.real(fb[:cut]), np.imag(fb[:cut])])
    win = np.hanning(nfft + 1)[:-1]
    close(voc.mel_stft.stft_fn.forward_basis, fb * win, "forward_basis", 1e-5)
    inv = np.linalg.pinv(nfft / hop * fb).T * win
    close(voc.mel_stft.stft_fn.inverse_basis, inv, "inverse_basis", 1e-5)
    close(voc.mel_stft.mel_basis,
          slaney_mel(bwe["input_sampling_rate"], nfft, bwe["num_mels"]),
          "mel_basis", 1e-5)
    return n


def slaney_mel(sr, n_fft, n_mels):
    """librosa.filters.mel(sr, n_fft, n_mels) with its defaults (Slaney
    scale and area normalisation), written out in numpy."""
    def hz_to_mel(f):
        f = np.asarray(f, dtype=np.float64)
        lin = f / (200.0 / 3)
        log = 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27)
        return np.where(f >= 1000.0, log, lin)

    def mel_to_hz(m):
        m = np.asarray(m, dtype=np.float64)
        lin = m * (200.0 / 3)
        log = 1000.0 * np.exp(np.log(6.4) / 27 * (m - 15.0))
        return np.where(m >= 15.0, log, lin)
    fft = np.linspace(0, sr / 2, n_fft // 2 + 1)
    mel = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2), n_mels + 2))
    fd = np.diff(mel)
    ramps = mel[:, None] - fft[None, :]
    w = np.zeros((n_mels, len(fft)))
    for i in range(n_mels):
        w[i] = np.maximum(0, np.minimum(-ramps[i] / fd[i],
                                        ramps[i + 2] / fd[i + 1]))
    return w * (2.0 / (mel[2:n_mels + 2] - mel[:n_mels]))[:, None]


def check_combined(path, meta):
    cfg = json.loads(meta["config"])
    tr = cfg["transformer"]
    # The feature extractor's input width is Gemma's hidden size x hidden
    # states; 2.0's output width is the hidden size, 2.3 only needs the
    # product.
    with safe_open(path, "pt") as f:
        keys = list(f.keys())
        agg = sorted(k for k in keys
                     if k.startswith("text_embedding_projection.")
                     and k.endswith("weight"))[0]
        out_f, in_f = f.get_slice(agg).get_shape()
    hidden = out_f if "caption_proj_before_connector" not in tr else in_f
    layers = in_f // hidden - 1
    set_gemma_dims(hidden, layers)
    used = set()
    for name, conf, sdops in COMPONENTS:
        m = load_component(path, cfg, name, conf, sdops)
        used |= {k for k in keys if sdops.apply_to_key(k) is not None}
        if name == "vocoder" and "bwe" in cfg["vocoder"]:
            n = check_vocoder_constants(m, cfg)
            print(f"  vocoder constants: {n} filters, STFT and mel bases ok")
    stray = sorted(set(keys) - used)
    if stray:
        raise SystemExit(f"{path}: keys no component reads: {stray[:8]}")
    print(f"{path}: {meta.get('model_version')}: {len(keys)} keys, every "
          f"component loads strictly (text projection in-features {in_f})")


def check_upsampler(path, meta):
    cfg = json.loads(meta["config"])
    m = LatentUpsamplerConfigurator.from_config(cfg)
    ref = {k: v.clone() for k, v in m.state_dict().items()}
    with safe_open(path, "pt") as f:
        sd = {k: f.get_tensor(k) for k in f.keys()}
    m.load_state_dict(sd, strict=True)
    for k, v in ref.items():
        if k.endswith("blur_down.kernel"):
            close(sd[k], v, k)
    print(f"{path}: upsampler: {len(sd)} keys load strictly")


def check_lora(path, base):
    """LoRA keys: every A/B pair names a Linear of the base transformer with
    matching shapes, as ltx-core's apply_loras pairs them."""
    with safe_open(path, "pt") as f:
        lora = {LTXV_LORA_COMFY_RENAMING_MAP.apply_to_key(k): f.get_slice(k)
                .get_shape() for k in f.keys()}
    with safe_open(base, "pt") as f:
        bsd = {LTXV_MODEL_COMFY_RENAMING_MAP.apply_to_key(k):
               f.get_slice(k).get_shape() for k in f.keys()
               if k.startswith("model.diffusion_model.")}
    n = 0
    for k, a in lora.items():
        if not k.endswith(".lora_A.weight"):
            continue
        mod = k[:-len(".lora_A.weight")]
        b = lora.get(mod + ".lora_B.weight")
        w = bsd.get(mod + ".weight")
        if b is None or w is None or a[0] != b[1] or [b[0], a[1]] != list(w):
            raise SystemExit(f"{path}: {mod}: A {a}, B {b}, base {w}")
        n += 1
    if 2 * n != len(lora):
        raise SystemExit(f"{path}: unpaired keys")
    print(f"{path}: LoRA: {n} pairs match {base}")


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "golden":
        golden(sys.argv[2])
        return
    if len(sys.argv) >= 3 and sys.argv[1] == "check":
        args = sys.argv[2:]
        base = None
        for path in args:
            with safe_open(path, "pt") as f:
                meta = f.metadata() or {}
                keys = list(f.keys())
            if any(k.startswith("diffusion_model.") for k in keys):
                check_lora(path, base)
            elif "config" in meta and "transformer" in json.loads(meta["config"]):
                check_combined(path, meta)
                base = path
            else:
                check_upsampler(path, meta)
        return
    print(__doc__)
    sys.exit(2)


if __name__ == "__main__":
    main()
