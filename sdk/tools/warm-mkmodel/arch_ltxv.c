/* warm-mkmodel --arch ltxv: a diffusers LTXVideoTransformer3DModel
 * (config.json keys and tensor names as diffusers writes them) with random
 * weights, as diffusion_pytorch_model.safetensors so diffusers'
 * from_pretrained and transformer_ltxv.so both load the folder.
 *
 * Presets: tiny (tests), small (cpu benchmarks), full (LTX-Video 2B:
 * 28 layers of width 2048). Any config key can be --set; the tensor shapes
 * follow the config after --set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mkmodel.h"

/* 1 / sqrt(x) for x >= 1 by Newton's method (warm-mkmodel links no libm). */
static double ltxv_rsqrt(double x) {
  double y = 1.0 / x;
  for (int i = 0; i < 200; i++)
    y = y * (1.5 - 0.5 * x * y * y);
  return y;
}

/* One file unless --max-shard-bytes asks for shards (then the files keep
 * the SDK's model-*.safetensors names, which diffusers does not read). */
#define LTXV_ONE_FILE (1ull << 46)

typedef struct ltxv_preset {
  const char *name;
  int64_t in_ch, heads, head_dim, layers, caption;
} ltxv_preset;

static const ltxv_preset ltxv_presets[] = {
    {"tiny", 8, 2, 8, 2, 24},
    {"small", 32, 4, 32, 4, 256},
    {"full", 128, 32, 64, 28, 4096},
};

static json_t *ltxv_config(const mk_ctx *c, const ltxv_preset *p,
                           warm_error *err) {
  json_t *t = json_object();
  json_object_set_new(t, "_class_name",
                      json_string("LTXVideoTransformer3DModel"));
  json_object_set_new(t, "_diffusers_version", json_string("0.32.0"));
  json_object_set_new(t, "in_channels", json_integer(p->in_ch));
  json_object_set_new(t, "out_channels", json_integer(p->in_ch));
  json_object_set_new(t, "patch_size", json_integer(1));
  json_object_set_new(t, "patch_size_t", json_integer(1));
  json_object_set_new(t, "num_attention_heads", json_integer(p->heads));
  json_object_set_new(t, "attention_head_dim", json_integer(p->head_dim));
  json_object_set_new(t, "cross_attention_dim",
                      json_integer(p->heads * p->head_dim));
  json_object_set_new(t, "num_layers", json_integer(p->layers));
  json_object_set_new(t, "activation_fn", json_string("gelu-approximate"));
  json_object_set_new(t, "qk_norm", json_string("rms_norm_across_heads"));
  json_object_set_new(t, "norm_elementwise_affine", json_false());
  json_object_set_new(t, "norm_eps", json_real(1e-6));
  json_object_set_new(t, "caption_channels", json_integer(p->caption));
  json_object_set_new(t, "attention_bias", json_true());
  json_object_set_new(t, "attention_out_bias", json_true());
  if (mk_config_apply_sets(t, c, NULL, err)) {
    json_decref(t);
    return NULL;
  }
  /* The caption projection feeds cross-attention: keep the widths equal
   * when only the heads were changed. */
  if (!mk_set_get(c, "cross_attention_dim")) {
    int64_t h = 0, d = 0;
    if (mk_config_dim(t, "num_attention_heads", &h, err) ||
        mk_config_dim(t, "attention_head_dim", &d, err)) {
      json_decref(t);
      return NULL;
    }
    json_object_set_new(t, "cross_attention_dim", json_integer(h * d));
  }
  if (!mk_set_get(c, "out_channels"))
    json_object_set(t, "out_channels", json_object_get(t, "in_channels"));
  return t;
}

static int add2(mk_plan *p, int64_t n, int64_t k, warm_error *err,
                const char *pfx, const char *name) {
  int64_t s[2] = {n, k};
  return mk_plan_add(p, MK_NORMAL, 0, (float)(ltxv_rsqrt((double)k)), 2, s, err,
                     "%s%s", pfx, name);
}
static int add1(mk_plan *p, int64_t n, float mean, float sd, warm_error *err,
                const char *pfx, const char *name) {
  int64_t s[1] = {n};
  return mk_plan_add(p, MK_NORMAL, mean, sd, 1, s, err, "%s%s", pfx, name);
}
/* A Linear: weight N(0, 1/sqrt(fan_in)), bias N(0, 0.02) when `bias`. */
static int lin(mk_plan *p, int64_t n, int64_t k, int bias, warm_error *err,
               const char *pfx, const char *name) {
  char nm[128];
  snprintf(nm, sizeof nm, "%s.weight", name);
  int rc = add2(p, n, k, err, pfx, nm);
  if (!rc && bias) {
    snprintf(nm, sizeof nm, "%s.bias", name);
    rc = add1(p, n, 0, 0.02f, err, pfx, nm);
  }
  return rc;
}

