/*
 * conv_transpose1d.c — transposed 1-D convolution, polyphase: output o =
 * l*stride + kk - padding, so tap kk feeds only the outputs of phase
 * (kk - padding) mod stride, at q = l + d on that phase's grid. Each output
 * channel (one task) is built in blocks of BLK positions per phase in a
 * small buffer, where every tap is one contiguous (vectorised) multiply-add
 * over the input row, then interleaved into y. Every output element sums
 * its terms in the same order (input channel, then tap) whatever the
 * blocking or thread count (deterministic).
 */
#include <stdlib.h>
#include <string.h>

#include "cpu.h"

#define BLK 256 /* outputs per phase and block */

typedef struct ct_job {
  const wk_convt1d *p;
  const float *x;
  wk_w w, b;
  float *y;
  int64_t Lo;
  int failed; /* a task could not get its buffers */
} ct_job;

static int64_t floor_div(int64_t a, int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static void axpy(float *restrict t, const float *restrict x, float w,
                 int64_t n) {
  for (int64_t i = 0; i < n; i++)
    t[i] += w * x[i];
}

static void ct_rows(void *v, int64_t c0, int64_t c1, int tid) {
  ct_job *J = v;
  const wk_convt1d *p = J->p;
  const int64_t s = p->stride, k = p->k, L = p->L, Lo = J->Lo;
  const int64_t Cig = p->Ci / p->groups, Cog = p->Co / p->groups;
  float *wrow = malloc((size_t)k * sizeof *wrow);
  float *tmp = malloc((size_t)(s * BLK) * sizeof *tmp);
  if (!wrow || !tmp) {
    J->failed = 1; /* each thread only ever sets it */
    free(wrow), free(tmp);
    return;
  }
  for (int64_t co = c0; co < c1; co++) {
    int64_t g = co / Cog, oc = co % Cog;
    float bv = 0.0f;
    if (J->b.data) wkcpu__decode(&bv, J->b, co, 1);
    float *yr = J->y + co * Lo;
    for (int64_t q0 = 0; q0 * s < Lo; q0 += BLK) {
      memset(tmp, 0, (size_t)(s * BLK) * sizeof *tmp);
      for (int64_t ci = g * Cig; ci < (g + 1) * Cig; ci++) {
        /* weight [Ci, Co/g, k]: row (ci, oc); shared: row (ci - g*Cig, oc). */
        int64_t wr = p->shared ? ci - g * Cig : ci;
        wkcpu__decode(wrow, J->w, (wr * Cog + oc) * k, k);
        const float *xr = J->x + ci * L;
        for (int64_t kk = 0; kk < k; kk++) {
          int64_t ph = kk - p->padding, d = floor_div(ph, s);
          ph -= d * s;
          /* q = l + d in [q0, q0 + BLK) and o = q*s + ph < Lo. */
          int64_t qe = q0 + BLK, qmax = (Lo - ph + s - 1) / s;
          if (qe > qmax) qe = qmax;
          int64_t l0 = q0 - d > 0 ? q0 - d : 0, l1 = qe - d < L ? qe - d : L;
          if (l0 < l1)
            axpy(tmp + ph * BLK + (l0 + d - q0), xr + l0, wrow[kk], l1 - l0);
        }
      }
      for (int64_t ph = 0; ph < s; ph++)
        for (int64_t j = 0; j < BLK; j++) {
          int64_t o = (q0 + j) * s + ph;
          if (o >= Lo) break;
          yr[o] = tmp[ph * BLK + j] + bv;
        }
    }
  }
  free(wrow);
  free(tmp);
}

int wkcpu_conv_transpose1d(wk_ctx *c, const wk_convt1d *p, const float *x,
                           wk_w weight, wk_w bias, float *y) {
  ct_job J = {p, x, weight, bias, y, wk_convt1d_out_len(p), 0};
  wkcpu__parallel(c, p->Co, 1, ct_rows, &J);
  if (J.failed)
    return wk__fail(c, WK_ENOMEM, "wk_conv_transpose1d: out of memory");
  return 0;
}
