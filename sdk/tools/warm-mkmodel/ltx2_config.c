/* LTX-2 configs per variant and preset: what goes into the combined file's
 * __metadata__["config"] (and the upsampler's flat config). Production values
 * are LTX2.md §1.5's; tiny and small are self-consistent reductions. */
#include <string.h>

#include "mk_ltx2.h"

int lx_variant(const mk_ctx *c, int *v23, warm_error *err) {
  if (c->variant && strcmp(c->variant, "2.0") == 0) {
    *v23 = 0;
  } else if (c->variant && strcmp(c->variant, "2.3") == 0) {
    *v23 = 1;
  } else {
    return warm_error_set(err, WARM_EINVAL, "--variant %s: 2.0 or 2.3",
                          c->variant ? c->variant : "(missing)");
  }
  return 0;
}

int lx_preset(const mk_ctx *c, int *preset, warm_error *err) {
  static const char *const names[] = {"tiny", "small", "full"};
  for (int i = 0; i < 3; i++)
    if (strcmp(c->preset, names[i]) == 0) {
      *preset = i;
      return 0;
    }
  return warm_error_set(err, WARM_EINVAL, "--preset %s: tiny, small or full",
                        c->preset);
}

void lx_gemma_dims(int preset, int64_t *hidden, int64_t *states) {
  /* warm-mkmodel --arch gemma3: tiny 64 x 4 layers, small 256 x 6, full
   * 3840 x 48; the projection takes every hidden state (layers + 1). */
  static const int64_t h[3] = {64, 256, 3840}, l[3] = {4, 6, 48};
  *hidden = h[preset];
  *states = l[preset] + 1;
}

int lx_int(const json_t *o, const char *key, int64_t *out, warm_error *err) {
  json_t *v = json_object_get(o, key);
  if (!json_is_integer(v))
    return warm_error_set(err, WARM_EINVAL, "config key %s must be an integer",
                          key);
  *out = json_integer_value(v);
  return 0;
}

int lx_bool(const json_t *o, const char *key, int def) {
  json_t *v = json_object_get(o, key);
  return json_is_boolean(v) ? json_is_true(v) : def;
}

/* [[name, {"num_layers": n}] | [name, {"multiplier": m[, "residual": r]}]] */
static json_t *blk(const char *name, int n) {
  return json_pack("[s, {s:i}]", name, "num_layers", n);
}
static json_t *up(const char *name, int m, int residual) {
  return residual ? json_pack("[s, {s:b, s:i}]", name, "residual", 1,
                              "multiplier", m)
                  : json_pack("[s, {s:i}]", name, "multiplier", m);
}