static int ltxv_plan(json_t *t, mk_plan *p, warm_error *err) {
  int64_t in, out, H, Dh, X, L, cap;
  int rc;
  if ((rc = mk_config_dim(t, "in_channels", &in, err)) ||
      (rc = mk_config_dim(t, "out_channels", &out, err)) ||
      (rc = mk_config_dim(t, "num_attention_heads", &H, err)) ||
      (rc = mk_config_dim(t, "attention_head_dim", &Dh, err)) ||
      (rc = mk_config_dim(t, "cross_attention_dim", &X, err)) ||
      (rc = mk_config_dim(t, "num_layers", &L, err)) ||
      (rc = mk_config_dim(t, "caption_channels", &cap, err)))
    return rc;
  int ab = !json_is_false(json_object_get(t, "attention_bias"));
  int ob = !json_is_false(json_object_get(t, "attention_out_bias"));
  int aff = json_is_true(json_object_get(t, "norm_elementwise_affine"));
  int64_t D = H * Dh;
  float tsd = (float)(ltxv_rsqrt((double)D));
  int64_t s2[2] = {2, D}, s6[2] = {6, D};
  if ((rc = lin(p, D, in, 1, err, "", "proj_in")) ||
      (rc = mk_plan_add(p, MK_NORMAL, 0, tsd, 2, s2, err,
                        "scale_shift_table")) ||
      (rc = lin(p, D, 256, 1, err, "",
                "time_embed.emb.timestep_embedder.linear_1")) ||
      (rc = lin(p, D, D, 1, err, "",
                "time_embed.emb.timestep_embedder.linear_2")) ||
      (rc = lin(p, 6 * D, D, 1, err, "", "time_embed.linear")) ||
      (rc = lin(p, D, cap, 1, err, "", "caption_projection.linear_1")) ||
      (rc = lin(p, D, D, 1, err, "", "caption_projection.linear_2")))
    return rc;
  for (int64_t l = 0; l < L; l++) {
    char b[64];
    snprintf(b, sizeof b, "transformer_blocks.%lld.", (long long)l);
    if (aff && ((rc = add1(p, D, 1, 0.1f, err, b, "norm1.weight")) ||
                (rc = add1(p, D, 1, 0.1f, err, b, "norm2.weight"))))
      return rc;
    for (int a = 1; a <= 2; a++) {
      char n[32];
      int64_t kin = a == 1 ? D : X;
#define A(suffix) (snprintf(n, sizeof n, "attn%d.%s", a, suffix), n)
      if ((rc = add1(p, D, 1, 0.1f, err, b, A("norm_q.weight"))) ||
          (rc = add1(p, D, 1, 0.1f, err, b, A("norm_k.weight"))) ||
          (rc = lin(p, D, D, ab, err, b, A("to_q"))) ||
          (rc = lin(p, D, kin, ab, err, b, A("to_k"))) ||
          (rc = lin(p, D, kin, ab, err, b, A("to_v"))) ||
          (rc = lin(p, D, D, ob, err, b, A("to_out.0"))))
        return rc;
#undef A
    }
    if ((rc = lin(p, 4 * D, D, 1, err, b, "ff.net.0.proj")) ||
        (rc = lin(p, D, 4 * D, 1, err, b, "ff.net.2")) ||
        (rc = mk_plan_add(p, MK_NORMAL, 0, tsd, 2, s6, err,
                          "%sscale_shift_table", b)))
      return rc;
  }
  return lin(p, out, D, 1, err, "", "proj_out");
}

static int ltxv_make(const mk_ctx *c, warm_error *err) {
  const ltxv_preset *p = NULL;
  for (size_t i = 0; i < sizeof ltxv_presets / sizeof *ltxv_presets; i++)
    if (strcmp(c->preset, ltxv_presets[i].name) == 0) p = &ltxv_presets[i];
  if (!p)
    return warm_error_set(err, WARM_EINVAL,
                          "ltxv: unknown preset '%s' (tiny, small, full)",
                          c->preset);
  json_t *t = ltxv_config(c, p, err);
  if (!t) return err->code ? err->code : WARM_EINVAL;
  mk_plan plan = {0};
  int rc = ltxv_plan(t, &plan, err);
  if (!rc) rc = mk_write_diffusers(c, t, &plan, LTXV_ONE_FILE, "ltxv", err);
  mk_plan_free(&plan);
  json_decref(t);
  return rc;
}

const mk_arch mk_arch_ltxv = {"ltxv", "tiny|small|full", ltxv_make, 0};
