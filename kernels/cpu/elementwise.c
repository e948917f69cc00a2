/*
 * elementwise.c — normalisations, softmax, activations, elementwise and
 * row-broadcast ops, transpose. Row reductions accumulate in double; every
 * op is split over rows (or flat ranges) by the pool, each output element
 * computed by exactly one thread, so results are deterministic.
 */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "cpu.h"
#include "vmath.h"

#define GRAIN_ELEMS ((int64_t)1 << 15) /* elements per task, at least */
#define WCHUNK 256                     /* weight elements decoded at once */

static int64_t row_grain(int64_t cols) {
  int64_t g = GRAIN_ELEMS / (cols > 0 ? cols : 1);
  return g > 0 ? g : 1;
}

/* ---- normalisation ------------------------------------------------------- */

typedef struct norm_job {
  const float *x;
  float *y;
  wk_w w, b;
  int64_t dim;
  float eps;
  int plus_one;
} norm_job;

/* y[i] = x[i] * inv * (w[i] or 1 + w[i] or 1) (+ b[i]), weights decoded a
 * chunk at a time since norms have no workspace. */
static void affine_row(const float *x, float *y, int64_t dim, float shift,
                       float inv, wk_w w, wk_w b, int plus_one) {
  float wb[WCHUNK], bb[WCHUNK];
  for (int64_t i0 = 0; i0 < dim; i0 += WCHUNK) {
    int64_t n = dim - i0 < WCHUNK ? dim - i0 : WCHUNK;
    if (w.data) {
      wkcpu__decode(wb, w, i0, n);
      if (plus_one)
        for (int64_t i = 0; i < n; i++)
          wb[i] += 1.0f;
    } else {
      for (int64_t i = 0; i < n; i++)
        wb[i] = 1.0f;
    }
    if (b.data)
      wkcpu__decode(bb, b, i0, n);
    else
      memset(bb, 0, sizeof bb);
    for (int64_t i = 0; i < n; i++)
      y[i0 + i] = (x[i0 + i] - shift) * inv * wb[i] + bb[i];
  }
}

static void rmsnorm_rows(void *v, int64_t r0, int64_t r1, int tid) {
  norm_job *j = v;
  wk_w nob = {NULL, WK_F32, 1.0f};
  for (int64_t r = r0; r < r1; r++) {
    const float *x = j->x + r * j->dim;
    double ss = wkcpu__sumsq(x, j->dim);
    float inv = (float)(1.0 / sqrt(ss / (double)j->dim + (double)j->eps));
    affine_row(x, j->y + r * j->dim, j->dim, 0.0f, inv, j->w, nob, j->plus_one);
  }
}

int wkcpu_rmsnorm(wk_ctx *c, const float *x, wk_w w, int64_t rows, int64_t dim,
                  float eps, int plus_one, float *y) {
  norm_job j = {x, y, w, {NULL, WK_F32, 1.0f}, dim, eps, plus_one};
  wkcpu__parallel(c, rows, row_grain(dim), rmsnorm_rows, &j);
  return 0;
}

static void layernorm_rows(void *v, int64_t r0, int64_t r1, int tid) {
  norm_job *j = v;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = j->x + r * j->dim;
    double s = 0.0, ss = 0.0;
    for (int64_t i = 0; i < j->dim; i++)
      s += x[i];
    double mean = s / (double)j->dim;
    for (int64_t i = 0; i < j->dim; i++) {
      double d = x[i] - mean;
      ss += d * d;
    }
    float inv = (float)(1.0 / sqrt(ss / (double)j->dim + (double)j->eps));
    affine_row(x, j->y + r * j->dim, j->dim, (float)mean, inv, j->w, j->b, 0);
  }
}

int wkcpu_layernorm(wk_ctx *c, const float *x, wk_w w, wk_w b, int64_t rows,
                    int64_t dim, float eps, float *y) {
  norm_job j = {x, y, w, b, dim, eps, 0};
  wkcpu__parallel(c, rows, row_grain(dim), layernorm_rows, &j);
  return 0;
}

/* ---- RMS norm across channels, channel first ----------------------------- */

#define CN_BLK 512 /* positions per task */

typedef struct cnorm_job {
  const float *x;
  float *y;
  const float *scale, *shift;
  int64_t C, S;
  float eps;
  int act;
} cnorm_job;

