/* activation.cu — LeakyReLU, tanh, Snake/SnakeBeta, clamps and the STFT
 * magnitude, one thread per element (y may alias x where wk.h allows). */
#include "wkcu_internal.cuh"

enum { ACT_LEAKY, ACT_TANH };

__global__ void wkcu_act_k(int op, const float *x, int64_t n, float slope,
                           float *y) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    float v = x[i];
    y[i] = op == ACT_LEAKY ? (v >= 0.0f ? v : slope * v) : tanhf(v);
  }
}

__global__ void wkcu_snake_k(const float *x, int64_t C, int64_t L,
                             const float *alpha, const float *beta,
                             int logscale, float *y) {
  const int64_t n = C * L;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t c = i / L;
    float a = alpha[c], b = beta ? beta[c] : a;
    if (logscale) {
      a = expf(a);
      b = expf(b);
    }
    float inv = 1.0f / (b + 1e-9f);
    float s = sinf(x[i] * a);
    y[i] = x[i] + inv * (s * s);
  }
}

__global__ void wkcu_clamp_k(const float *x, int64_t n, float lo, float hi,
                             int take_log, float *y) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    float v = x[i];
    v = v < lo ? lo : v > hi ? hi : v;
    y[i] = take_log ? logf(v) : v;
  }
}

__global__ void wkcu_cabs_k(const float *x, int64_t n, float *y) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    float re = x[i], im = x[n + i];
    y[i] = sqrtf(re * re + im * im);
  }
}

extern "C" int wkcu_clamp(wk_ctx *c, const float *x, int64_t n, float lo,
                          float hi, int take_log, float *y) {
  static const char *W = "wk_clamp(cuda)";
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  wkcu_clamp_k<<<wkcu__blocks(n, 256), 256, 0, wkcu__st(c)->compute>>>(
      x, n, lo, hi, take_log, y);
  return wkcu__launched(c, W);
}

extern "C" int wkcu_complex_abs(wk_ctx *c, const float *x, int64_t N, int64_t T,
                                float *y) {
  static const char *W = "wk_complex_abs(cuda)";
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  wkcu_cabs_k<<<wkcu__blocks(N * T, 256), 256, 0, wkcu__st(c)->compute>>>(
      x, N * T, y);
  return wkcu__launched(c, W);
}

static int act(wk_ctx *c, const char *W, int op, const float *x, int64_t n,
               float slope, float *y) {
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  wkcu_act_k<<<wkcu__blocks(n, 256), 256, 0, wkcu__st(c)->compute>>>(op, x, n,
                                                                     slope, y);
  return wkcu__launched(c, W);
}

extern "C" int wkcu_leaky_relu(wk_ctx *c, const float *x, int64_t n,
                               float slope, float *y) {
  return act(c, "wk_leaky_relu(cuda)", ACT_LEAKY, x, n, slope, y);
}

extern "C" int wkcu_tanh(wk_ctx *c, const float *x, int64_t n, float *y) {
  return act(c, "wk_tanh(cuda)", ACT_TANH, x, n, 0.0f, y);
}

extern "C" int wkcu_snake(wk_ctx *c, const float *x, int64_t C, int64_t L,
                          wk_w alpha, wk_w beta, int logscale, float *y) {
  static const char *W = "wk_snake(cuda)";
  int rc = wkcu__enter(c, W);
  if (rc) return rc;
  wkcu_snake_k<<<wkcu__blocks(C * L, 256), 256, 0, wkcu__st(c)->compute>>>(
      x, C, L, (const float *)alpha.data, (const float *)beta.data, logscale,
      y);
  return wkcu__launched(c, W);
}
