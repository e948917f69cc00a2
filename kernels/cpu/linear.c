/*
 * linear.c — dtype conversion, wk_linear and wk_gemm on the cpu.
 *
 * Every GEMM is cut into tiles whose sizes depend on the shape only, and the
 * tiles are spread over the compute pool, each run single-threaded (see
 * pool.c), so the same shape always runs the same tile GEMMs whatever the
 * thread count and the bytes never depend on it.
 *   f32 weights: sgemm (oneDNN's, see dnnl.c) per block of output columns.
 *   bf16 weights, cpu with AVX512-BF16 (or AMX): oneDNN's bf16 matmul,
 *     writing its tile of y in place (a sum post-op adds it to the bias
 *     rows, or to the first product). The activations are split into
 *     x = hi + lo, both bf16 (lo = bf16(x - hi) carries the next 8 bits),
 *     and the two products hi.W and lo.W are summed in f32: the result is
 *     within 2^-17 of f32 activations times the bf16 weights, so it matches
 *     the f32-activation semantics of wk_linear while the weights are read
 *     as bf16, never widened. With wk_set_bf16_activations on, only hi is
 *     used (one product, half the work).
 *   fp8 weights, or bf16 without the instructions: each block of weight rows
 *     is decoded to f32 in the thread's slice of the workspace, then sgemm.
 * wk_gemm tiles the same way over batches and column blocks.
 */
#include <limits.h>
#include <pthread.h>
#include <string.h>

#include "cpu.h"
#include "dnnl.h"
#include "vmath.h"

/* Rows of activations per bf16 tile: oneDNN packs the weight tile into its
 * VNNI layout once per matmul call, so taller tiles pack each weight fewer
 * times (512 rows: 4-8% faster than 256 on the 1152-wide Gemma at 512
 * tokens). */
#define LIN_MB 512

static float fp8_lut[256];
static pthread_once_t fp8_once = PTHREAD_ONCE_INIT;

static void fp8_lut_init(void) {
  for (int i = 0; i < 256; i++)
    fp8_lut[i] = wk__fp8_to_f32((uint8_t)i);
}

void wkcpu__decode(float *restrict dst, wk_w w, int64_t off, int64_t n) {
  switch (w.dtype) {
  case WK_F32:
    memcpy(dst, (const float *)w.data + off, (size_t)n * 4);
    break;
  case WK_BF16: {
    const uint16_t *restrict s = (const uint16_t *)w.data + off;
    uint32_t *restrict d = (uint32_t *)dst;
    for (int64_t i = 0; i < n; i++)
      d[i] = (uint32_t)s[i] << 16;
    break;
  }
  case WK_FP8_E4M3: {
    pthread_once(&fp8_once, fp8_lut_init);
    const uint8_t *restrict s = (const uint8_t *)w.data + off;
    float scale = w.scale;
    for (int64_t i = 0; i < n; i++)
      dst[i] = fp8_lut[s[i]] * scale;
    break;
  }
  }
}

typedef struct decode_job {
  float *dst;
  wk_w w;
  int64_t off;
} decode_job;

static void decode_range(void *v, int64_t b, int64_t e, int tid) {
  decode_job *j = v;
  wkcpu__decode(j->dst + b, j->w, j->off + b, e - b);
}

void wkcpu__decode_rows(wk_ctx *c, float *dst, wk_w w, int64_t cols, int64_t r0,
                        int64_t r1) {
  decode_job j = {dst, w, r0 * cols};
  if (w.dtype == WK_F32)
    memcpy(dst, (const float *)w.data + r0 * cols,
           (size_t)((r1 - r0) * cols) * 4);
  else
    wkcpu__parallel(c, (r1 - r0) * cols, 1 << 16, decode_range, &j);
}

/* ---- wk_convert ---------------------------------------------------------- */

typedef struct convert_job {
  void *dst;
  wk_dtype ddt;
  const void *src;
  wk_dtype sdt;
  float scale;
} convert_job;