/* Positions [b*CN_BLK, ...) of every channel: the sums of squares in
 * double over the channels in order, then each channel's run scaled,
 * modulated and activated as wk_rmsnorm, wk_modulate and wk_silu do. */
static void cnorm_blocks(void *v, int64_t b0, int64_t b1, int tid) {
  const cnorm_job *j = v;
  double ss[CN_BLK];
  float inv[CN_BLK];
  for (int64_t b = b0; b < b1; b++) {
    int64_t s0 = b * CN_BLK, n = j->S - s0 < CN_BLK ? j->S - s0 : CN_BLK;
    for (int64_t i = 0; i < n; i++)
      ss[i] = 0.0;
    for (int64_t c = 0; c < j->C; c++) {
      const float *x = j->x + c * j->S + s0;
      for (int64_t i = 0; i < n; i++)
        ss[i] += (double)x[i] * x[i];
    }
    for (int64_t i = 0; i < n; i++)
      inv[i] = (float)(1.0 / sqrt(ss[i] / (double)j->C + (double)j->eps));
    for (int64_t c = 0; c < j->C; c++) {
      const float *x = j->x + c * j->S + s0;
      float *y = j->y + c * j->S + s0;
      for (int64_t i = 0; i < n; i++)
        y[i] = x[i] * inv[i];
      if (j->scale) {
        float a = 1.0f + j->scale[c], sh = j->shift[c];
        for (int64_t i = 0; i < n; i++)
          y[i] = y[i] * a + sh;
      }
      if (j->act) wkcpu__silu_v(y, y, n);
    }
  }
}

int wkcpu__channel_rmsnorm(wk_ctx *c, const float *x, int64_t C, int64_t S,
                           float eps, const float *scale, const float *shift,
                           int act, float *y) {
  cnorm_job j = {x, y, scale, shift, C, S, eps, act};
  wkcpu__parallel(c, (S + CN_BLK - 1) / CN_BLK, 1, cnorm_blocks, &j);
  return 0;
}

/* ---- softmax ------------------------------------------------------------- */

typedef struct rows_job {
  const float *x;
  float *y;
  const float *v1, *v2;
  const float *h;
  int64_t cols;
  float s;
} rows_job;

static void softmax_rows(void *v, int64_t r0, int64_t r1, int tid) {
  rows_job *j = v;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = j->x + r * j->cols;
    float *y = j->y + r * j->cols;
    float m = -INFINITY;
    for (int64_t i = 0; i < j->cols; i++)
      m = x[i] > m ? x[i] : m;
    if (m == -INFINITY) { /* every entry -inf: no distribution, zeros */
      memset(y, 0, (size_t)j->cols * 4);
      continue;
    }
    double sum = 0.0;
    for (int64_t i = 0; i < j->cols; i++) {
      float e = wkcpu__expf(x[i] - m);
      y[i] = e;
      sum += e;
    }
    float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < j->cols; i++)
      y[i] *= inv;
  }
}

int wkcpu_softmax(wk_ctx *c, const float *x, int64_t rows, int64_t cols,
                  float *y) {
  rows_job j = {x, y, NULL, NULL, NULL, cols, 0.0f};
  wkcpu__parallel(c, rows, row_grain(cols), softmax_rows, &j);
  return 0;
}

/* ---- flat elementwise ---------------------------------------------------- */

typedef struct flat_job {
  const float *a, *b;
  float *y;
  float s;
} flat_job;

/* 0.5 x (1 + tanh(z)) written as x / (1 + exp(-2z)): the same function,
 * without the cancellation of 1 + tanh(z) for negative x. */
static void gelu_range(void *v, int64_t b, int64_t e, int tid) {
  flat_job *j = v;
  wkcpu__gelu_tanh_v(j->a + b, j->y + b, e - b);
}

static void silu_range(void *v, int64_t b, int64_t e, int tid) {
  flat_job *j = v;
  wkcpu__silu_v(j->a + b, j->y + b, e - b);
}

static void add_range(void *v, int64_t b, int64_t e, int tid) {
  flat_job *j = v;
  const float *pa = j->a, *pb = j->b;
  float *y = j->y;
  for (int64_t i = b; i < e; i++)
    y[i] = pa[i] + pb[i];
}

