/*
 * lt2_feat.c — the feature extractor folded into the Gemma layer loop.
 *
 * The reference stacks all S hidden states into E [T, D, S], normalises
 * them and applies one Linear over the flattened D * S features
 * (feature_extractor.py). Since feature d * S + l only ever meets column
 * d * S + l of the weight, the product splits into S per-hidden-state
 * products: f = sum_l norm(h_l) . W_l^T. Each hidden state is normalised
 * and projected as soon as Gemma produces it, so the device holds one
 * hidden state and the accumulators, never the stack.
 *
 *   V1 (2.0): over the valid rows of h_l, one mean and one range;
 *             x = 8 (h - mean) / (range + 1e-6); padded rows 0.
 *   V2 (2.3): per token x = h * rsqrt(mean(h^2) + 1e-6); padded rows 0;
 *             the video share sees x * sqrt(Cv / D), the audio share
 *             x * sqrt(Ca / D); biases are added after the last share.
 */
#include <math.h>
#include <string.h>

#include "lt2.h"

#define LT2_ALIGN 256u

static uint64_t al(uint64_t n) {
  return (n + LT2_ALIGN - 1) / LT2_ALIGN * LT2_ALIGN;
}

uint64_t lt2_feats_bytes(const lt2_config *c, int64_t T) {
  uint64_t b = al((uint64_t)(T * c->Cv) * sizeof(float));
  if (c->v2) b += al((uint64_t)(T * c->Ca) * sizeof(float));
  return b;
}

void lt2_feats_carve(const lt2_config *c, int64_t T, void *base,
                     lt2_feats *out) {
  out->fv = base;
  out->fa =
      c->v2
          ? (float *)((char *)base + al((uint64_t)(T * c->Cv) * sizeof(float)))
          : out->fv;
}

static size_t proj_scratch(wk_ctx *wk, const lt2_config *c, wk_dtype wdt,
                           int64_t T) {
  size_t a = wk_linear_workspace(wk, T, c->D, c->Cv, wdt);
  size_t b = wk_linear_workspace(wk, T, c->D, c->Ca, wdt);
  return a > b ? a : b;
}

static void xs_sizes(wk_ctx *wk, const lt2_config *c, wk_dtype wdt, int64_t T,
                     uint64_t sz[4]) {
  int64_t O = c->Cv > c->Ca ? c->Cv : c->Ca;
  sz[0] = (uint64_t)(T * c->D) * sizeof(float);             /* xhat */
  sz[1] = c->v2 ? (uint64_t)(T * c->D) * sizeof(float) : 0; /* xs */
  sz[2] = (uint64_t)(T * O) * sizeof(float);                /* tmp */
  sz[3] = proj_scratch(wk, c, wdt, T);
}

uint64_t lt2_xscratch_bytes(wk_ctx *wk, const lt2_config *c, wk_dtype wdt,
                            int64_t T) {
  uint64_t sz[4], s = 0;
  xs_sizes(wk, c, wdt, T, sz);
  for (int i = 0; i < 4; i++)
    s += al(sz[i]);
  return s;
}

void lt2_xscratch_carve(wk_ctx *wk, const lt2_config *c, wk_dtype wdt,
                        int64_t T, void *base, lt2_xscratch *out) {
  uint64_t sz[4];
  xs_sizes(wk, c, wdt, T, sz);
  char *p = base;
  out->xhat = (float *)p;
  p += al(sz[0]);
  out->xs = sz[1] ? (float *)p : NULL;
  p += al(sz[1]);
  out->tmp = (float *)p;
  p += al(sz[2]);
  out->scratch = p;
  out->scratch_bytes = sz[3];
}

#define CK(call, what)                                                         \
  do {                                                                         \
    if ((call) != 0)                                                           \
      return warm_error_set(err, WARM_EDEVICE, "hidden state %lld: %s: %s",    \
                            (long long)index, what, wk_last_error(wk));        \
  } while (0)

/* acc (+)= x . W^T: the first share writes, later ones add. */
static int share(wk_ctx *wk, int64_t index, const float *x, int64_t T,
                 int64_t D, wk_w W, int64_t O, float *tmp, float *acc,
                 warm_error *err) {
  const wk_w none = {0};
  if (index == 0) {
    CK(wk_linear(wk, x, T, D, W, none, O, acc), "projection");
    return 0;
  }
  CK(wk_linear(wk, x, T, D, W, none, O, tmp), "projection");
  CK(wk_add(wk, acc, tmp, T * O, acc), "accumulate");
  return 0;
}

int lt2_feat_accumulate(wk_ctx *wk, const lt2_config *c, int64_t index,
                        const float *x, int64_t T, int64_t row0,
                        const lt2_view *proj, lt2_xscratch *xs, lt2_feats *f,
                        warm_error *err) {
  const int64_t D = c->D;
  wk_set_workspace(wk, xs->scratch, xs->scratch_bytes);
  if (!c->v2) {
    CK(wk_range_norm(wk, x, T, D, row0, 1e-6f, xs->xhat), "normalise");
    return share(wk, index, xs->xhat, T, D, proj->t[0], c->Cv, xs->tmp, f->fv,
                 err);
  }
  const wk_w none = {0};
  CK(wk_rmsnorm(wk, x, none, T, D, 1e-6f, 0, xs->xhat), "normalise");
  if (row0 > 0)
    CK(wk_memset(wk, xs->xhat, 0, (size_t)(row0 * D) * sizeof(float)),
       "padding");
  CK(wk_scale(wk, xs->xhat, (float)sqrt((double)c->Cv / (double)D), T * D,
              xs->xs),
     "rescale");
  int rc =
      share(wk, index, xs->xs, T, D, proj->t[0], c->Cv, xs->tmp, f->fv, err);
  if (rc) return rc;
  CK(wk_scale(wk, xs->xhat, (float)sqrt((double)c->Ca / (double)D), T * D,
              xs->xs),
     "rescale");
  return share(wk, index, xs->xs, T, D, proj->t[1], c->Ca, xs->tmp, f->fa, err);
}