static void convert_range(void *v, int64_t b, int64_t e, int tid) {
  convert_job *j = v;
  float buf[1024];
  for (int64_t i = b; i < e; i += 1024) {
    int64_t n = e - i < 1024 ? e - i : 1024;
    wk_w s = {j->src, j->sdt, j->scale};
    wkcpu__decode(buf, s, i, n);
    if (j->ddt == WK_F32) {
      memcpy((float *)j->dst + i, buf, (size_t)n * 4);
    } else if (j->ddt == WK_BF16) {
      uint16_t *d = (uint16_t *)j->dst + i;
      for (int64_t k = 0; k < n; k++)
        d[k] = wk__f32_to_bf16(buf[k]);
    } else {
      uint8_t *d = (uint8_t *)j->dst + i;
      float sc = j->scale;
      for (int64_t k = 0; k < n; k++)
        d[k] = wk__f32_to_fp8(buf[k] / sc);
    }
  }
}

/* Same-dtype conversion is a copy (fp8 bytes keep their encoding: the scale
 * is a property of the tensor, not of the bytes). */
int wkcpu_convert(wk_ctx *c, void *dst, wk_dtype dst_dt, const void *src,
                  wk_dtype src_dt, size_t n, float scale) {
  if (dst_dt == src_dt) {
    if (dst != src) memmove(dst, src, n * wk__dtype_size(dst_dt));
    return 0;
  }
  convert_job j = {dst, dst_dt, src, src_dt, scale};
  wkcpu__parallel(c, (int64_t)n, 1 << 16, convert_range, &j);
  return 0;
}

/* ---- wk_linear ----------------------------------------------------------- */

/* Output columns per tile: about 8 tiles over N, 16-aligned, at most 256 and
 * at most 1 MiB of decoded f32 weights. Depends on the shape only. */
static int64_t lin_nb(int64_t K, int64_t N) {
  int64_t nb = (N + 7) / 8;
  nb = (nb + 15) / 16 * 16;
  if (nb > 256) nb = 256;
  int64_t cap = K > 0 ? ((int64_t)1 << 18) / K : nb;
  cap = cap < 16 ? 16 : cap / 16 * 16;
  if (nb > cap) nb = cap;
  return nb < N ? nb : N;
}

/* The bf16 path's output columns per tile: no decoded weights to bound, so
 * wider tiles, about 8 over N, 16-aligned, from 128 (narrower tiles ran
 * oneDNN's bf16 kernels 10-25% slower) to 224 (faster than 192 and 256 on
 * Gemma's projections, 1152 to 3840 deep). Depends on the shape only. */
static int64_t lin_nb_bf16(int64_t N) {
  int64_t nb = ((N + 7) / 8 + 15) / 16 * 16;
  if (nb < 128) nb = 128;
  if (nb > 224) nb = 224;
  return nb < N ? nb : N;
}

static int use_dnnl(wk_dtype wdt) {
  return wdt == WK_BF16 && wkcpu__dnnl_bf16();
}

/* Per-thread bytes of the bf16 path: the largest oneDNN scratchpad among
 * the tile shapes and the two epilogues (write, add) this GEMM runs. */
static size_t bf16_tile_bytes(int64_t M, int64_t K, int64_t N) {
  int64_t mb = M < LIN_MB ? M : LIN_MB, nb = lin_nb_bf16(N);
  int64_t ms[2] = {mb, M % mb ? M % mb : mb},
          ns[2] = {nb, N % nb ? N % nb : nb};
  size_t scratch = 0;
  for (int a = 0; a < 2; a++)
    for (int b = 0; b < 2; b++)
      for (int acc = 0; acc < 2; acc++) {
        size_t s = wkcpu__dnnl_scratch_bytes(ms[a], K, ns[b], N, acc);
        scratch = s > scratch ? s : scratch;
      }
  return wkcpu__align(scratch);
}

size_t wkcpu_linear_workspace(wk_ctx *c, int64_t M, int64_t K, int64_t N,
                              wk_dtype wdt) {
  if (wdt == WK_F32 || M == 0 || N == 0 || K == 0) return 0;
  size_t t = (size_t)wkcpu__threads(c);
  if (use_dnnl(wdt))
    return wkcpu__align((size_t)(2 * M * K) * 2) +
           t * bf16_tile_bytes(M, K, N) + WKCPU_WS_SLACK;
  return t * wkcpu__align((size_t)(lin_nb(K, N) * K) * 4) + WKCPU_WS_SLACK;
}

