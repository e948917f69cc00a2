/*
 * lt2_weights.c — the text-side weights of the combined LTX-2 file as
 * "text layers" the placement code moves as units (resident blobs or
 * streamer slots): per Gemma hidden state l its projection slice
 * W_l[o, d] = W[o, d * S + l] (the reference flattens [D, S] layer-minor),
 * then per connector a prelude (its registers and, for V2, its projection
 * bias) and one layer per block. Matrices are stored in the component's dtype,
 * vectors and registers in f32.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt2.h"
#include "warm/model.h"
#include "warm/safetensors.h"

static warm_dtype to_warm(wk_dtype d) {
  return d == WK_BF16 ? WARM_BF16 : d == WK_FP8_E4M3 ? WARM_FP8_E4M3 : WARM_F32;
}

static int own(lt2_weights *w, void *p, warm_error *err) {
  void **grown = realloc(w->owned, (w->n_owned + 1) * sizeof *grown);
  if (!grown) {
    free(p);
    return warm_error_set(err, WARM_ENOMEM, "out of memory");
  }
  w->owned = grown;
  w->owned[w->n_owned++] = p;
  return 0;
}

/* src as dst: a view when the dtype already matches, else an owned copy. */
static int store(lt2_weights *w, const warm_tensor *src, wk_dtype dst,
                 lt2_tensor *out, warm_error *err) {
  uint64_t n = (uint64_t)warm_tensor_numel(src);
  warm_dtype wd = to_warm(dst);
  out->dt = dst;
  out->bytes = warm_weight_bytes(wd, n);
  out->scale = 1.0f;
  if (src->dtype == wd && wd != WARM_FP8_E4M3) {
    out->src = src->data;
    return 0;
  }
  if (w->sizes_only) {
    out->src = NULL;
    return 0;
  }
  void *buf = malloc(out->bytes ? out->bytes : 1);
  if (!buf)
    return warm_error_set(
        err, WARM_ENOMEM, "out of memory converting %s (%llu bytes)",
        src->name ? src->name : "tensor", (unsigned long long)out->bytes);
  int rc = own(w, buf, err);
  if (rc) return rc;
  out->src = buf;
  return warm_weight_convert(src, wd, buf, &out->scale, err);
}

static int get(const warm_ltx2 *f, const char *prefix, const char *name,
               warm_tensor *t, warm_error *err) {
  char full[320];
  snprintf(full, sizeof full, "%s%s", prefix, name);
  return warm_st_get(warm_ltx2_st(f), full, t, err);
}

/* Projection slice l of W [O, D * S] into storage: the columns d * S + l
 * gathered as raw elements (any source dtype), then converted. */
static int slice(lt2_weights *w, const warm_tensor *W, int64_t D, int64_t S,
                 int64_t l, lt2_tensor *out, warm_error *err) {
  int64_t O = W->shape[0];
  size_t es = warm_dtype_size(W->dtype);
  if (w->sizes_only) {
    out->dt = w->wdt;
    out->bytes = warm_weight_bytes(to_warm(w->wdt), (uint64_t)(O * D));
    out->scale = 1.0f;
    out->src = NULL;
    return 0;
  }
  char *g = malloc((size_t)(O * D) * es);
  if (!g) return warm_error_set(err, WARM_ENOMEM, "out of memory");
  const char *src = W->data;
  /* Strided element gather; the common widths get their own loops (the
   * production projection has 0.7-1.2 G elements). */
  for (int64_t o = 0; o < O; o++) {
    size_t in = (size_t)(o * D * S + l), at = (size_t)(o * D);
    if (es == 2) {
      const uint16_t *a = (const uint16_t *)src + in;
      uint16_t *b = (uint16_t *)g + at;
      for (int64_t d = 0; d < D; d++)
        b[d] = a[d * S];
    } else if (es == 4) {
      const uint32_t *a = (const uint32_t *)src + in;
      uint32_t *b = (uint32_t *)g + at;
      for (int64_t d = 0; d < D; d++)
        b[d] = a[d * S];
    } else {
      for (int64_t d = 0; d < D; d++)
        memcpy(g + (at + (size_t)d) * es, src + (in + (size_t)(d * S)) * es,
               es);
    }
  }
  warm_tensor t = *W;
  t.shape[0] = O;
  t.shape[1] = D;
  t.data = g;
  int rc = store(w, &t, w->wdt, out, err);
  /* A view of g (same dtype) keeps it; a converted copy frees it. */
  if (!rc && out->src == g) return own(w, g, err);
  free(g);
  return rc;
}

