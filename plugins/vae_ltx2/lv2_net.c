/* config.vae of an LTX-2 combined checkpoint -> the VideoDecoder's
 * structure (ltx-core video_vae.py: decoder_blocks reversed) and its tensor
 * table under "vae.decoder." / "vae.per_channel_statistics.". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lv2.h"

#define P WARM_LTX2_VAE_DEC

static int conv_add_at(lxc_tab *tb, warm_dtype dt, const char *prefix,
                       const char *name, int64_t ci, int64_t co, int64_t k,
                       lv2_conv *c) {
  char n[120];
  snprintf(n, sizeof n, "%s.conv.weight", name);
  c->w = lxc_tab_add(tb, dt, 1, prefix, n, 5, co, ci, k, k, k);
  snprintf(n, sizeof n, "%s.conv.bias", name);
  c->b = lxc_tab_add(tb, dt, 0, prefix, n, 1, co);
  c->ci = ci;
  c->co = co;
  c->k = k;
  return 0;
}

static int conv_add(lxc_tab *tb, warm_dtype dt, const char *name, int64_t ci,
                    int64_t co, int64_t k, lv2_conv *c) {
  return conv_add_at(tb, dt, P, name, ci, co, k, c);
}

static void temb_add(lxc_tab *tb, warm_dtype dt, const char *name, int64_t dim,
                     lv2_temb *t) {
  char n[160];
  snprintf(n, sizeof n, "%s.timestep_embedder.linear_1.weight", name);
  t->l1w = lxc_tab_add(tb, dt, 1, P, n, 2, dim, (int64_t)LXC_TPROJ);
  snprintf(n, sizeof n, "%s.timestep_embedder.linear_1.bias", name);
  t->l1b = lxc_tab_add(tb, dt, 0, P, n, 1, dim);
  snprintf(n, sizeof n, "%s.timestep_embedder.linear_2.weight", name);
  t->l2w = lxc_tab_add(tb, dt, 1, P, n, 2, dim, dim);
  snprintf(n, sizeof n, "%s.timestep_embedder.linear_2.bias", name);
  t->l2b = lxc_tab_add(tb, dt, 0, P, n, 1, dim);
  t->dim = dim;
}

static void no_temb(lv2_temb *t) {
  t->l1w = t->l1b = t->l2w = t->l2b = -1;
  t->dim = 0;
}

int64_t lv2_frames_of(const lv2_dec *d, int64_t F) {
  return (F - 1) * d->tcomp + 1;
}

/* One decoder_blocks entry: [name, int | {num_layers, multiplier,
 * residual}] (the reference accepts both forms for res_x). */
