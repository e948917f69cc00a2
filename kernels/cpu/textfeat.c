/*
 * textfeat.c — ops of the LTX-2 text conditioning path on the cpu: the V1
 * feature normalisation over the valid rows of a hidden state (one global
 * mean and range, then an elementwise map) and the connectors' per-head
 * attention gate. Reductions accumulate in double; each output element is
 * written by exactly one thread, so results are deterministic.
 */
#include <math.h>
#include <string.h>

#include "cpu.h"

typedef struct range_job {
  const float *x;
  float *y;
  int64_t cols, row0;
  float mean, denom;
} range_job;

static void range_rows(void *v, int64_t r0, int64_t r1, int tid) {
  (void)tid;
  range_job *j = v;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = j->x + r * j->cols;
    float *y = j->y + r * j->cols;
    if (r < j->row0) {
      memset(y, 0, (size_t)j->cols * sizeof(float));
      continue;
    }
    for (int64_t i = 0; i < j->cols; i++)
      y[i] = 8.0f * (x[i] - j->mean) / j->denom;
  }
}

int wkcpu_range_norm(wk_ctx *c, const float *x, int64_t rows, int64_t cols,
                     int64_t row0, float eps, float *y) {
  /* The statistics in one pass on the calling thread, so the sum's order
   * (and so the result) does not depend on the pool size. */
  double sum = 0.0;
  float lo = INFINITY, hi = -INFINITY;
  for (int64_t r = row0; r < rows; r++) {
    const float *p = x + r * cols;
    for (int64_t i = 0; i < cols; i++) {
      sum += p[i];
      lo = p[i] < lo ? p[i] : lo;
      hi = p[i] > hi ? p[i] : hi;
    }
  }
  float n = (float)((rows - row0) * cols);
  range_job j = {x, y, cols, row0, (float)sum / (n + eps), (hi - lo) + eps};
  int64_t g = ((int64_t)1 << 15) / (cols > 0 ? cols : 1);
  wkcpu__parallel(c, rows, g > 0 ? g : 1, range_rows, &j);
  return 0;
}

typedef struct gate_job {
  const float *x, *g;
  float *y;
  int64_t H, D;
} gate_job;

static void gate_rows(void *v, int64_t r0, int64_t r1, int tid) {
  (void)tid;
  gate_job *j = v;
  for (int64_t r = r0; r < r1; r++) {
    for (int64_t h = 0; h < j->H; h++) {
      float gv = 2.0f * (1.0f / (1.0f + expf(-j->g[r * j->H + h])));
      const float *x = j->x + (r * j->H + h) * j->D;
      float *y = j->y + (r * j->H + h) * j->D;
      for (int64_t i = 0; i < j->D; i++)
        y[i] = x[i] * gv;
    }
  }
}

int wkcpu_head_gate(wk_ctx *c, const float *x, const float *g, int64_t rows,
                    int64_t H, int64_t D, float *y) {
  gate_job j = {x, g, y, H, D};
  int64_t per = H * D > 0 ? H * D : 1;
  int64_t grain = ((int64_t)1 << 15) / per;
  wkcpu__parallel(c, rows, grain > 0 ? grain : 1, gate_rows, &j);
  return 0;
}