static void mul_range(void *v, int64_t b, int64_t e, int tid) {
  flat_job *j = v;
  const float *pa = j->a, *pb = j->b;
  float *y = j->y;
  for (int64_t i = b; i < e; i++)
    y[i] = pa[i] * pb[i];
}

static void scale_range(void *v, int64_t b, int64_t e, int tid) {
  flat_job *j = v;
  const float *pa = j->a;
  float *y = j->y, s = j->s;
  for (int64_t i = b; i < e; i++)
    y[i] = pa[i] * s;
}

int wkcpu_gelu_tanh(wk_ctx *c, const float *x, int64_t n, float *y) {
  flat_job j = {x, NULL, y, 0.0f};
  wkcpu__parallel(c, n, GRAIN_ELEMS / 8, gelu_range, &j);
  return 0;
}

int wkcpu_silu(wk_ctx *c, const float *x, int64_t n, float *y) {
  flat_job j = {x, NULL, y, 0.0f};
  wkcpu__parallel(c, n, GRAIN_ELEMS / 8, silu_range, &j);
  return 0;
}

int wkcpu_add(wk_ctx *c, const float *a, const float *b, int64_t n, float *y) {
  flat_job j = {a, b, y, 0.0f};
  wkcpu__parallel(c, n, GRAIN_ELEMS, add_range, &j);
  return 0;
}

int wkcpu_mul(wk_ctx *c, const float *a, const float *b, int64_t n, float *y) {
  flat_job j = {a, b, y, 0.0f};
  wkcpu__parallel(c, n, GRAIN_ELEMS, mul_range, &j);
  return 0;
}

int wkcpu_scale(wk_ctx *c, const float *x, float s, int64_t n, float *y) {
  flat_job j = {x, NULL, y, s};
  wkcpu__parallel(c, n, GRAIN_ELEMS, scale_range, &j);
  return 0;
}

/* ---- row broadcast ------------------------------------------------------- */

static void add_row_rows(void *v, int64_t r0, int64_t r1, int tid) {
  rows_job *j = v;
  int64_t n = j->cols;
  const float *vec = j->v1;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = j->x + r * n;
    float *y = j->y + r * n;
    for (int64_t i = 0; i < n; i++)
      y[i] = x[i] + vec[i];
  }
}

static void modulate_rows(void *v, int64_t r0, int64_t r1, int tid) {
  rows_job *j = v;
  int64_t n = j->cols;
  const float *sc = j->v1, *sh = j->v2;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = j->x + r * n;
    float *y = j->y + r * n;
    for (int64_t i = 0; i < n; i++)
      y[i] = x[i] * (1.0f + sc[i]) + sh[i];
  }
}

static void gate_add_rows(void *v, int64_t r0, int64_t r1, int tid) {
  rows_job *j = v;
  int64_t n = j->cols;
  const float *g = j->v1;
  for (int64_t r = r0; r < r1; r++) {
    const float *res = j->x + r * n, *h = j->h + r * n;
    float *y = j->y + r * n;
    for (int64_t i = 0; i < n; i++)
      y[i] = res[i] + g[i] * h[i];
  }
}

int wkcpu_add_row(wk_ctx *c, const float *x, const float *v, int64_t rows,
                  int64_t cols, float *y) {
  rows_job j = {x, y, v, NULL, NULL, cols, 0.0f};
  wkcpu__parallel(c, rows, row_grain(cols), add_row_rows, &j);
  return 0;
}

int wkcpu_modulate(wk_ctx *c, const float *x, const float *scale,
                   const float *shift, int64_t rows, int64_t cols, float *y) {
  rows_job j = {x, y, scale, shift, NULL, cols, 0.0f};
  wkcpu__parallel(c, rows, row_grain(cols), modulate_rows, &j);
  return 0;
}

int wkcpu_gate_add(wk_ctx *c, const float *res, const float *gate,
                   const float *h, int64_t rows, int64_t cols, float *y) {
  rows_job j = {res, y, gate, NULL, h, cols, 0.0f};
  wkcpu__parallel(c, rows, row_grain(cols), gate_add_rows, &j);
  return 0;
}

/* ---- transpose ----------------------------------------------------------- */

#define TILE 32

typedef struct transpose_job {
  const float *x;
  float *y;
  int64_t rows, cols;
} transpose_job;