/* The transformer sub-object (which also carries the connector keys). */
static json_t *transformer_config(int v23, int preset) {
  /* video heads x dim, audio heads x dim, layers, in/out, audio in/out */
  static const int64_t tab[3][7] = {{2, 8, 2, 4, 2, 8, 32},
                                    {4, 32, 4, 16, 4, 32, 128},
                                    {32, 128, 32, 64, 48, 128, 128}};
  const int64_t *t = tab[preset];
  int64_t hidden, states;
  lx_gemma_dims(preset, &hidden, &states);
  json_t *o = json_pack(
      "{s:f, s:b, s:n, s:s, s:i, s:b, s:b, s:b, s:b, s:b, s:s, s:b, s:s, "
      "s:s, s:b, s:b, s:b, s:b}",
      "dropout", 0.0, "attention_bias", 1, "num_vector_embeds", "activation_fn",
      "gelu-approximate", "num_embeds_ada_norm", 1000, "use_linear_projection",
      0, "only_cross_attention", 0, "cross_attention_norm", 1,
      "double_self_attention", 0, "upcast_attention", 0, "standardization_norm",
      "rms_norm", "norm_elementwise_affine", 0, "qk_norm", "rms_norm",
      "positional_embedding_type", "rope", "use_audio_video_cross_attention", 1,
      "share_ff", 0, "av_cross_ada_norm", 1, "use_middle_indices_grid", 1);
  json_t *dims = json_pack(
      "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, "
      "s:f, s:[i,i,i], s:[i], s:i, s:I, s:s, s:s, s:I, s:[i]}",
      "num_attention_heads", (json_int_t)t[0], "attention_head_dim",
      (json_int_t)t[1], "in_channels", (json_int_t)t[5], "out_channels",
      (json_int_t)t[5], "num_layers", (json_int_t)t[4], "cross_attention_dim",
      (json_int_t)(t[0] * t[1]), "audio_num_attention_heads", (json_int_t)t[2],
      "audio_attention_head_dim", (json_int_t)t[3], "audio_in_channels",
      (json_int_t)t[6], "audio_out_channels", (json_int_t)t[6],
      "audio_cross_attention_dim", (json_int_t)(t[2] * t[3]),
      "caption_channels", (json_int_t)hidden, "norm_eps", 1e-6,
      "positional_embedding_theta", 10000.0, "positional_embedding_max_pos", 20,
      2048, 2048, "audio_positional_embedding_max_pos", 20,
      "timestep_scale_multiplier", 1000, "av_ca_timestep_scale_multiplier",
      (json_int_t)1000, "rope_type", "split", "frequencies_precision",
      "float64", "connector_num_layers",
      (json_int_t)(preset == 2 ? (v23 ? 8 : 2) : 2),
      "connector_positional_embedding_max_pos", 4096);
  json_object_update(o, dims);
  json_decref(dims);
  if (!v23) {
    /* 2.0: the connectors run at the Gemma width (caption_channels). */
    int64_t ch = preset == 2 ? 30 : 2;
    json_object_set_new(o, "connector_num_attention_heads", json_integer(ch));
    json_object_set_new(o, "connector_attention_head_dim",
                        json_integer(hidden / ch));
  } else {
    /* 2.3: the connectors run at the transformer widths. */
    json_t *v = json_pack(
        "{s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:I, s:I, s:I, s:I}",
        "apply_gated_attention", 1, "cross_attention_adaln", 1,
        "connector_apply_gated_attention", 1, "caption_proj_before_connector",
        1, "caption_projection_first_linear", 0, "caption_proj_input_norm", 0,
        "caption_projection_second_linear", 0, "connector_num_attention_heads",
        (json_int_t)t[0], "connector_attention_head_dim", (json_int_t)t[1],
        "audio_connector_num_attention_heads", (json_int_t)t[2],
        "audio_connector_attention_head_dim", (json_int_t)t[3]);
    json_object_update(o, v);
    json_decref(v);
  }
  return o;
}

