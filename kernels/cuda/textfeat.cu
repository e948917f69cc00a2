/*
 * textfeat.cu — the CUDA twins of cpu/textfeat.c: the V1 feature
 * normalisation (one block reduces the valid rows in double, then a grid
 * maps every element) and the per-head attention gate.
 */
#include "wkcu_internal.cuh"

#define WKCU_FOR(i, n)                                                         \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n);    \
       i += (int64_t)gridDim.x * blockDim.x)

#define RN_THREADS 1024

/* stats[0] = mean, stats[1] = range + eps. The sum's order is fixed by the
 * thread layout, so reruns give the same bits. */
__global__ void wkcu_range_stats_k(const float *x, int64_t rows, int64_t cols,
                                   int64_t row0, float eps, float *stats) {
  __shared__ double ssum[RN_THREADS];
  __shared__ float slo[RN_THREADS], shi[RN_THREADS];
  int t = threadIdx.x;
  double s = 0.0;
  float lo = INFINITY, hi = -INFINITY;
  int64_t n = (rows - row0) * cols;
  const float *p = x + row0 * cols;
  for (int64_t i = t; i < n; i += RN_THREADS) {
    float v = p[i];
    s += v;
    lo = fminf(lo, v);
    hi = fmaxf(hi, v);
  }
  ssum[t] = s;
  slo[t] = lo;
  shi[t] = hi;
  __syncthreads();
  for (int w = RN_THREADS / 2; w > 0; w >>= 1) {
    if (t < w) {
      ssum[t] += ssum[t + w];
      slo[t] = fminf(slo[t], slo[t + w]);
      shi[t] = fmaxf(shi[t], shi[t + w]);
    }
    __syncthreads();
  }
  if (t == 0) {
    float cnt = (float)n;
    stats[0] = (float)ssum[0] / (cnt + eps);
    stats[1] = (shi[0] - slo[0]) + eps;
  }
}

__global__ void wkcu_range_map_k(const float *x, int64_t rows, int64_t cols,
                                 int64_t row0, const float *stats, float *y) {
  float mean = stats[0], denom = stats[1];
  WKCU_FOR(i, rows * cols) {
    y[i] = i / cols < row0 ? 0.0f : 8.0f * (x[i] - mean) / denom;
  }
}

/* Two floats of statistics live in the staging area the context keeps for
 * small transfers. */
extern "C" int wkcu_range_norm(wk_ctx *c, const float *x, int64_t rows,
                               int64_t cols, int64_t row0, float eps,
                               float *y) {
  const char *W = "wk_range_norm(cuda)";
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  rc = wkcu__stage(c, 2 * sizeof(float), W);
  if (rc) return rc;
  wkcu_state *st = wkcu__st(c);
  float *stats = (float *)st->stage_dev;
  wkcu_range_stats_k<<<1, RN_THREADS, 0, st->compute>>>(x, rows, cols, row0,
                                                        eps, stats);
  wkcu_range_map_k<<<wkcu__blocks(rows * cols, 256), 256, 0, st->compute>>>(
      x, rows, cols, row0, stats, y);
  rc = wkcu__launched(c, W);
  int rc2 = wkcu__stage_release(c, W);
  return rc ? rc : rc2;
}

__global__ void wkcu_head_gate_k(const float *x, const float *g, int64_t rows,
                                 int64_t H, int64_t D, float *y) {
  WKCU_FOR(i, rows * H * D) {
    int64_t rh = i / D;
    float gv = 2.0f * (1.0f / (1.0f + expf(-g[rh])));
    y[i] = x[i] * gv;
  }
}

extern "C" int wkcu_head_gate(wk_ctx *c, const float *x, const float *g,
                              int64_t rows, int64_t H, int64_t D, float *y) {
  const char *W = "wk_head_gate(cuda)";
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  wkcu_head_gate_k<<<wkcu__blocks(rows * H * D, 256), 256, 0,
                     wkcu__st(c)->compute>>>(x, g, rows, H, D, y);
  return wkcu__launched(c, W);
}