static int block(lt2_weights *w, const warm_ltx2 *f, const char *prefix,
                 const lt2_conn_config *cc, int64_t b, lt2_layer *L,
                 warm_error *err) {
  static const char *const names[LT2_B_COUNT] = {"attn1.to_q.weight",
                                                 "attn1.to_q.bias",
                                                 "attn1.to_k.weight",
                                                 "attn1.to_k.bias",
                                                 "attn1.to_v.weight",
                                                 "attn1.to_v.bias",
                                                 "attn1.q_norm.weight",
                                                 "attn1.k_norm.weight",
                                                 "attn1.to_out.0.weight",
                                                 "attn1.to_out.0.bias",
                                                 "ff.net.0.proj.weight",
                                                 "ff.net.0.proj.bias",
                                                 "ff.net.2.weight",
                                                 "ff.net.2.bias",
                                                 "attn1.to_gate_logits.weight",
                                                 "attn1.to_gate_logits.bias"};
  L->n = cc->gated ? LT2_B_COUNT : LT2_B_G_W;
  for (uint32_t i = 0; i < L->n; i++) {
    char name[256];
    snprintf(name, sizeof name, "transformer_1d_blocks.%lld.%s", (long long)b,
             names[i]);
    warm_tensor t;
    int rc = get(f, prefix, name, &t, err);
    if (rc) return rc;
    if ((rc = store(w, &t, t.ndim == 2 ? w->wdt : WK_F32, &L->t[i], err)))
      return rc;
  }
  return 0;
}

int lt2_weights_load(const warm_ltx2 *f, const lt2_config *c, wk_dtype wdt,
                     int sizes_only, lt2_weights *w, warm_error *err) {
  memset(w, 0, sizeof *w);
  w->wdt = wdt;
  w->sizes_only = sizes_only;
  uint32_t n = (uint32_t)(c->S + 2 + c->vc.layers + c->ac.layers);
  w->layers = calloc(n, sizeof *w->layers);
  if (!w->layers) return warm_error_set(err, WARM_ENOMEM, "out of memory");
  w->n_layers = n;
  w->pre[0] = (uint32_t)c->S;
  w->pre[1] = w->pre[0] + 1 + (uint32_t)c->vc.layers;
  int rc;
  warm_tensor Wv, Wa;
  if ((rc = get(f, LT2_PREFIX_PROJ,
                c->v2 ? "video_aggregate_embed.weight"
                      : "aggregate_embed.weight",
                &Wv, err)) ||
      (c->v2 && (rc = get(f, LT2_PREFIX_PROJ, "audio_aggregate_embed.weight",
                          &Wa, err))))
    goto fail;
  for (int64_t l = 0; l < c->S; l++) {
    lt2_layer *L = &w->layers[l];
    L->n = c->v2 ? 2 : 1;
    if ((rc = slice(w, &Wv, c->D, c->S, l, &L->t[0], err)) ||
        (c->v2 && (rc = slice(w, &Wa, c->D, c->S, l, &L->t[1], err))))
      goto fail;
  }
  for (int m = 0; m < 2; m++) {
    const char *prefix = m ? LT2_PREFIX_ACONN : LT2_PREFIX_VCONN;
    const lt2_conn_config *cc = m ? &c->ac : &c->vc;
    lt2_layer *P = &w->layers[w->pre[m]];
    P->n = c->v2 ? 2 : 1;
    warm_tensor t;
    if ((rc = get(f, prefix, "learnable_registers", &t, err)) ||
        (rc = store(w, &t, WK_F32, &P->t[LT2_P_REG], err)))
      goto fail;
    if (c->v2 && ((rc = get(f, LT2_PREFIX_PROJ,
                            m ? "audio_aggregate_embed.bias"
                              : "video_aggregate_embed.bias",
                            &t, err)) ||
                  (rc = store(w, &t, WK_F32, &P->t[LT2_P_BIAS], err))))
      goto fail;
    for (int64_t b = 0; b < cc->layers; b++)
      if ((rc = block(w, f, prefix, cc, b, &w->layers[w->pre[m] + 1 + b], err)))
        goto fail;
  }
  for (uint32_t i = 0; i < n; i++)
    for (uint32_t k = 0; k < w->layers[i].n; k++)
      w->bytes += w->layers[i].t[k].bytes;
  return 0;
fail:
  lt2_weights_free(w);
  return rc;
}

void lt2_weights_free(lt2_weights *w) {
  for (size_t i = 0; i < w->n_owned; i++)
    free(w->owned[i]);
  free(w->owned);
  free(w->layers);
  memset(w, 0, sizeof *w);
}

void lt2_view_make(lt2_view *v, const lt2_layer *l, void *const *ptrs) {
  memset(v, 0, sizeof *v);
  for (uint32_t k = 0; k < l->n; k++) {
    v->t[k].data = ptrs[k];
    v->t[k].dtype = l->t[k].dt;
    v->t[k].scale = l->t[k].scale;
  }
}
