/*
 * conv_transpose1d.c — transposed 1-D convolution in gather form: each
 * output channel (one task) sums, per tap and input channel of its group,
 * the input samples that land on it. Every output element is written by one
 * task in a fixed order (deterministic).
 */
#include <stdlib.h>
#include <string.h>

#include "cpu.h"

typedef struct ct_job {
  const wk_convt1d *p;
  const float *x;
  wk_w w, b;
  float *y;
  int64_t Lo;
} ct_job;

static void ct_rows(void *v, int64_t c0, int64_t c1, int tid) {
  const ct_job *J = v;
  const wk_convt1d *p = J->p;
  int64_t Cig = p->Ci / p->groups, Cog = p->Co / p->groups;
  float *wrow = malloc((size_t)p->k * sizeof *wrow);
  for (int64_t co = c0; co < c1; co++) {
    int64_t g = co / Cog, oc = co % Cog;
    float bv = 0.0f;
    if (J->b.data) wkcpu__decode(&bv, J->b, co, 1);
    float *yr = J->y + co * J->Lo;
    for (int64_t i = 0; i < J->Lo; i++)
      yr[i] = 0.0f;
    for (int64_t ci = g * Cig; ci < (g + 1) * Cig; ci++) {
      /* weight [Ci, Co/g, k]: row (ci, oc); shared: row (ci - g*Cig, oc). */
      int64_t wr = p->shared ? ci - g * Cig : ci;
      if (wrow) wkcpu__decode(wrow, J->w, (wr * Cog + oc) * p->k, p->k);
      const float *xr = J->x + ci * p->L;
      for (int64_t kk = 0; kk < p->k; kk++) {
        float wv;
        if (wrow)
          wv = wrow[kk];
        else
          wkcpu__decode(&wv, J->w, (wr * Cog + oc) * p->k + kk, 1);
        /* output o = l*stride + kk - padding */
        for (int64_t l = 0; l < p->L; l++) {
          int64_t o = l * p->stride + kk - p->padding;
          if (o >= 0 && o < J->Lo) yr[o] += wv * xr[l];
        }
      }
    }
    for (int64_t i = 0; i < J->Lo; i++)
      yr[i] += bv;
  }
  free(wrow);
}

int wkcpu_conv_transpose1d(wk_ctx *c, const wk_convt1d *p, const float *x,
                           wk_w weight, wk_w bias, float *y) {
  ct_job J = {p, x, weight, bias, y, wk_convt1d_out_len(p)};
  wkcpu__parallel(c, p->Co, 1, ct_rows, &J);
  return 0;
}