static json_t *vae_config(int v23, int preset, int64_t latent) {
  json_t *enc = json_array(), *dec = json_array();
  if (preset == 2) {
    int el[5] = {4, 6, v23 ? 4 : 6, 2, 2};
    json_array_append_new(enc, blk("res_x", el[0]));
    json_array_append_new(enc, up("compress_space_res", 2, 0));
    json_array_append_new(enc, blk("res_x", el[1]));
    json_array_append_new(enc, up("compress_time_res", 2, 0));
    json_array_append_new(enc, blk("res_x", el[2]));
    json_array_append_new(enc, up("compress_all_res", 2, 0));
    json_array_append_new(enc, blk("res_x", el[3]));
    json_array_append_new(enc, up("compress_all_res", v23 ? 1 : 2, 0));
    json_array_append_new(enc, blk("res_x", el[4]));
  } else {
    json_array_append_new(enc, blk("res_x", 1));
    json_array_append_new(enc, up("compress_space_res", 2, 0));
    json_array_append_new(enc, blk("res_x", 1));
    json_array_append_new(enc, up("compress_time_res", 2, 0));
    json_array_append_new(enc, blk("res_x", 1));
    json_array_append_new(enc, up("compress_all_res", 2, 0));
    json_array_append_new(enc, blk("res_x", 1));
    json_array_append_new(enc, up("compress_all_res", v23 ? 1 : 2, 0));
    json_array_append_new(enc, blk("res_x", 1));
  }
  int full = preset == 2;
  if (!v23) {
    for (int i = 0; i < 4; i++) {
      json_array_append_new(dec, blk("res_x", full ? 5 : 1));
      if (i < 3) json_array_append_new(dec, up("compress_all", 2, 1));
    }
  } else {
    int dl[5] = {4, 6, 4, 2, 2};
    json_array_append_new(dec, blk("res_x", full ? dl[0] : 1));
    json_array_append_new(dec, up("compress_all", 2, 0));
    json_array_append_new(dec, blk("res_x", full ? dl[1] : 1));
    json_array_append_new(dec, up("compress_all", 2, 0));
    json_array_append_new(dec, blk("res_x", full ? dl[2] : 1));
    json_array_append_new(dec, up("compress_time", 1, 0));
    json_array_append_new(dec, blk("res_x", full ? dl[3] : 1));
    json_array_append_new(dec, up("compress_space", 2, 0));
    json_array_append_new(dec, blk("res_x", full ? dl[4] : 1));
  }
  static const int base[3] = {8, 32, 128};
  return json_pack("{s:i, s:I, s:i, s:s, s:s, s:s, s:b, s:b, s:i, s:o, s:o}",
                   "dims", 3, "latent_channels", (json_int_t)latent,
                   "patch_size", 4, "norm_layer", "pixel_norm",
                   "latent_log_var", "uniform", "spatial_padding_mode",
                   v23 ? "zeros" : "reflect", "causal_decoder", 0,
                   "timestep_conditioning", 0, "decoder_base_channels",
                   base[preset], "encoder_blocks", enc, "decoder_blocks", dec);
}

static json_t *audio_vae_config(int preset) {
  /* The per-channel statistics have `ch` entries, which must equal
   * z_channels x mel_bins / 4 (the patchified latent width). */
  static const int ch[3] = {32, 128, 128}, z[3] = {2, 8, 8},
                   nres[3] = {1, 2, 2};
  json_t *dd = json_pack(
      "{s:i, s:i, s:[i,i,i], s:i, s:[], s:i, s:i, s:b, s:i, s:s, s:s, s:b, "
      "s:i, s:f}",
      "ch", ch[preset], "out_ch", 2, "ch_mult", 1, 2, 4, "num_res_blocks",
      nres[preset], "attn_resolutions", "resolution", 256, "z_channels",
      z[preset], "double_z", 1, "in_channels", 2, "norm_type", "pixel",
      "causality_axis", "height", "mid_block_add_attention", 0, "mel_bins", 64,
      "dropout", 0.0);
  return json_pack("{s:{s:{s:o, s:i}}, s:{s:{s:i, s:i, s:b}, s:{s:i}}}",
                   "model", "params", "ddconfig", dd, "sampling_rate", 16000,
                   "preprocessing", "stft", "hop_length", 160, "filter_length",
                   1024, "causal", 1, "mel", "n_mel_channels", 64);
}

