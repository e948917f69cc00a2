/*
 * norm.cu — RMSNorm, LayerNorm and row softmax. One block per row; each
 * thread strides over the row, then a fixed-order block reduction
 * (wkcu_block_sum / wkcu_block_max), so results are the same bytes run
 * after run. Every output element is written by the thread that read it,
 * so y may alias x.
 */
#include "wkcu_internal.cuh"

#define WKCU_NORM_THREADS 256

/* Row index from a grid of (x, y) blocks: rows may exceed 65535 * 65535
 * only in theory, the launcher refuses that. */
__device__ __forceinline__ int64_t wkcu_row_id(void) {
  return (int64_t)blockIdx.y * gridDim.x + blockIdx.x;
}

__global__ void wkcu_rmsnorm_k(const float *x, const void *w, int wdt,
                               float wscale, int64_t rows, int64_t dim,
                               float eps, int plus_one, float *y) {
  __shared__ float red[32];
  int64_t r = wkcu_row_id();
  if (r >= rows) return;
  const float *xr = x + r * dim;
  float *yr = y + r * dim;
  float acc = 0.0f;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x)
    acc += xr[i] * xr[i];
  float ss = wkcu_block_sum(acc, red);
  float inv = 1.0f / sqrtf(ss / (float)dim + eps);
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
    float v = xr[i] * inv;
    if (w) {
      float wv = wkcu_w_at(w, (wk_dtype)wdt, wscale, i);
      v *= plus_one ? 1.0f + wv : wv;
    }
    yr[i] = v;
  }
}

__global__ void wkcu_layernorm_k(const float *x, const void *w, int wdt,
                                 float wscale, const void *b, int bdt,
                                 float bscale, int64_t rows, int64_t dim,
                                 float eps, float *y) {
  __shared__ float red[32];
  int64_t r = wkcu_row_id();
  if (r >= rows) return;
  const float *xr = x + r * dim;
  float *yr = y + r * dim;
  float acc = 0.0f;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x)
    acc += xr[i];
  float mean = wkcu_block_sum(acc, red) / (float)dim;
  acc = 0.0f;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
    float d = xr[i] - mean;
    acc += d * d;
  }
  float var = wkcu_block_sum(acc, red) / (float)dim;
  float inv = 1.0f / sqrtf(var + eps);
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
    float v = (xr[i] - mean) * inv;
    if (w) v *= wkcu_w_at(w, (wk_dtype)wdt, wscale, i);
    if (b) v += wkcu_w_at(b, (wk_dtype)bdt, bscale, i);
    yr[i] = v;
  }
}

/* A row whose entries are all -inf has no distribution: it outputs zeros
 * (as a fully masked attention row does) instead of NaNs. */
__global__ void wkcu_softmax_k(const float *x, int64_t rows, int64_t cols,
                               float *y) {
  __shared__ float red[32];
  int64_t r = wkcu_row_id();
  if (r >= rows) return;
  const float *xr = x + r * cols;
  float *yr = y + r * cols;
  float m = -INFINITY;
  for (int64_t i = threadIdx.x; i < cols; i += blockDim.x)
    m = fmaxf(m, xr[i]);
  m = wkcu_block_max(m, red);
  if (m == -INFINITY) {
    for (int64_t i = threadIdx.x; i < cols; i += blockDim.x)
      yr[i] = 0.0f;
    return;
  }
  float acc = 0.0f;
  for (int64_t i = threadIdx.x; i < cols; i += blockDim.x)
    acc += expf(xr[i] - m);
  float inv = 1.0f / wkcu_block_sum(acc, red);
  for (int64_t i = threadIdx.x; i < cols; i += blockDim.x)
    yr[i] = expf(xr[i] - m) * inv;
}

/* Grid covering `rows` blocks as (x, y) with x <= 65535. */
static int wkcu__row_grid(wk_ctx *c, const char *W, int64_t rows, dim3 *g) {
  int64_t gx = rows < 65535 ? rows : 65535;
  int64_t gy = (rows + gx - 1) / gx;
  if (gy > 65535)
    return wk__fail(c, WK_EUNSUPPORTED, "%s: %lld rows is too many", W,
                    (long long)rows);
  *g = dim3((unsigned)gx, (unsigned)gy, 1);
  return WK_OK;
}

extern "C" int wkcu_rmsnorm(wk_ctx *c, const float *x, wk_w w, int64_t rows,
                            int64_t dim, float eps, int plus_one, float *y) {
  static const char *W = "wk_rmsnorm(cuda)";
  if (rows == 0 || dim == 0) return WK_OK;
  dim3 g;
  int rc = wkcu__row_grid(c, W, rows, &g);
  if (!rc) rc = wkcu__enter(c, W);
  if (rc) return rc;
  wkcu_rmsnorm_k<<<g, WKCU_NORM_THREADS, 0, wkcu__st(c)->compute>>>(
      x, w.data, w.dtype, w.scale, rows, dim, eps, plus_one, y);
  return wkcu__launched(c, W);
}

extern "C" int wkcu_layernorm(wk_ctx *c, const float *x, wk_w w, wk_w b,
                              int64_t rows, int64_t dim, float eps, float *y) {
  static const char *W = "wk_layernorm(cuda)";
  if (rows == 0 || dim == 0) return WK_OK;
  dim3 g;
  int rc = wkcu__row_grid(c, W, rows, &g);
  if (!rc) rc = wkcu__enter(c, W);
  if (rc) return rc;
  wkcu_layernorm_k<<<g, WKCU_NORM_THREADS, 0, wkcu__st(c)->compute>>>(
      x, w.data, w.dtype, w.scale, b.data, b.dtype, b.scale, rows, dim, eps, y);
  return wkcu__launched(c, W);
}

extern "C" int wkcu_softmax(wk_ctx *c, const float *x, int64_t rows,
                            int64_t cols, float *y) {
  static const char *W = "wk_softmax(cuda)";
  if (rows == 0 || cols == 0) return WK_OK;
  dim3 g;
  int rc = wkcu__row_grid(c, W, rows, &g);
  if (!rc) rc = wkcu__enter(c, W);
  if (rc) return rc;
  wkcu_softmax_k<<<g, WKCU_NORM_THREADS, 0, wkcu__st(c)->compute>>>(x, rows,
                                                                    cols, y);
  return wkcu__launched(c, W);
}
