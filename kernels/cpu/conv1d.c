/*
 * conv1d.c — 1-D convolution (stride, dilation, groups, padding modes) as
 * im2col + sgemm per group: the patches of a chunk of output positions are
 * unrolled into the workspace ([Ci/g * k, chunk]) and one GEMM with the
 * group's [Co/g, Ci/g * k] weight writes that chunk. The chunk size depends
 * only on the shape (deterministic).
 */
#include <cblas.h>
#include <limits.h>
#include <string.h>

#include "cpu.h"
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

static void col_rows(void *v, int64_t r0, int64_t r1, int tid) {
  const col_job *J = v;
  const wk_conv1d *p = J->p;
  int mode = p->pad ? p->pad : WK_PAD_ZEROS;
  int64_t n = J->l1 - J->l0;
  for (int64_t r = r0; r < r1; r++) {
    int64_t ci = r / p->k, kk = r % p->k;
    const float *xr = J->x + ci * p->L;
    float *d = J->col + r * n;
    for (int64_t i = 0; i < n; i++) {
      int64_t pos = (J->l0 + i) * p->stride + kk * p->dilation - p->pad_front;
      if (pos >= 0 && pos < p->L) {
        d[i] = xr[pos];
      } else {
        int64_t s = wk__pad_src(pos, p->L, mode);
        d[i] = s < 0 ? 0.0f : xr[s];
      }
    }
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
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)Cog,
                  (int)(l1 - l0), (int)Kc, 1.0f,
                  wf + (p->shared ? 0 : g) * Cog * Kc, (int)Kc, col,
                  (int)(l1 - l0), 1.0f, y + g * Cog * Lo + l0, (int)Lo);
    }
  return 0;
}