/* One generator's keys (2.0 flat; 2.3 "vocoder" / "bwe"). */
static json_t *gen_config(int amp, int init, const int *rates,
                          const int *kernels, int n_up, int n_rb) {
  json_t *r = json_array(), *k = json_array(), *rk = json_array(),
         *dil = json_array();
  static const int rbk[3] = {3, 7, 11};
  for (int i = 0; i < n_up; i++) {
    json_array_append_new(r, json_integer(rates[i]));
    json_array_append_new(k, json_integer(kernels[i]));
  }
  for (int i = 0; i < n_rb; i++) {
    json_array_append_new(rk, json_integer(rbk[i]));
    json_array_append_new(dil, json_pack("[i,i,i]", 1, 3, 5));
  }
  json_t *o = json_pack("{s:s, s:b, s:o, s:o, s:o, s:o, s:i}", "resblock",
                        amp ? "AMP1" : "1", "stereo", 1,
                        "resblock_kernel_sizes", rk, "upsample_rates", r,
                        "upsample_kernel_sizes", k, "resblock_dilation_sizes",
                        dil, "upsample_initial_channel", init);
  if (amp) {
    json_object_set_new(o, "activation", json_string("snakebeta"));
    json_object_set_new(o, "use_tanh_at_final", json_false());
    json_object_set_new(o, "use_bias_at_final", json_false());
  }
  return o;
}

static json_t *vocoder_config(int v23, int preset) {
  static const int r20[5] = {6, 5, 2, 2, 2}, k20[5] = {16, 15, 8, 4, 4};
  static const int r23[6] = {5, 2, 2, 2, 2, 2}, k23[6] = {11, 4, 4, 4, 4, 4};
  static const int rbwe[5] = {6, 5, 2, 2, 2}, kbwe[5] = {12, 11, 4, 4, 4};
  int n_rb = preset == 2 ? 3 : 2;
  if (!v23) {
    static const int init[3] = {64, 256, 1024};
    json_t *o = gen_config(0, init[preset], r20, k20, 5, n_rb);
    json_object_set_new(o, "output_sampling_rate", json_integer(24000));
    return o;
  }
  static const int vinit[3] = {64, 256, 1536}, binit[3] = {32, 128, 512};
  json_t *bwe = gen_config(1, binit[preset], rbwe, kbwe, 5, n_rb);
  json_t *extra = json_pack("{s:i, s:i, s:i, s:i, s:i}", "input_sampling_rate",
                            16000, "output_sampling_rate", 48000, "n_fft", 512,
                            "hop_length", 80, "num_mels", 64);
  json_object_update(bwe, extra);
  json_decref(extra);
  return json_pack("{s:o, s:o}", "vocoder",
                   gen_config(1, vinit[preset], r23, k23, 6, n_rb), "bwe", bwe);
}

int lx_config(const mk_ctx *c, int v23, int preset, json_t **out,
              warm_error *err) {
  *out = NULL;
  json_t *tr = transformer_config(v23, preset);
  int64_t latent = 0;
  lx_int(tr, "in_channels", &latent, err);
  json_t *cfg = json_pack("{s:o, s:o, s:o, s:o}", "transformer", tr, "vae",
                          vae_config(v23, preset, latent), "audio_vae",
                          audio_vae_config(preset), "vocoder",
                          vocoder_config(v23, preset));
  if (!cfg) return warm_error_set(err, WARM_ENOMEM, "cannot build the config");
  int rc = mk_config_apply_sets(cfg, c, NULL, err);
  if (rc) {
    json_decref(cfg);
    return rc;
  }
  *out = cfg;
  return 0;
}

int lx_upsampler_config(const mk_ctx *c, int v23, int preset, json_t **out,
                        warm_error *err) {
  static const int in[3] = {8, 32, 128}, mid[3] = {32, 128, 1024},
                   nb[3] = {1, 2, 4};
  json_t *cfg = json_pack("{s:i, s:i, s:i, s:i, s:b, s:b, s:f, s:b}",
                          "in_channels", in[preset], "mid_channels",
                          mid[preset], "num_blocks_per_stage", nb[preset],
                          "dims", 3, "spatial_upsample", 1, "temporal_upsample",
                          0, "spatial_scale", 2.0, "rational_resampler", !v23);
  if (!cfg) return warm_error_set(err, WARM_ENOMEM, "cannot build the config");
  int rc = mk_config_apply_sets(cfg, c, NULL, err);
  if (rc) {
    json_decref(cfg);
    return rc;
  }
  *out = cfg;
  return 0;
}