static int blas_dims_ok(wk_ctx *c, const char *op, int64_t a, int64_t b,
                        int64_t d) {
  if (a > INT_MAX || b > INT_MAX || d > INT_MAX)
    return wk__fail(c, WK_EUNSUPPORTED,
                    "%s: a dimension exceeds the BLAS int range", op);
  return 0;
}

typedef struct lin_job {
  const float *x;
  int64_t M, K, N, nb, mb, tiles_n;
  wk_w W;
  float *y;
  char *scratch; /* per-thread slices of `slice` bytes */
  size_t slice;
  uint16_t *xs; /* bf16 path: [hi; lo] per block of mb rows */
  int lo;       /* 1: the lo half is used (f32 activations) */
  int bias;     /* 1: y holds the bias rows, the first product adds */
  int failed;
} lin_job;

/* f32 / decoded tiles: all M rows times one block of output columns. */
static void lin_blas_tiles(void *v, int64_t t0, int64_t t1, int tid) {
  lin_job *j = v;
  for (int64_t t = t0; t < t1; t++) {
    int64_t n0 = t * j->nb, n1 = n0 + j->nb < j->N ? n0 + j->nb : j->N;
    const float *w = (const float *)j->W.data + n0 * j->K;
    if (j->W.dtype != WK_F32) {
      float *wf = (float *)(j->scratch + (size_t)tid * j->slice);
      wkcpu__decode(wf, j->W, n0 * j->K, (n1 - n0) * j->K);
      w = wf;
    }
    wkcpu__sgemm(0, 1, j->M, n1 - n0, j->K, 1.0f, j->x, j->K, w, j->K, 1.0f,
                 j->y + n0, j->N);
  }
}

/* Splits x rows into bf16 hi and lo halves, block by block. */
static void lin_split(void *v, int64_t r0, int64_t r1, int tid) {
  lin_job *j = v;
  int64_t K = j->K;
  for (int64_t r = r0; r < r1; r++) {
    int64_t m0 = r / j->mb * j->mb;
    int64_t mr = j->M - m0 < j->mb ? j->M - m0 : j->mb;
    uint16_t *hi = j->xs + (2 * m0 + (r - m0)) * K, *lo = hi + mr * K;
    wkcpu__split_bf16(j->x + r * K, hi, j->lo ? lo : NULL, K);
  }
}

/* Tile t: rows block t / tiles_n, output columns block t % tiles_n,
 * written into y in place: hi.W (plus the bias rows), then + lo.W. */
static void lin_bf16_tiles(void *v, int64_t t0, int64_t t1, int tid) {
  lin_job *j = v;
  char *scratch = j->scratch + (size_t)tid * j->slice;
  for (int64_t t = t0; t < t1; t++) {
    int64_t m0 = t / j->tiles_n * j->mb, n0 = t % j->tiles_n * j->nb;
    int64_t mr = j->M - m0 < j->mb ? j->M - m0 : j->mb;
    int64_t nc = j->N - n0 < j->nb ? j->N - n0 : j->nb;
    const uint16_t *w = (const uint16_t *)j->W.data + n0 * j->K;
    const uint16_t *hi = j->xs + 2 * m0 * j->K, *lo = hi + mr * j->K;
    float *y = j->y + m0 * j->N + n0;
    if (wkcpu__dnnl_matmul_bf16(hi, mr, j->K, w, nc, y, j->N, j->bias, scratch,
                                j->slice) ||
        (j->lo && wkcpu__dnnl_matmul_bf16(lo, mr, j->K, w, nc, y, j->N, 1,
                                          scratch, j->slice)))
      j->failed = 1; /* each thread only ever sets it */
  }
}