static int block_parse(const warm_config *c, const char *file, const char *list,
                       size_t i, const char **name, int64_t *layers,
                       int64_t *mult, int *residual, warm_error *err) {
  char key[64];
  snprintf(key, sizeof key, "%s.%zu.0", list, i);
  int rc = warm_config_string(c, key, name, err);
  if (rc) return rc;
  snprintf(key, sizeof key, "%s.%zu.1", list, i);
  *layers = 1;
  *mult = 1;
  *residual = 0;
  if (!warm_config_has(c, key))
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: config.vae.%s is missing (a block is [name, "
                          "params])",
                          file, key);
  int64_t v;
  warm_error e2;
  if (warm_config_int(c, key, &v, &e2) == 0) {
    *layers = v;
    return 0;
  }
  char sub[96];
  snprintf(sub, sizeof sub, "%s.num_layers", key);
  if ((rc = warm_config_int_or(c, sub, 1, layers, err))) return rc;
  snprintf(sub, sizeof sub, "%s.multiplier", key);
  if ((rc = warm_config_int_or(c, sub, 1, mult, err))) return rc;
  snprintf(sub, sizeof sub, "%s.residual", key);
  if ((rc = warm_config_bool_or(c, sub, 0, residual, err))) return rc;
  snprintf(sub, sizeof sub, "%s.inject_noise", key);
  int inject = 0;
  if ((rc = warm_config_bool_or(c, sub, 0, &inject, err))) return rc;
  if (inject)
    return warm_error_set(err, WARM_EUNSUPPORTED,
                          "%s: config.vae.%s[%zu] injects noise; LTX-2 VAEs "
                          "do not and this plugin does not",
                          file, list, i);
  return 0;
}

int lv2_dec_build(const warm_ltx2 *f, warm_dtype dt, lv2_dec *d, lxc_tab *tb,
                  warm_error *err) {
  const char *file = warm_ltx2_path(f);
  const warm_config *c;
  int rc = warm_ltx2_config(f, "vae", &c, err);
  if (rc) return rc;
  memset(d, 0, sizeof *d);
  int64_t dims, base;
  const char *norm, *pad;
  if ((rc = warm_config_int_or(c, "dims", 3, &dims, err)) ||
      (rc = warm_config_int_or(c, "latent_channels", 128, &d->latent_channels,
                               err)) ||
      (rc = warm_config_int_or(c, "out_channels", 3, &d->out_channels, err)) ||
      (rc = warm_config_int_or(c, "patch_size", 4, &d->patch_size, err)) ||
      (rc = warm_config_string_or(c, "norm_layer", "pixel_norm", &norm, err)) ||
      (rc = warm_config_bool_or(c, "causal_decoder", 0, &d->causal, err)) ||
      (rc = warm_config_bool_or(c, "timestep_conditioning", 1, &d->tc, err)) ||
      (rc = warm_config_int_or(c, "decoder_base_channels", 128, &base, err)) ||
      (rc = warm_config_string_or(c, "spatial_padding_mode", "reflect", &pad,
                                  err)))
    return rc;
  if (dims != 3)
    return warm_error_set(err, WARM_EUNSUPPORTED,
                          "%s: config.vae.dims is %lld; only 3-D VAEs are "
                          "supported",
                          file, (long long)dims);
  if (strcmp(norm, "pixel_norm"))
    return warm_error_set(err, WARM_EUNSUPPORTED,
                          "%s: config.vae.norm_layer \"%s\" is not supported "
                          "(pixel_norm)",
                          file, norm);
  if (!strcmp(pad, "reflect"))
    d->spad = WK_PAD_REFLECT;
  else if (!strcmp(pad, "zeros"))
    d->spad = WK_PAD_ZEROS;
  else if (!strcmp(pad, "replicate"))
    d->spad = WK_PAD_REPLICATE;
  else
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: config.vae.spatial_padding_mode \"%s\" is not "
                          "one of zeros, reflect, replicate",
                          file, pad);
  if (d->latent_channels < 1 || d->latent_channels > 4096 ||
      d->out_channels < 1 || d->out_channels > 16 || d->patch_size < 1 ||
      d->patch_size > 16 || base < 1 || base > 4096)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: config.vae sizes out of range (latent %lld, "
                          "out %lld, patch %lld, base %lld)",
                          file, (long long)d->latent_channels,
                          (long long)d->out_channels, (long long)d->patch_size,
                          (long long)base);
  size_t nb;
  if ((rc = warm_config_array_len(c, "decoder_blocks", &nb, err))) return rc;
  if (nb == 0 || nb > LV2_MAX_BLOCKS)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: config.vae.decoder_blocks has %zu blocks "
                          "(1..%d)",
                          file, nb, LV2_MAX_BLOCKS);
  int64_t ch = base * 8;
  conv_add(tb, dt, "conv_in", d->latent_channels, ch, 3, &d->conv_in);
  d->tcomp = 1;
  d->scomp = d->patch_size;
  for (size_t i = 0; i < nb; i++) {
    const char *name;
    int64_t layers, mult;
    int residual;
    size_t src = nb - 1 - i; /* the reference builds them reversed */
    if ((rc = block_parse(c, file, "decoder_blocks", src, &name, &layers, &mult,
                          &residual, err)))
      return rc;
    lv2_block *b = &d->blocks[i];
    char pre[64];
    snprintf(pre, sizeof pre, "up_blocks.%zu", i);
    b->ci = ch;
    if (!strcmp(name, "res_x")) {
      if (layers < 1 || layers > LV2_MAX_RES)
        return warm_error_set(err, WARM_EFORMAT,
                              "%s: config.vae.decoder_blocks[%zu] res_x has "
                              "%lld layers (1..%d)",
                              file, src, (long long)layers, LV2_MAX_RES);
      b->kind = LV2_RES;
      b->n_res = (int)layers;
      b->co = ch;
      if (d->tc) {
        char n[96];
        snprintf(n, sizeof n, "%s.time_embedder", pre);
        temb_add(tb, dt, n, 4 * ch, &b->temb);
      } else
        no_temb(&b->temb);
      for (int j = 0; j < b->n_res; j++) {
        char n[96];
        snprintf(n, sizeof n, "%s.res_blocks.%d.conv1", pre, j);
        conv_add(tb, dt, n, ch, ch, 3, &b->res[j].conv1);
        snprintf(n, sizeof n, "%s.res_blocks.%d.conv2", pre, j);
        conv_add(tb, dt, n, ch, ch, 3, &b->res[j].conv2);
        b->res[j].sst = -1;
        if (d->tc) {
          snprintf(n, sizeof n, "%s.res_blocks.%d.scale_shift_table", pre, j);
          b->res[j].sst = lxc_tab_add(tb, dt, 0, P, n, 2, (int64_t)4, ch);
        }
      }
    } else if (!strcmp(name, "compress_time") ||
               !strcmp(name, "compress_space") ||
               !strcmp(name, "compress_all")) {
      b->kind = LV2_D2S;
      b->st = name[9] == 's' ? 1 : 2;
      b->sh = b->sw = name[9] == 't' ? 1 : 2;
      b->mult = (int)mult;
      b->residual = name[9] == 'a' ? residual : 0;
      int64_t prod = (int64_t)b->st * b->sh * b->sw;
      if (mult < 1 || ch % mult || (prod * ch) % mult || (ch / mult) < 1)
        return warm_error_set(err, WARM_EFORMAT,
                              "%s: config.vae.decoder_blocks[%zu] %s: "
                              "multiplier %lld does not divide %lld channels",
                              file, src, name, (long long)mult, (long long)ch);
      if (b->residual && (ch % prod || (prod % mult)))
        return warm_error_set(err, WARM_EFORMAT,
                              "%s: config.vae.decoder_blocks[%zu] %s: the "
                              "residual needs channels divisible by %lld",
                              file, src, name, (long long)prod);
      char n[96];
      snprintf(n, sizeof n, "%s.conv", pre);
      conv_add(tb, dt, n, ch, prod * ch / mult, 3, &b->conv);
      b->co = ch / mult;
      ch = b->co;
      d->tcomp *= b->st;
      d->scomp *= b->sh;
    } else {
      return warm_error_set(err, WARM_EUNSUPPORTED,
                            "%s: config.vae.decoder_blocks[%zu] is \"%s\"; "
                            "supported: res_x, compress_time, compress_space, "
                            "compress_all",
                            file, src, name);
    }
  }
  d->n_blocks = (int)nb;
  d->final_channels = ch;
  int64_t cout = d->out_channels * d->patch_size * d->patch_size;
  conv_add(tb, dt, "conv_out", ch, cout, 3, &d->conv_out);
  no_temb(&d->last_temb);
  d->last_sst = d->tsm = -1;
  if (d->tc) {
    temb_add(tb, dt, "last_time_embedder", 2 * ch, &d->last_temb);
    d->last_sst =
        lxc_tab_add(tb, dt, 0, P, "last_scale_shift_table", 2, (int64_t)2, ch);
    d->tsm = lxc_tab_add(tb, dt, 0, P, "timestep_scale_multiplier", 0);
  }
  d->mean = lxc_tab_add(tb, dt, 0, WARM_LTX2_VAE_STATS, "mean-of-means", 1,
                        d->latent_channels);
  d->std = lxc_tab_add(tb, dt, 0, WARM_LTX2_VAE_STATS, "std-of-means", 1,
                       d->latent_channels);
  return lxc_tab_check(tb, warm_ltx2_st(f), file, err);
}