/* 8 x 8 blocks moved through AVX registers (pure data movement, so the
 * bytes are those of the scalar loop): the scalar version's strided writes
 * made the VAE's channel-norm transposes a third of its convolution time. */
__attribute__((target("avx2"))) void
wkcpu__transpose8(const float *x, int64_t ldx, float *y, int64_t ldy) {
  __m256 r0 = _mm256_loadu_ps(x), r1 = _mm256_loadu_ps(x + ldx),
         r2 = _mm256_loadu_ps(x + 2 * ldx), r3 = _mm256_loadu_ps(x + 3 * ldx),
         r4 = _mm256_loadu_ps(x + 4 * ldx), r5 = _mm256_loadu_ps(x + 5 * ldx),
         r6 = _mm256_loadu_ps(x + 6 * ldx), r7 = _mm256_loadu_ps(x + 7 * ldx);
  __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1),
         t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3),
         t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
         t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44),
         u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
         u2 = _mm256_shuffle_ps(t1, t3, 0x44),
         u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
         u4 = _mm256_shuffle_ps(t4, t6, 0x44),
         u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
         u6 = _mm256_shuffle_ps(t5, t7, 0x44),
         u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(y, _mm256_permute2f128_ps(u0, u4, 0x20));
  _mm256_storeu_ps(y + ldy, _mm256_permute2f128_ps(u1, u5, 0x20));
  _mm256_storeu_ps(y + 2 * ldy, _mm256_permute2f128_ps(u2, u6, 0x20));
  _mm256_storeu_ps(y + 3 * ldy, _mm256_permute2f128_ps(u3, u7, 0x20));
  _mm256_storeu_ps(y + 4 * ldy, _mm256_permute2f128_ps(u0, u4, 0x31));
  _mm256_storeu_ps(y + 5 * ldy, _mm256_permute2f128_ps(u1, u5, 0x31));
  _mm256_storeu_ps(y + 6 * ldy, _mm256_permute2f128_ps(u2, u6, 0x31));
  _mm256_storeu_ps(y + 7 * ldy, _mm256_permute2f128_ps(u3, u7, 0x31));
}

int wkcpu__have_avx2(void) {
  static int v = -1;
  if (v < 0) v = __builtin_cpu_supports("avx2") ? 1 : 0;
  return v;
}

/* Tiles of TILE x TILE keep both the reads and the writes in cache lines;
 * inside a tile, whole 8 x 8 blocks go through wkcpu__transpose8 on
 * AVX2. */
static void transpose_tiles(void *v, int64_t t0, int64_t t1, int tid) {
  transpose_job *j = v;
  int vec = wkcpu__have_avx2();
  for (int64_t t = t0; t < t1; t++) {
    int64_t r0 = t * TILE, r1 = r0 + TILE < j->rows ? r0 + TILE : j->rows;
    for (int64_t c0 = 0; c0 < j->cols; c0 += TILE) {
      int64_t c1 = c0 + TILE < j->cols ? c0 + TILE : j->cols;
      int64_t rv = r0, cv = c0;
      if (vec) {
        rv = r0 + (r1 - r0) / 8 * 8;
        cv = c0 + (c1 - c0) / 8 * 8;
        for (int64_t r = r0; r < rv; r += 8)
          for (int64_t cc = c0; cc < cv; cc += 8)
            wkcpu__transpose8(j->x + r * j->cols + cc, j->cols,
                       j->y + cc * j->rows + r, j->rows);
        for (int64_t r = r0; r < rv; r++) /* columns past the 8-blocks */
          for (int64_t cc = cv; cc < c1; cc++)
            j->y[cc * j->rows + r] = j->x[r * j->cols + cc];
      }
      for (int64_t r = rv; r < r1; r++) /* rows past the 8-blocks */
        for (int64_t cc = c0; cc < c1; cc++)
          j->y[cc * j->rows + r] = j->x[r * j->cols + cc];
    }
  }
}

int wkcpu_transpose(wk_ctx *c, const float *x, int64_t rows, int64_t cols,
                    float *y) {
  transpose_job j = {x, y, rows, cols};
  int64_t tiles = (rows + TILE - 1) / TILE;
  wkcpu__parallel(c, tiles, row_grain(cols * TILE), transpose_tiles, &j);
  return 0;
}
