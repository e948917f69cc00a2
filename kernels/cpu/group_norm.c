/* group_norm.c — GroupNorm over channel groups of [C, S]; statistics in
 * double (two passes), one task per group. */
#include <math.h>

#include "cpu.h"

typedef struct gn_job {
  const float *x;
  float *y;
  int64_t C, S, G;
  wk_w w, b;
  float eps;
} gn_job;

static void gn_groups(void *v, int64_t g0, int64_t g1, int tid) {
  const gn_job *J = v;
  int64_t cg = J->C / J->G, n = cg * J->S;
  for (int64_t g = g0; g < g1; g++) {
    const float *xg = J->x + g * n;
    double s = 0.0;
    for (int64_t i = 0; i < n; i++)
      s += xg[i];
    double mean = s / (double)n, q = 0.0;
    for (int64_t i = 0; i < n; i++) {
      double d = xg[i] - mean;
      q += d * d;
    }
    float m = (float)mean;
    float inv = (float)(1.0 / sqrt(q / (double)n + (double)J->eps));
    for (int64_t c = g * cg; c < (g + 1) * cg; c++) {
      float wv = 1.0f, bv = 0.0f;
      if (J->w.data) wkcpu__decode(&wv, J->w, c, 1);
      if (J->b.data) wkcpu__decode(&bv, J->b, c, 1);
      const float *xc = J->x + c * J->S;
      float *yc = J->y + c * J->S;
      for (int64_t i = 0; i < J->S; i++)
        yc[i] = (xc[i] - m) * inv * wv + bv;
    }
  }
}

int wkcpu_group_norm(wk_ctx *c, const float *x, int64_t C, int64_t S,
                     int64_t groups, wk_w w, wk_w b, float eps, float *y) {
  gn_job J = {x, y, C, S, groups, w, b, eps};
  wkcpu__parallel(c, groups, 1, gn_groups, &J);
  return 0;
}