/* The encoder (video_vae.py VideoEncoder), when the file has one and the
 * instance wants it. Blocks: res_x and compress_{time,space,all}_res. */
int lv2_enc_build(const warm_ltx2 *f, warm_dtype dt, int want, lv2_enc *e,
                  lxc_tab *tb, warm_error *err) {
  const char *file = warm_ltx2_path(f);
  const char *EP = WARM_LTX2_VAE_ENC;
  memset(e, 0, sizeof *e);
  if (!want || !warm_ltx2_find(f, EP, "conv_in.conv.weight")) return 0;
  const warm_config *c;
  int rc = warm_ltx2_config(f, "vae", &c, err);
  if (rc) return rc;
  const char *pad, *logvar;
  if ((rc = warm_config_int_or(c, "in_channels", 3, &e->in_channels, err)) ||
      (rc = warm_config_int_or(c, "latent_channels", 128, &e->latent_channels,
                               err)) ||
      (rc = warm_config_int_or(c, "patch_size", 4, &e->patch_size, err)) ||
      (rc = warm_config_string_or(c, "spatial_padding_mode", "zeros", &pad,
                                  err)) ||
      (rc =
           warm_config_string_or(c, "latent_log_var", "uniform", &logvar, err)))
    return rc;
  e->spad = !strcmp(pad, "reflect")     ? WK_PAD_REFLECT
            : !strcmp(pad, "replicate") ? WK_PAD_REPLICATE
                                        : WK_PAD_ZEROS;
  int64_t L = e->latent_channels;
  if (!strcmp(logvar, "uniform") || !strcmp(logvar, "constant"))
    e->out_channels = L + 1;
  else if (!strcmp(logvar, "per_channel"))
    e->out_channels = 2 * L;
  else if (!strcmp(logvar, "none"))
    e->out_channels = L;
  else
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: config.vae.latent_log_var \"%s\" is not one of "
                          "uniform, constant, per_channel, none",
                          file, logvar);
  if (e->in_channels < 1 || e->in_channels > 16 || e->patch_size < 1 ||
      e->patch_size > 16)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: config.vae in_channels %lld / patch_size %lld "
                          "out of range",
                          file, (long long)e->in_channels,
                          (long long)e->patch_size);
  size_t nb;
  if ((rc = warm_config_array_len(c, "encoder_blocks", &nb, err))) return rc;
  if (nb > LV2_MAX_BLOCKS)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: config.vae.encoder_blocks has %zu blocks (at "
                          "most %d)",
                          file, nb, LV2_MAX_BLOCKS);
  int64_t ch = L;
  conv_add_at(tb, dt, EP, "conv_in",
              e->in_channels * e->patch_size * e->patch_size, ch, 3,
              &e->conv_in);
  e->tcomp = 1;
  e->scomp = e->patch_size;
  for (size_t i = 0; i < nb; i++) {
    const char *name;
    int64_t layers, mult;
    int residual;
    if ((rc = block_parse(c, file, "encoder_blocks", i, &name, &layers, &mult,
                          &residual, err)))
      return rc;
    lv2_block *b = &e->blocks[i];
    char pre[64];
    snprintf(pre, sizeof pre, "down_blocks.%zu", i);
    b->ci = ch;
    b->temb.l1w = b->temb.l1b = b->temb.l2w = b->temb.l2b = -1;
    if (!strcmp(name, "res_x")) {
      if (layers < 1 || layers > LV2_MAX_RES)
        return warm_error_set(err, WARM_EFORMAT,
                              "%s: config.vae.encoder_blocks[%zu] res_x has "
                              "%lld layers (1..%d)",
                              file, i, (long long)layers, LV2_MAX_RES);
      b->kind = LV2_RES;
      b->n_res = (int)layers;
      b->co = ch;
      for (int j = 0; j < b->n_res; j++) {
        char n[96];
        snprintf(n, sizeof n, "%s.res_blocks.%d.conv1", pre, j);
        conv_add_at(tb, dt, EP, n, ch, ch, 3, &b->res[j].conv1);
        snprintf(n, sizeof n, "%s.res_blocks.%d.conv2", pre, j);
        conv_add_at(tb, dt, EP, n, ch, ch, 3, &b->res[j].conv2);
        b->res[j].sst = -1;
      }
    } else if (!strcmp(name, "compress_time_res") ||
               !strcmp(name, "compress_space_res") ||
               !strcmp(name, "compress_all_res")) {
      /* SpaceToDepthDownsample; the multiplier defaults to 2 here. */
      char k2[96];
      snprintf(k2, sizeof k2, "encoder_blocks.%zu.1.multiplier", i);
      if (!warm_config_has(c, k2)) mult = 2;
      b->kind = LV2_S2D;
      b->st = name[9] == 's' ? 1 : 2;
      b->sh = b->sw = name[9] == 't' ? 1 : 2;
      int64_t prod = (int64_t)b->st * b->sh * b->sw;
      b->co = ch * mult;
      if (mult < 1 || b->co % prod || (ch * prod) % b->co)
        return warm_error_set(err, WARM_EFORMAT,
                              "%s: config.vae.encoder_blocks[%zu] %s: "
                              "multiplier %lld does not fit %lld channels",
                              file, i, name, (long long)mult, (long long)ch);
      b->group = ch * prod / b->co;
      char n[96];
      snprintf(n, sizeof n, "%s.conv", pre);
      conv_add_at(tb, dt, EP, n, ch, b->co / prod, 3, &b->conv);
      ch = b->co;
      e->tcomp *= b->st;
      e->scomp *= b->sh;
    } else {
      return warm_error_set(err, WARM_EUNSUPPORTED,
                            "%s: config.vae.encoder_blocks[%zu] is \"%s\"; "
                            "supported: res_x, compress_time_res, "
                            "compress_space_res, compress_all_res",
                            file, i, name);
    }
  }
  e->n_blocks = (int)nb;
  e->final_channels = ch;
  conv_add_at(tb, dt, EP, "conv_out", ch, e->out_channels, 3, &e->conv_out);
  e->present = 1;
  return lxc_tab_check(tb, warm_ltx2_st(f), file, err);
}