int wkcpu_linear(wk_ctx *c, const float *x, int64_t M, int64_t K, wk_w W,
                 wk_w bias, int64_t N, float *y) {
  int rc = blas_dims_ok(c, "wk_linear", M, K, N);
  if (rc) return rc;
  int dnnl = use_dnnl(W.dtype) && K > 0;
  /* y starts as the bias rows (or zeros) and the GEMMs accumulate onto it;
   * without a bias the bf16 path's first product writes y itself. */
  if (bias.data) {
    wkcpu__decode(y, bias, 0, N);
    for (int64_t m = 1; m < M; m++)
      memcpy(y + m * N, y, (size_t)N * 4);
  } else if (!dnnl) {
    memset(y, 0, (size_t)(M * N) * 4);
  }
  if (K == 0) return 0;
  lin_job j = {x, M, K,    N, lin_nb(K, N), LIN_MB,       0,
               W, y, NULL, 0, NULL,         !c->bf16_act, bias.data != NULL,
               0};
  if (dnnl) {
    j.nb = lin_nb_bf16(N);
    j.mb = M < LIN_MB ? M : LIN_MB;
    j.tiles_n = (N + j.nb - 1) / j.nb;
    j.xs = wkcpu__ws(c);
    j.scratch = (char *)j.xs + wkcpu__align((size_t)(2 * M * K) * 2);
    j.slice = bf16_tile_bytes(M, K, N);
    wkcpu__parallel(c, M, 8, lin_split, &j);
    wkcpu__parallel(c, j.tiles_n * ((M + j.mb - 1) / j.mb), 1, lin_bf16_tiles,
                    &j);
    if (j.failed)
      return wk__fail(c, WK_EDEVICE, "wk_linear: oneDNN bf16 matmul failed");
    return 0;
  }
  j.scratch = wkcpu__ws(c);
  j.slice = wkcpu__align((size_t)(j.nb * K) * 4);
  wkcpu__parallel(c, (N + j.nb - 1) / j.nb, 1, lin_blas_tiles, &j);
  return 0;
}

/* ---- wk_gemm ------------------------------------------------------------- */

typedef struct gemm_job {
  int ta, tb;
  int64_t M, N, K, nb, tiles_n;
  float alpha, beta;
  const float *A, *B;
  float *C;
  int64_t lda, sA, ldb, sB, ldc, sC;
} gemm_job;

/* Tile t: batch t / tiles_n, output columns block t % tiles_n. */
static void gemm_tiles(void *v, int64_t t0, int64_t t1, int tid) {
  gemm_job *j = v;
  for (int64_t t = t0; t < t1; t++) {
    int64_t b = t / j->tiles_n, n0 = t % j->tiles_n * j->nb;
    int64_t nc = j->N - n0 < j->nb ? j->N - n0 : j->nb;
    float *Cb = j->C + b * j->sC + n0;
    if (j->K == 0) { /* C = beta * C, with beta == 0 clearing NaNs too */
      for (int64_t m = 0; m < j->M; m++)
        for (int64_t n = 0; n < nc; n++)
          Cb[m * j->ldc + n] =
              j->beta == 0.0f ? 0.0f : j->beta * Cb[m * j->ldc + n];
      continue;
    }
    const float *Bb = j->B + b * j->sB + (j->tb ? n0 * j->ldb : n0);
    wkcpu__sgemm(j->ta, j->tb, j->M, nc, j->K, j->alpha, j->A + b * j->sA,
                 j->lda, Bb, j->ldb, j->beta, Cb, j->ldc);
  }
}

int wkcpu_gemm(wk_ctx *c, int trans_a, int trans_b, int64_t M, int64_t N,
               int64_t K, float alpha, const float *A, int64_t lda, int64_t sA,
               const float *B, int64_t ldb, int64_t sB, float beta, float *C,
               int64_t ldc, int64_t sC, int64_t batch) {
  int rc = blas_dims_ok(c, "wk_gemm", M, N, K);
  if (!rc) rc = blas_dims_ok(c, "wk_gemm", lda, ldb, ldc);
  if (rc) return rc;
  gemm_job j = {trans_a, trans_b, M, N,   K,  lin_nb(K, N), 0,  alpha, beta,
                A,       B,       C, lda, sA, ldb,          sB, ldc,   sC};
  j.tiles_n = (N + j.nb - 1) / j.nb;
  wkcpu__parallel(c, batch * j.tiles_n, 1, gemm_tiles, &j);
  return 0;
}
