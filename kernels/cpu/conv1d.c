/*
 * conv1d.c — 1-D convolution (stride, dilation, groups, padding modes) as
 * im2col + sgemm per group: the patches of a chunk of output positions are
 * unrolled into the workspace ([Ci/g * k, chunk]) and the group's
 * [Co/g, Ci/g * k] weight times it writes that chunk, as GEMM tiles of
 * column blocks spread over the pool. Chunk and tile sizes depend only on
 * the shape (deterministic).
 */
#include <limits.h>
#include <string.h>

#include "cpu.h"
#include "dnnl.h"
#include "wk_pad.h"

#define WKCPU_COL1_ELEMS ((int64_t)2 << 20)

static int64_t chunk_of(const wk_conv1d *p, int64_t Lo) {
  int64_t Kc = p->Ci / p->groups * p->k;
  int64_t np = WKCPU_COL1_ELEMS / Kc;
  if (np < 1) np = 1;
  return np > Lo ? Lo : np;
}

size_t wkcpu_conv1d_workspace(wk_ctx *c, const wk_conv1d *p, wk_dtype wdt) {
  int64_t Lo = wk_conv1d_out_len(p), Kc = p->Ci / p->groups * p->k;
  int64_t wrows = p->shared ? p->Co / p->groups : p->Co;
  size_t wbytes = wdt == WK_F32 ? 0 : wkcpu__align((size_t)(wrows * Kc) * 4);
  return wbytes + wkcpu__align((size_t)(Kc * chunk_of(p, Lo)) * 4) +
         WKCPU_WS_SLACK;
}

typedef struct col_job {
  const wk_conv1d *p;
  const float *x; /* the group's first input channel */
  float *col;
  int64_t l0, l1;
} col_job;

/* Row r = (ci, kk) of the chunk's patches: input positions
 * (l0 + i)*stride + kk*dilation - pad_front, the in-range ones copied (a
 * memcpy for stride 1), the rest resolved by the padding mode. */
static void col_rows(void *v, int64_t r0, int64_t r1, int tid) {
  const col_job *J = v;
  const wk_conv1d *p = J->p;
  int mode = p->pad ? p->pad : WK_PAD_ZEROS;
  int64_t n = J->l1 - J->l0, s = p->stride;
  for (int64_t r = r0; r < r1; r++) {
    int64_t ci = r / p->k, kk = r % p->k;
    const float *xr = J->x + ci * p->L;
    float *d = J->col + r * n;
    int64_t base = J->l0 * s + kk * p->dilation - p->pad_front;
    /* i in [i0, i1): 0 <= base + i*s < L. */
    int64_t i0 = base >= 0 ? 0 : (-base + s - 1) / s;
    int64_t i1 = base >= p->L ? 0 : (p->L - base + s - 1) / s;
    if (i0 > n) i0 = n;
    if (i1 > n) i1 = n;
    if (i1 < i0) i1 = i0;
    for (int64_t i = 0; i < i0; i++) {
      int64_t src = wk__pad_src(base + i * s, p->L, mode);
      d[i] = src < 0 ? 0.0f : xr[src];
    }
    if (s == 1)
      memcpy(d + i0, xr + base + i0, (size_t)(i1 - i0) * sizeof *d);
    else
      for (int64_t i = i0; i < i1; i++)
        d[i] = xr[base + i * s];
    for (int64_t i = i1; i < n; i++) {
      int64_t src = wk__pad_src(base + i * s, p->L, mode);
      d[i] = src < 0 ? 0.0f : xr[src];
    }
  }
}

/* Output columns per GEMM tile: about 8 tiles over the chunk, 16-aligned,
 * at least 64. */
static int64_t tile_of(int64_t n) {
  int64_t nb = ((n + 7) / 8 + 15) / 16 * 16;
  return nb < 64 ? 64 : nb;
}

typedef struct mm_job {
  const float *w, *col;
  float *y;
  int64_t Cog, Kc, n, Lo, nb;
} mm_job;

static void mm_tiles(void *v, int64_t t0, int64_t t1, int tid) {
  const mm_job *J = v;
  for (int64_t t = t0; t < t1; t++) {
    int64_t c0 = t * J->nb, nc = J->n - c0 < J->nb ? J->n - c0 : J->nb;
    wkcpu__sgemm(0, 0, J->Cog, nc, J->Kc, 1.0f, J->w, J->Kc, J->col + c0, J->n,
                 1.0f, J->y + c0, J->Lo);
  }
}

int wkcpu_conv1d_fwd(wk_ctx *c, const wk_conv1d *p, const float *x, wk_w weight,
                     wk_w bias, float *y) {
  int64_t Lo = wk_conv1d_out_len(p), G = p->groups;
  int64_t Cig = p->Ci / G, Cog = p->Co / G, Kc = Cig * p->k;
  if (Kc > INT_MAX || Cog > INT_MAX || Lo > INT_MAX)
    return wk__fail(c, WK_EUNSUPPORTED,
                    "wk_conv1d_fwd: a GEMM dimension exceeds the BLAS range");
  char *ws = wkcpu__ws(c);
  const float *wf = weight.data;
  int64_t wrows = p->shared ? Cog : p->Co;
  if (weight.dtype != WK_F32) {
    wkcpu__decode_rows(c, (float *)ws, weight, Kc, 0, wrows);
    wf = (const float *)ws;
    ws += wkcpu__align((size_t)(wrows * Kc) * 4);
  }
  float *col = (float *)ws;
  for (int64_t co = 0; co < p->Co; co++) {
    float bv = 0.0f;
    if (bias.data) wkcpu__decode(&bv, bias, co, 1);
    for (int64_t i = 0; i < Lo; i++)
      y[co * Lo + i] = bv;
  }
  int64_t np = chunk_of(p, Lo);
  for (int64_t g = 0; g < G; g++)
    for (int64_t l0 = 0; l0 < Lo; l0 += np) {
      int64_t l1 = l0 + np < Lo ? l0 + np : Lo;
      col_job J = {p, x + g * Cig * p->L, col, l0, l1};
      int64_t grain = ((int64_t)1 << 14) / (l1 - l0) + 1;
      wkcpu__parallel(c, Kc, grain, col_rows, &J);
      mm_job M = {wf + (p->shared ? 0 : g) * Cog * Kc,
                  col,
                  y + g * Cog * Lo + l0,
                  Cog,
                  Kc,
                  l1 - l0,
                  Lo,
                  tile_of(l1 - l0)};
      wkcpu__parallel(c, (M.n + M.nb - 1) / M.nb, 1, mm_tiles, &M);
    }
  return 0;
}