int lv2_parse_opts(const warm_component_config *cfg, lv2_opts *o,
                   warm_error *err) {
  static const char *const known[] = {
      "tiling",      "tile_size",           "tile_overlap",
      "tile_frames", "tile_frames_overlap", "threads",
      "noise_seed",  "decode_timestep",     "encoder",
      "encode_frames", "pack_weights", NULL};
  o->tiling = 1;
  o->tile_size = 512;
  o->tile_overlap = 64;
  o->tile_frames = 64;
  o->tile_frames_overlap = 24;
  o->threads = 0;
  o->noise_seed = 0;
  o->decode_timestep = 0.05;
  o->encoder = 1;
  o->pack_weights = 0;
  const char *who = LV2_NAME;
  int rc = lxc_keys_known(cfg, known, who, err);
  if (!rc) rc = lxc_key_bool(cfg, "tiling", &o->tiling, err);
  if (!rc) rc = lxc_key_bool(cfg, "encoder", &o->encoder, err);
  if (!rc) rc = lxc_key_bool(cfg, "pack_weights", &o->pack_weights, err);
  if (!rc) rc = lxc_key_int(cfg, "tile_size", 64, 1 << 16, &o->tile_size, err);
  if (!rc)
    rc = lxc_key_int(cfg, "tile_overlap", 0, 1 << 16, &o->tile_overlap, err);
  if (!rc)
    rc = lxc_key_int(cfg, "tile_frames", 16, 1 << 16, &o->tile_frames, err);
  if (!rc)
    rc = lxc_key_int(cfg, "tile_frames_overlap", 0, 1 << 16,
                     &o->tile_frames_overlap, err);
  if (!rc) rc = lxc_key_int(cfg, "threads", 0, 1024, &o->threads, err);
  if (!rc)
    rc = lxc_key_int(cfg, "noise_seed", 0, INT64_MAX, &o->noise_seed, err);
  o->encode_frames = 0;
  if (!rc)
    rc = lxc_key_int(cfg, "encode_frames", 0, 100000, &o->encode_frames, err);
  if (rc) return rc;
  for (uint32_t i = 0; cfg && i < cfg->n_keys; i++)
    if (!strcmp(cfg->keys[i].key, "decode_timestep")) {
      char *end = NULL;
      double x = strtod(cfg->keys[i].value, &end);
      if (end == cfg->keys[i].value || *end || !(x >= 0) || x > 1e4)
        return warm_error_set(err, WARM_EINVAL,
                              "[component %s] decode_timestep = \"%s\": "
                              "expected a number in [0, 10000]",
                              cfg->name ? cfg->name : "?", cfg->keys[i].value);
      o->decode_timestep = x;
    }
  /* The reference's TilingConfig rules. */
  const char *bad = NULL;
  if (o->tile_size % 32 || o->tile_overlap % 32)
    bad = "tile_size and tile_overlap must be multiples of 32";
  else if (o->tile_overlap >= o->tile_size)
    bad = "tile_overlap must be below tile_size";
  else if (o->tile_frames % 8 || o->tile_frames_overlap % 8)
    bad = "tile_frames and tile_frames_overlap must be multiples of 8";
  else if (o->tile_frames_overlap >= o->tile_frames)
    bad = "tile_frames_overlap must be below tile_frames";
  if (bad)
    return warm_error_set(err, WARM_EINVAL, "[component %s] %s",
                          cfg && cfg->name ? cfg->name : "?", bad);
  return 0;
}
