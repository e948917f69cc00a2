/*
 * embed_rope.c — embedding gather and rotary embedding on the cpu. On this
 * backend host and device memory are the same, so the host-table gather is
 * the device one.
 */
#include "cpu.h"

typedef struct gather_job {
  wk_w table;
  int64_t C;
  const int32_t *ids;
  float mult;
  float *out;
} gather_job;

static void gather_rows(void *v, int64_t t0, int64_t t1, int tid) {
  gather_job *j = v;
  for (int64_t t = t0; t < t1; t++) {
    float *o = j->out + t * j->C;
    wkcpu__decode(o, j->table, (int64_t)j->ids[t] * j->C, j->C);
    if (j->mult != 1.0f)
      for (int64_t i = 0; i < j->C; i++)
        o[i] *= j->mult;
  }
}

int wkcpu_embed_gather(wk_ctx *c, wk_w table, int64_t V, int64_t C,
                       const int32_t *ids, int64_t T, float mult, float *out) {
  gather_job j = {table, C, ids, mult, out};
  int64_t grain = C > 0 ? ((int64_t)1 << 14) / C : T;
  wkcpu__parallel(c, T, grain > 0 ? grain : 1, gather_rows, &j);
  return 0;
}

int wkcpu_embed_gather_host(wk_ctx *c, wk_w table, int64_t V, int64_t C,
                            const int32_t *ids, int64_t T, float mult,
                            float *out) {
  return wkcpu_embed_gather(c, table, V, C, ids, T, mult, out);
}

typedef struct rope_job {
  float *x;
  int64_t H, D;
  const float *cos, *sin;
  int mode;
} rope_job;

/* HALF pairs (i, i + D/2), INTERLEAVED pairs (2i, 2i + 1); in both the
 * first of a pair becomes a*cos - b*sin and the second b*cos + a*sin, with
 * each element's own cos/sin entry. */
static void rope_rows(void *v, int64_t t0, int64_t t1, int tid) {
  rope_job *j = v;
  int64_t D = j->D, half = D / 2;
  for (int64_t t = t0; t < t1; t++) {
    const float *cs = j->cos + t * D, *sn = j->sin + t * D;
    for (int64_t h = 0; h < j->H; h++) {
      float *x = j->x + (t * j->H + h) * D;
      if (j->mode == WK_ROPE_HALF) {
        for (int64_t i = 0; i < half; i++) {
          float a = x[i], b = x[i + half];
          x[i] = a * cs[i] - b * sn[i];
          x[i + half] = b * cs[i + half] + a * sn[i + half];
        }
      } else {
        for (int64_t i = 0; i < half; i++) {
          float a = x[2 * i], b = x[2 * i + 1];
          x[2 * i] = a * cs[2 * i] - b * sn[2 * i];
          x[2 * i + 1] = b * cs[2 * i + 1] + a * sn[2 * i + 1];
        }
      }
    }
  }
}

int wkcpu_rope(wk_ctx *c, float *x, int64_t T, int64_t H, int64_t D,
               const float *cos, const float *sin, int mode) {
  rope_job j = {x, H, D, cos, sin, mode};
  int64_t grain = ((int64_t)1 << 14) / (H * D > 0 ? H * D : 1);
  wkcpu__parallel(c, T, grain > 0 ? grain : 1, rope_rows, &j);
  return 0;
}
