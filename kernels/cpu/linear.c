/*
 * linear.c — dtype conversion, wk_linear and wk_gemm on the cpu. GEMMs go to
 * OpenBLAS (cblas_sgemm, with OpenBLAS's own threading); bf16/fp8 weights are
 * decoded to f32 into the workspace a block of output columns at a time, so
 * the workspace stays bounded whatever N is. The block size depends only on
 * the shape, so the same shape always runs the same sequence of GEMMs.
 */
#include <cblas.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>

#include "cpu.h"

/* f32 elements of decoded weight per block (16 MiB). */
#define WKCPU_LINEAR_BLOCK_ELEMS ((int64_t)4 << 20)

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

static int64_t linear_block_rows(int64_t K, int64_t N) {
  int64_t nb = K > 0 ? WKCPU_LINEAR_BLOCK_ELEMS / K : N;
  if (nb < 64) nb = 64;
  nb = (nb + 15) / 16 * 16;
  return nb < N ? nb : N;
}

size_t wkcpu_linear_workspace(wk_ctx *c, int64_t M, int64_t K, int64_t N,
                              wk_dtype wdt) {
  if (wdt == WK_F32 || M == 0 || N == 0 || K == 0) return 0;
  return (size_t)(linear_block_rows(K, N) * K) * 4 + WKCPU_WS_SLACK;
}

static int blas_dims_ok(wk_ctx *c, const char *op, int64_t a, int64_t b,
                        int64_t d) {
  if (a > INT_MAX || b > INT_MAX || d > INT_MAX)
    return wk__fail(c, WK_EUNSUPPORTED,
                    "%s: a dimension exceeds the BLAS int range", op);
  return 0;
}

int wkcpu_linear(wk_ctx *c, const float *x, int64_t M, int64_t K, wk_w W,
                 wk_w bias, int64_t N, float *y) {
  int rc = blas_dims_ok(c, "wk_linear", M, K, N);
  if (rc) return rc;
  /* y starts as the bias rows (or zeros) and the GEMMs accumulate onto it. */
  if (bias.data) {
    wkcpu__decode(y, bias, 0, N);
    for (int64_t m = 1; m < M; m++)
      memcpy(y + m * N, y, (size_t)N * 4);
  } else {
    memset(y, 0, (size_t)(M * N) * 4);
  }
  if (K == 0) return 0;
  if (W.dtype == WK_F32) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)N, (int)K,
                1.0f, x, (int)K, (const float *)W.data, (int)K, 1.0f, y,
                (int)N);
    return 0;
  }
  int64_t nb = linear_block_rows(K, N);
  float *wf = wkcpu__ws(c);
  for (int64_t n0 = 0; n0 < N; n0 += nb) {
    int64_t n1 = n0 + nb < N ? n0 + nb : N;
    wkcpu__decode_rows(c, wf, W, K, n0, n1);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)(n1 - n0),
                (int)K, 1.0f, x, (int)K, wf, (int)K, 1.0f, y + n0, (int)N);
  }
  return 0;
}

/* ---- wk_gemm ------------------------------------------------------------- */

int wkcpu_gemm(wk_ctx *c, int trans_a, int trans_b, int64_t M, int64_t N,
               int64_t K, float alpha, const float *A, int64_t lda, int64_t sA,
               const float *B, int64_t ldb, int64_t sB, float beta, float *C,
               int64_t ldc, int64_t sC, int64_t batch) {
  int rc = blas_dims_ok(c, "wk_gemm", M, N, K);
  if (!rc) rc = blas_dims_ok(c, "wk_gemm", lda, ldb, ldc);
  if (rc) return rc;
  for (int64_t b = 0; b < batch; b++) {
    float *Cb = C + b * sC;
    if (K == 0) { /* C = beta * C, with beta == 0 clearing NaNs too */
      for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++)
          Cb[m * ldc + n] = beta == 0.0f ? 0.0f : beta * Cb[m * ldc + n];
      continue;
    }
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K,
                alpha, A + b * sA, (int)lda, B + b * sB, (int)ldb, beta, Cb,
                (int)ldc);
  }
  return 0;
}
